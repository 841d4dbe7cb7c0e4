"""FeedbackService over gRPC: protobuf <-> domain; errors are mapped by the chassis.

Writes that touch other services or several documents (posting a review and opening its case,
resolving with a compensation) run under chassis.completion.finish: a deadline or a client
hanging up stops the waiting, not the writes.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import grpc
from regulars.feedback.v1 import feedback_pb2, feedback_pb2_grpc

from chassis.completion import finish
from services.feedback.entrypoints import pb_mapping as pb
from services.feedback.entrypoints.report_commands import ReportCommands
from services.feedback.entrypoints.survey_commands import SurveyCommands
from services.feedback.pb_shapes import case_pb, review_pb
from services.feedback.service.cases import Cases, to_millisecond, utc_now
from services.feedback.service.clock import CaseClock
from services.feedback.service.evidence import Evidence
from services.feedback.service.opening import CaseOpening
from services.feedback.service.policy import Policies
from services.feedback.service.reports import Reports
from services.feedback.service.resolving import Resolutions
from services.feedback.service.reviews import Reviews

Context = grpc.aio.ServicerContext[Any, Any]


class FeedbackServicer(SurveyCommands, ReportCommands, feedback_pb2_grpc.FeedbackServiceServicer):
    def __init__(
        self,
        *,
        reviews: Reviews,
        opening: CaseOpening,
        cases: Cases,
        resolutions: Resolutions,
        policies: Policies,
        clock: CaseClock,
        reports: Reports,
        evidence: Evidence,
    ) -> None:
        self._reports = reports
        self._evidence = evidence
        self._reviews = reviews
        self._opening = opening
        self._cases = cases
        self._resolutions = resolutions
        self._policies = policies
        self._clock = clock

    # Reviews

    async def PostReview(
        self, request: feedback_pb2.PostReviewRequest, context: Context
    ) -> feedback_pb2.PostReviewResponse:
        review, created = await finish(
            self._reviews.post(
                tenant_id=request.tenant_id,
                member_id=request.member_id,
                store_id=request.store_id,
                receipt_no=request.receipt_no,
                sku=request.sku,
                rating=request.rating,
                text=request.text,
                image_urls=list(request.image_urls),
                channel=request.channel,
                request_id=request.request_id,
                delivery_city=request.delivery_city,
            )
        )
        return feedback_pb2.PostReviewResponse(review=review_pb(review), created=created)

    async def GetReview(
        self, request: feedback_pb2.GetReviewRequest, context: Context
    ) -> feedback_pb2.Review:
        return review_pb(await self._reviews.get(request.tenant_id, request.review_id))

    async def ListReviews(
        self, request: feedback_pb2.ListReviewsRequest, context: Context
    ) -> feedback_pb2.ListReviewsResponse:
        found = await self._reviews.list_reviews(
            request.tenant_id,
            request.store_id,
            request.member_id,
            pb.rating_class(request.rating_class),
            request.limit,
        )
        return feedback_pb2.ListReviewsResponse(reviews=[review_pb(r) for r in found])

    async def ReplyToReview(
        self, request: feedback_pb2.ReplyToReviewRequest, context: Context
    ) -> feedback_pb2.Review:
        return review_pb(
            await self._reviews.reply(request.tenant_id, request.review_id, request.text, request.by)
        )

    async def AmendReview(
        self, request: feedback_pb2.AmendReviewRequest, context: Context
    ) -> feedback_pb2.Review:
        amended = await self._reviews.amend(
            request.tenant_id,
            request.review_id,
            request.member_id,
            request.rating,
            request.text,
            list(request.image_urls),
        )
        return review_pb(amended)

    # Cases

    async def OpenCase(self, request: feedback_pb2.OpenCaseRequest, context: Context) -> feedback_pb2.Case:
        case, _ = await finish(
            self._opening.open(
                tenant_id=request.tenant_id,
                member_id=request.member_id,
                store_id=request.store_id,
                category=request.category,
                severity=request.severity,
                description=request.description,
                opened_by_kind=request.opened_by_kind,
                opened_by=request.opened_by,
                request_id=request.request_id,
                receipt_no=request.receipt_no,
                delivery_city=request.delivery_city,
            )
        )
        return case_pb(case)

    async def GetCase(self, request: feedback_pb2.GetCaseRequest, context: Context) -> feedback_pb2.Case:
        return case_pb(await self._cases.get(request.tenant_id, request.case_id))

    async def ListCases(
        self, request: feedback_pb2.ListCasesRequest, context: Context
    ) -> feedback_pb2.ListCasesResponse:
        found = await self._cases.list_cases(
            request.tenant_id, request.state, request.store_id, request.member_id, request.limit
        )
        return feedback_pb2.ListCasesResponse(cases=[case_pb(c) for c in found])

    async def AcknowledgeCase(
        self, request: feedback_pb2.CaseActionRequest, context: Context
    ) -> feedback_pb2.Case:
        return case_pb(
            await self._cases.acknowledge(request.tenant_id, request.case_id, request.by, request.note)
        )

    async def StartCase(self, request: feedback_pb2.CaseActionRequest, context: Context) -> feedback_pb2.Case:
        started = await self._cases.start(
            request.tenant_id,
            request.case_id,
            request.by,
            request.note,
            request.assign_store_id,
            request.assign_staff_id,
        )
        return case_pb(started)

    async def ResolveCase(
        self, request: feedback_pb2.ResolveCaseRequest, context: Context
    ) -> feedback_pb2.Case:
        remedy = pb.remedy(request.remedy)
        return case_pb(
            await finish(self._resolutions.resolve(request.tenant_id, request.case_id, request.by, remedy))
        )

    async def DecideRisk(
        self, request: feedback_pb2.DecideRiskRequest, context: Context
    ) -> feedback_pb2.Case:
        decided = await finish(
            self._resolutions.decide_risk(
                request.tenant_id,
                request.case_id,
                request.by,
                request.decision,
                request.note,
                request.blacklist,
            )
        )
        return case_pb(decided)

    async def CloseCase(self, request: feedback_pb2.CloseCaseRequest, context: Context) -> feedback_pb2.Case:
        closed = await self._cases.close(
            request.tenant_id, request.case_id, request.by, request.satisfaction, request.note
        )
        return case_pb(closed)

    async def RejectCase(
        self, request: feedback_pb2.CaseActionRequest, context: Context
    ) -> feedback_pb2.Case:
        return case_pb(await self._cases.reject(request.tenant_id, request.case_id, request.by, request.note))

    async def ExportEvidence(
        self, request: feedback_pb2.ExportEvidenceRequest, context: Context
    ) -> feedback_pb2.EvidencePack:
        return pb.evidence_pb(await self._evidence.export(request.tenant_id, request.member_id))

    # Policy and the case clock

    async def GetFeedbackPolicy(
        self, request: feedback_pb2.GetFeedbackPolicyRequest, context: Context
    ) -> feedback_pb2.FeedbackPolicy:
        return pb.policy_pb(await self._policies.get(request.tenant_id))

    async def UpdateFeedbackPolicy(
        self, request: feedback_pb2.UpdateFeedbackPolicyRequest, context: Context
    ) -> feedback_pb2.FeedbackPolicy:
        policy = request.policy
        updated = await self._policies.update(
            policy.tenant_id, pb.policy_settings(policy), policy.version, changed_by=""
        )
        return pb.policy_pb(updated)

    async def RunCaseClock(
        self, request: feedback_pb2.RunCaseClockRequest, context: Context
    ) -> feedback_pb2.CaseClockSummary:
        at = to_millisecond(request.at.ToDatetime(tzinfo=UTC)) if request.HasField("at") else utc_now()
        summary = await finish(self._clock.run(at))
        return pb.clock_summary_pb(summary)
