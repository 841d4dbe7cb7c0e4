"""Everything the feedback service does: each gRPC command and each event it consumes, and the
function that handles it. bootstrap.py wires the gRPC server and the consumer from this table;
a command missing here, or one the proto does not declare, stops the service at start-up.
"""

from __future__ import annotations

from regulars.feedback.v1 import feedback_pb2

from chassis.handlers import Handlers
from services.feedback.entrypoints import consumer
from services.feedback.entrypoints.grpc_servicer import FeedbackServicer
from services.feedback.service.erasure import Erasure
from services.feedback.service.opening import CaseOpening
from services.feedback.service.reports import Reports
from services.feedback.service.reviews import Reviews
from services.feedback.service.surveys import Surveys

SERVICE = feedback_pb2.DESCRIPTOR.services_by_name["FeedbackService"]


def handlers(
    s: FeedbackServicer,
    reviews: Reviews,
    opening: CaseOpening,
    surveys: Surveys,
    reports: Reports,
    erasure: Erasure,
) -> Handlers:
    return Handlers(
        service=SERVICE,
        commands={
            # Reviews
            "PostReview": s.PostReview,
            "GetReview": s.GetReview,
            "ListReviews": s.ListReviews,
            "ReplyToReview": s.ReplyToReview,
            "AmendReview": s.AmendReview,
            # Satisfaction surveys; questions and suggestions (survey_commands.py)
            "GetSurvey": s.GetSurvey,
            "ListSurveys": s.ListSurveys,
            "AnswerSurvey": s.AnswerSurvey,
            "OpenThread": s.OpenThread,
            "GetThread": s.GetThread,
            "ListThreads": s.ListThreads,
            "PostThreadMessage": s.PostThreadMessage,
            "AssignThread": s.AssignThread,
            "AdoptSuggestion": s.AdoptSuggestion,
            "CloseThread": s.CloseThread,
            # Complaint cases: the five steps, risk, evidence
            "OpenCase": s.OpenCase,
            "GetCase": s.GetCase,
            "ListCases": s.ListCases,
            "AcknowledgeCase": s.AcknowledgeCase,
            "StartCase": s.StartCase,
            "ResolveCase": s.ResolveCase,
            "DecideRisk": s.DecideRisk,
            "CloseCase": s.CloseCase,
            "RejectCase": s.RejectCase,
            "ExportEvidence": s.ExportEvidence,
            # The tenant's policy, and the clock of SLAs and follow-ups
            "GetFeedbackPolicy": s.GetFeedbackPolicy,
            "UpdateFeedbackPolicy": s.UpdateFeedbackPolicy,
            "RunCaseClock": s.RunCaseClock,
            # Reports (report_commands.py)
            "GetFeedbackReport": s.GetFeedbackReport,
            "GetReviewDistribution": s.GetReviewDistribution,
        },
        # Its own review_posted: the case a bad review opens, if a crash stopped the post;
        # members' purchase_made: the purchase's survey, and the purchases the reports count;
        # its own survey_answered: what an answer entails (case, points), if a crash stopped it;
        # members' member_erased: the member's words and images scrubbed, the figures kept.
        events=consumer.subscriptions(reviews, opening, surveys, reports, erasure),
    )
