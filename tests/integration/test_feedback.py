"""Feedback against real FerretDB and Kafka, with members and coupons beside it: a bad review
opens exactly one case however often review_posted is delivered; a resolve retried at once
issues one compensation coupon and charges the store's budget once; an SLA breach is reported
once; a risky reviewer's case waits for a manager; illegal moves are refused naming the state."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from regulars.coupons.v1 import coupons_pb2, coupons_pb2_grpc
from regulars.feedback.v1 import events_pb2, feedback_pb2, feedback_pb2_grpc
from regulars.members.v1 import members_pb2, members_pb2_grpc
from ulid import ULID

from chassis.cloudevents import Envelope
from chassis.kafka import EventPublisher
from devstack.processes import Stack
from tests.integration.coupon_support import active_template
from tests.kafka_tools import header, read_all
from tests.support import bad_field, eventually

FEEDBACK_TOPIC = "regulars.feedback.v1"


def stamp(at: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(at)
    return out


async def feedback_events(stack: Stack, tenant: str, ce_type: str, at_least: int) -> list[Any]:
    topic = f"{stack.namespace}{FEEDBACK_TOPIC}"

    def probe() -> list[Any] | None:
        records = asyncio.run(read_all(stack.kafka_bootstrap_servers, topic, settle_seconds=1.5))
        mine = [r for r in records if header(r, "ce_type") == ce_type and header(r, "ce_tenantid") == tenant]
        return mine if len(mine) >= at_least else None

    return await asyncio.to_thread(eventually, probe)


class Apis:
    def __init__(self, stack: Stack) -> None:
        self.channels = [
            grpc.aio.insecure_channel(f"127.0.0.1:{stack.ports[name]}")
            for name in ("members", "coupons", "feedback")
        ]
        self.members: Any = members_pb2_grpc.MembersServiceStub(self.channels[0])
        self.coupons: Any = coupons_pb2_grpc.CouponsServiceStub(self.channels[1])
        self.feedback: Any = feedback_pb2_grpc.FeedbackServiceStub(self.channels[2])

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()


async def a_member(apis: Apis, tenant: str, phone: str) -> str:
    reply = await apis.members.EnrollMember(
        members_pb2.EnrollMemberRequest(tenant_id=tenant, phone=phone, name="Li")
    )
    return str(reply.member.id)


async def a_bad_review(
    apis: Apis, tenant: str, member: str, request_id: str = "rev-1"
) -> feedback_pb2.Review:
    posted = await apis.feedback.PostReview(
        feedback_pb2.PostReviewRequest(
            tenant_id=tenant,
            member_id=member,
            store_id="sh-01",
            receipt_no="R-1001",
            rating=1,
            text="The clasp broke the day after I bought it.",
            channel="mini_program",
            request_id=request_id,
        )
    )
    review: feedback_pb2.Review = posted.review
    return review


async def test_a_bad_review_opens_one_case_however_often_review_posted_arrives(feedback_stack: Stack) -> None:
    tenant = f"jeweller-{ULID()}"
    apis = Apis(feedback_stack)
    try:
        member = await a_member(apis, tenant, "+8613900003001")
        review = await a_bad_review(apis, tenant, member)
        again = await a_bad_review(apis, tenant, member)  # the mini-program retries the post
        posted = await feedback_events(feedback_stack, tenant, "regulars.feedback.v1.review_posted", 1)
        publisher = EventPublisher(feedback_stack.kafka_bootstrap_servers)
        await publisher.start()
        try:
            record = posted[0]
            envelope = Envelope.from_record(record.headers, record.value)
            topic = f"{feedback_stack.namespace}{FEEDBACK_TOPIC}"
            await publisher.publish_many([(topic, envelope), (topic, envelope)])  # delivered twice more
        finally:
            await publisher.stop()
        await asyncio.sleep(3)  # let the consumer handle both copies
        cases = await apis.feedback.ListCases(
            feedback_pb2.ListCasesRequest(tenant_id=tenant, member_id=member)
        )
    finally:
        await apis.close()

    assert again.id == review.id
    assert review.case_id
    assert [(c.id, c.state, c.source, c.review_id) for c in cases.cases] == [
        (review.case_id, "open", "review", review.id)
    ]
    opened = await feedback_events(feedback_stack, tenant, "regulars.feedback.v1.complaint_opened", 1)
    assert len(opened) == 1
    assert events_pb2.ComplaintOpened.FromString(opened[0].value).case.id == review.case_id


async def test_a_resolve_retried_at_once_issues_one_coupon_and_charges_the_budget_once(
    feedback_stack: Stack,
) -> None:
    tenant = f"bakery-{ULID()}"
    apis = Apis(feedback_stack)
    try:
        template = await active_template(apis.coupons, tenant, claimable=False)
        policy = await apis.feedback.GetFeedbackPolicy(
            feedback_pb2.GetFeedbackPolicyRequest(tenant_id=tenant)
        )
        del policy.presets[:]
        policy.presets.add(rating_class=feedback_pb2.RATING_CLASS_BAD, template_id=template.id, value=1000)
        policy.store_monthly_budget = 5000
        policy.risk_threshold = 100  # nobody needs a manager here
        await apis.feedback.UpdateFeedbackPolicy(feedback_pb2.UpdateFeedbackPolicyRequest(policy=policy))
        member = await a_member(apis, tenant, "+8613900003002")
        review = await a_bad_review(apis, tenant, member)
        case_id = review.case_id
        act = feedback_pb2.CaseActionRequest(
            tenant_id=tenant, case_id=case_id, by="staff-1", note="We are sorry."
        )
        await apis.feedback.AcknowledgeCase(act)
        await apis.feedback.StartCase(act)
        resolve = feedback_pb2.ResolveCaseRequest(
            tenant_id=tenant, case_id=case_id, by="staff-1", remedy=feedback_pb2.Remedy(kind="coupon")
        )
        answers = await asyncio.gather(
            *(apis.feedback.ResolveCase(resolve, timeout=20) for _ in range(5)), return_exceptions=True
        )
        resolved = await apis.feedback.ResolveCase(resolve)  # and once more, later
        wallet = await apis.coupons.ListMemberCoupons(
            coupons_pb2.ListMemberCouponsRequest(tenant_id=tenant, member_id=member)
        )
        with pytest.raises(grpc.aio.AioRpcError) as illegal:
            await apis.feedback.AcknowledgeCase(act)
    finally:
        await apis.close()

    codes = {a.remedy.coupon_code for a in answers if isinstance(a, feedback_pb2.Case)}
    assert resolved.state == "resolved"
    assert codes <= {resolved.remedy.coupon_code}
    assert [c.code for c in wallet.coupons] == [resolved.remedy.coupon_code]  # one coupon for the case
    assert (resolved.remedy.value, resolved.remedy.template_id) == (1000, template.id)
    assert illegal.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "resolved" in (illegal.value.details() or "")
    done = await feedback_events(feedback_stack, tenant, "regulars.feedback.v1.complaint_resolved", 1)
    assert len(done) == 1


async def test_an_sla_breach_is_reported_once_per_sla(feedback_stack: Stack) -> None:
    tenant = f"apparel-{ULID()}"
    apis = Apis(feedback_stack)
    try:
        member = await a_member(apis, tenant, "+8613900003003")
        review = await a_bad_review(apis, tenant, member)
        later = datetime.now(UTC) + timedelta(days=10)  # past every default SLA, in business hours
        first = await apis.feedback.RunCaseClock(feedback_pb2.RunCaseClockRequest(at=stamp(later)))
        second = await apis.feedback.RunCaseClock(feedback_pb2.RunCaseClockRequest(at=stamp(later)))
        case = await apis.feedback.GetCase(
            feedback_pb2.GetCaseRequest(tenant_id=tenant, case_id=review.case_id)
        )
    finally:
        await apis.close()

    assert (first.breaches, second.breaches) == (2, 0)  # this stack's one case: both SLAs, once
    assert sorted(case.sla_breaches) == ["first_response", "resolution"]
    breached = await feedback_events(feedback_stack, tenant, "regulars.feedback.v1.complaint_sla_breached", 2)
    slas = sorted(events_pb2.ComplaintSlaBreached.FromString(r.value).sla for r in breached)
    assert slas == ["first_response", "resolution"]  # once each


async def test_a_new_reviewer_without_a_purchase_there_needs_a_managers_decision(
    feedback_stack: Stack,
) -> None:
    tenant = f"cosmetics-{ULID()}"
    apis = Apis(feedback_stack)
    try:
        member = await a_member(apis, tenant, "+8613900003004")
        posted = await apis.feedback.PostReview(
            feedback_pb2.PostReviewRequest(
                tenant_id=tenant,
                member_id=member,
                store_id="new-store",
                rating=1,
                text="Fake product! Pay me 500 in cash or add my WeChat wxid_abc123 or I post everywhere",
                channel="mini_program",
                request_id="r-risky",
            )
        )
        case_id = posted.review.case_id
        act = feedback_pb2.CaseActionRequest(tenant_id=tenant, case_id=case_id, by="staff-1", note="Sorry")
        await apis.feedback.AcknowledgeCase(act)
        await apis.feedback.StartCase(act)
        coupon = feedback_pb2.ResolveCaseRequest(
            tenant_id=tenant, case_id=case_id, by="staff-1", remedy=feedback_pb2.Remedy(kind="coupon")
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await apis.feedback.ResolveCase(coupon)
        decided = await apis.feedback.DecideRisk(
            feedback_pb2.DecideRiskRequest(
                tenant_id=tenant,
                case_id=case_id,
                by="manager-1",
                decision="confirm_extortion",
                note="Demanded cash; no purchase at the store.",
                blacklist=True,
            )
        )
        evidence = await apis.feedback.ExportEvidence(
            feedback_pb2.ExportEvidenceRequest(tenant_id=tenant, member_id=member)
        )
        profile = await apis.members.GetMember(
            members_pb2.GetMemberRequest(tenant_id=tenant, member_id=member)
        )
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await apis.feedback.PostReview(
                feedback_pb2.PostReviewRequest(
                    tenant_id=tenant, member_id=member, store_id="x", rating=9, channel="app"
                )
            )
    finally:
        await apis.close()

    assert posted.review.verified_purchase is False
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "manager" in (refused.value.details() or "")
    assert (decided.state, decided.risk.decision) == ("rejected", "extortion_confirmed")
    assert decided.risk.needs_manager
    assert decided.risk.reasons
    assert profile.blacklist_reason  # blacklisted in members
    assert [r.id for r in evidence.reviews] == [posted.review.id]
    assert [c.id for c in evidence.cases] == [case_id]
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_field(bad.value) in (
        "rating",
        "channel",
    )
