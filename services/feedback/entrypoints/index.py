"""Everything the feedback service does: each gRPC command and each event it consumes, and the
function that handles it. bootstrap.py wires the gRPC server and the consumer from this table;
a command missing here, or one the proto does not declare, stops the service at start-up.
"""

from __future__ import annotations

from regulars.feedback.v1 import feedback_pb2

from chassis.handlers import Handlers
from services.feedback.entrypoints import consumer
from services.feedback.entrypoints.grpc_servicer import FeedbackServicer
from services.feedback.service.opening import CaseOpening
from services.feedback.service.reports import Reports
from services.feedback.service.reviews import Reviews

SERVICE = feedback_pb2.DESCRIPTOR.services_by_name["FeedbackService"]


def handlers(s: FeedbackServicer, reviews: Reviews, opening: CaseOpening, reports: Reports) -> Handlers:
    return Handlers(
        service=SERVICE,
        commands={
            # Reviews
            "PostReview": s.PostReview,
            "GetReview": s.GetReview,
            "ListReviews": s.ListReviews,
            "ReplyToReview": s.ReplyToReview,
            "AmendReview": s.AmendReview,
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
        # Its own review_posted: the case a bad review opens, if a crash stopped the post.
        # Members' purchase_made: the purchases the reports count.
        events=consumer.subscriptions(reviews, opening, reports),
    )
