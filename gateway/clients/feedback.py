"""The feedback service as the gateway uses it: reviews, complaint cases, the evidence pack and
the tenant's feedback policy. Each method is one RPC: the request built from a schema, the reply
mapped back. Who acts (`by`) is the route's to say: the calling key, staff or member, never the body.

RunCaseClock has no method: it is the service's own clock over every tenant, not a tenant's call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
from regulars.feedback.v1 import feedback_pb2 as pb
from regulars.feedback.v1 import feedback_pb2_grpc

from gateway.clients.calls import Calls, ServiceClient
from gateway.clients.feedback_mapping import (
    RATING_CLASSES,
    case_out,
    evidence_out,
    policy_out,
    policy_pb,
    remedy_pb,
    review_out,
)
from gateway.schemas.feedback import (
    AmendReviewBody,
    CaseOut,
    CaseStateName,
    CloseCaseBody,
    EvidenceOut,
    FeedbackPolicyBody,
    FeedbackPolicyOut,
    OpenCaseBody,
    PostReviewBody,
    RatingClassName,
    RemedyBody,
    ReviewOut,
    RiskDecisionBody,
    StartCaseBody,
)

# Posting a review and opening a case ask members about the reviewer; resolving issues a coupon
# and charges a budget; a risk decision may blacklist; an evidence pack reads a whole history.
SLOW = 3

if TYPE_CHECKING:
    Stub = feedback_pb2_grpc.FeedbackServiceAsyncStub
else:  # the async stub class is in the type stubs only
    Stub = feedback_pb2_grpc.FeedbackServiceStub


class FeedbackClient(ServiceClient[Stub]):
    @classmethod
    def over(cls, channel: grpc.aio.Channel, calls: Calls) -> FeedbackClient:
        """The client on the gateway's channel to feedback (`ServiceClients.channels["feedback"]`)."""
        return cls(feedback_pb2_grpc.FeedbackServiceStub(channel), calls)

    def _slow(self) -> float:
        return self._call.timeout * SLOW

    # --- Reviews -------------------------------------------------------------------------------

    async def post_review(
        self, tenant_id: str, member_id: str, body: PostReviewBody, channel: str
    ) -> tuple[ReviewOut, bool]:
        """The review, and whether this posted it (False: a retry with the same request_id)."""
        req = pb.PostReviewRequest(
            tenant_id=tenant_id,
            member_id=member_id,
            store_id=body.store_id,
            receipt_no=body.receipt_no,
            sku=body.sku,
            rating=body.rating,
            text=body.text,
            image_urls=body.image_urls,
            channel=channel,
            request_id=body.request_id,
            delivery_city=body.delivery_city,
        )
        reply = await self._call(self._stub.PostReview, req, deadline_seconds=self._slow())
        return review_out(reply.review), reply.created

    async def get_review(self, tenant_id: str, review_id: str) -> ReviewOut:
        req = pb.GetReviewRequest(tenant_id=tenant_id, review_id=review_id)
        return review_out(await self._call(self._stub.GetReview, req))

    async def list_reviews(
        self,
        tenant_id: str,
        *,
        store_id: str,
        member_id: str,
        rating_class: RatingClassName | None,
        limit: int,
    ) -> list[ReviewOut]:
        req = pb.ListReviewsRequest(
            tenant_id=tenant_id,
            store_id=store_id,
            member_id=member_id,
            rating_class=RATING_CLASSES[rating_class] if rating_class else pb.RATING_CLASS_UNSPECIFIED,
            limit=limit,
        )
        reply = await self._call(self._stub.ListReviews, req)
        return [review_out(r) for r in reply.reviews]

    async def reply_to_review(self, tenant_id: str, review_id: str, text: str, by: str) -> ReviewOut:
        req = pb.ReplyToReviewRequest(tenant_id=tenant_id, review_id=review_id, text=text, by=by)
        return review_out(await self._call(self._stub.ReplyToReview, req))

    async def amend_review(
        self, tenant_id: str, review_id: str, member_id: str, body: AmendReviewBody
    ) -> ReviewOut:
        req = pb.AmendReviewRequest(
            tenant_id=tenant_id,
            review_id=review_id,
            member_id=member_id,
            rating=body.rating,
            text=body.text,
            image_urls=body.image_urls,
        )
        return review_out(await self._call(self._stub.AmendReview, req))

    # --- Cases ---------------------------------------------------------------------------------

    async def open_case(
        self, tenant_id: str, member_id: str, body: OpenCaseBody, opened_by_kind: str, opened_by: str
    ) -> CaseOut:
        req = pb.OpenCaseRequest(
            tenant_id=tenant_id,
            member_id=member_id,
            store_id=body.store_id,
            category=body.category,
            severity=body.severity or "",
            description=body.description,
            opened_by_kind=opened_by_kind,
            opened_by=opened_by,
            request_id=body.request_id,
            receipt_no=body.receipt_no,
            delivery_city=body.delivery_city,
        )
        return case_out(await self._call(self._stub.OpenCase, req, deadline_seconds=self._slow()))

    async def get_case(self, tenant_id: str, case_id: str) -> CaseOut:
        req = pb.GetCaseRequest(tenant_id=tenant_id, case_id=case_id)
        return case_out(await self._call(self._stub.GetCase, req))

    async def list_cases(
        self, tenant_id: str, *, state: CaseStateName | None, store_id: str, member_id: str, limit: int
    ) -> list[CaseOut]:
        req = pb.ListCasesRequest(
            tenant_id=tenant_id, state=state or "", store_id=store_id, member_id=member_id, limit=limit
        )
        reply = await self._call(self._stub.ListCases, req)
        return [case_out(c) for c in reply.cases]

    async def acknowledge(self, tenant_id: str, case_id: str, by: str, note: str) -> CaseOut:
        req = pb.CaseActionRequest(tenant_id=tenant_id, case_id=case_id, by=by, note=note)
        return case_out(await self._call(self._stub.AcknowledgeCase, req))

    async def start(self, tenant_id: str, case_id: str, by: str, body: StartCaseBody) -> CaseOut:
        req = pb.CaseActionRequest(
            tenant_id=tenant_id,
            case_id=case_id,
            by=by,
            note=body.note,
            assign_store_id=body.assign_store_id,
            assign_staff_id=body.assign_staff_id,
        )
        return case_out(await self._call(self._stub.StartCase, req))

    async def resolve(self, tenant_id: str, case_id: str, by: str, remedy: RemedyBody) -> CaseOut:
        """Resolved with the remedy; a coupon or points handed over once however often retried."""
        req = pb.ResolveCaseRequest(tenant_id=tenant_id, case_id=case_id, by=by, remedy=remedy_pb(remedy))
        return case_out(await self._call(self._stub.ResolveCase, req, deadline_seconds=self._slow()))

    async def decide_risk(self, tenant_id: str, case_id: str, by: str, body: RiskDecisionBody) -> CaseOut:
        req = pb.DecideRiskRequest(
            tenant_id=tenant_id,
            case_id=case_id,
            by=by,
            decision=body.decision,
            note=body.note,
            blacklist=body.blacklist,
        )
        return case_out(await self._call(self._stub.DecideRisk, req, deadline_seconds=self._slow()))

    async def close(self, tenant_id: str, case_id: str, by: str, body: CloseCaseBody) -> CaseOut:
        req = pb.CloseCaseRequest(
            tenant_id=tenant_id, case_id=case_id, by=by, satisfaction=body.satisfaction, note=body.note
        )
        return case_out(await self._call(self._stub.CloseCase, req))

    async def reject(self, tenant_id: str, case_id: str, by: str, note: str) -> CaseOut:
        req = pb.CaseActionRequest(tenant_id=tenant_id, case_id=case_id, by=by, note=note)
        return case_out(await self._call(self._stub.RejectCase, req))

    async def export_evidence(self, tenant_id: str, member_id: str) -> EvidenceOut:
        req = pb.ExportEvidenceRequest(tenant_id=tenant_id, member_id=member_id)
        return evidence_out(await self._call(self._stub.ExportEvidence, req, deadline_seconds=self._slow()))

    # --- The feedback policy -------------------------------------------------------------------

    async def get_policy(self, tenant_id: str) -> FeedbackPolicyOut:
        req = pb.GetFeedbackPolicyRequest(tenant_id=tenant_id)
        return policy_out(await self._call(self._stub.GetFeedbackPolicy, req))

    async def update_policy(self, tenant_id: str, body: FeedbackPolicyBody) -> FeedbackPolicyOut:
        """The whole policy, on top of `body.version` (another change since: 409)."""
        req = pb.UpdateFeedbackPolicyRequest(policy=policy_pb(tenant_id, body))
        return policy_out(await self._call(self._stub.UpdateFeedbackPolicy, req))
