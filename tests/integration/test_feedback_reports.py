"""Feedback reports against real FerretDB and Kafka, with members and coupons beside it:
purchases recorded through members at two stores are counted from purchase_made (a record
delivered twice more counts once), cases opened from reviews and directly are moved through
acknowledge / start / resolve (a coupon, points) / the clock's follow-up and breaches / close,
and the report's numbers are exactly those of the instants the store recorded."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from pymongo import MongoClient
from regulars.feedback.v1 import feedback_pb2
from regulars.members.v1 import events_pb2 as member_events
from regulars.members.v1 import members_pb2
from ulid import ULID

from chassis.cloudevents import Envelope
from chassis.kafka import EventPublisher
from devstack.processes import Stack
from tests.integration.coupon_support import active_template
from tests.integration.test_feedback import Apis, a_member
from tests.kafka_tools import header, read_all
from tests.support import bad_field, eventually, server_urls

SHANGHAI = ZoneInfo("Asia/Shanghai")
MEMBERS_TOPIC = "regulars.members.v1"


def stamp(at: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(at)
    return out


def month_of(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m")


def start_of_month(at: datetime) -> datetime:
    local = at.astimezone(SHANGHAI)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def clear_of_a_month_boundary() -> datetime:
    """Now, a few minutes clear of a month's end in Shanghai (the test's cases and purchases
    all fall in this month)."""
    now = datetime.now(UTC)
    local = now.astimezone(SHANGHAI)
    following = (local.replace(day=28) + timedelta(days=4)).replace(day=1, hour=0, minute=0, second=0)
    left = (following.astimezone(UTC) - now).total_seconds()
    if left < 300:
        time.sleep(left + 1)
    return datetime.now(UTC)


async def purchase(
    apis: Apis, tenant: str, member: str, store: str, receipt: str, staff: str, at: datetime
) -> members_pb2.Purchase:
    reply = await apis.members.RecordPurchase(
        members_pb2.RecordPurchaseRequest(
            tenant_id=tenant,
            member_id=member,
            store_id=store,
            receipt_no=receipt,
            served_by_staff_id=staff,
            currency="CNY",
            occurred_at=stamp(at),
            lines=[
                members_pb2.PurchaseLine(
                    sku="RING-1",
                    brand="Lumen",
                    category="Rings",
                    quantity=1,
                    list_price=50_000,
                    paid_price=50_000,
                )
            ],
        )
    )
    made: members_pb2.Purchase = reply.purchase
    return made


async def report(apis: Apis, tenant: str, first: str, last: str, group_by: str) -> Any:
    return await apis.feedback.GetFeedbackReport(
        feedback_pb2.GetFeedbackReportRequest(
            tenant_id=tenant, from_month=first, to_month=last, group_by=group_by
        )
    )


async def redeliver_purchase_made(stack: Stack, tenant: str, receipt: str, copies: int) -> None:
    """Publish members' purchase_made of that receipt `copies` more times, as Kafka may."""
    topic = f"{stack.namespace}{MEMBERS_TOPIC}"

    def probe() -> Any:
        records = asyncio.run(read_all(stack.kafka_bootstrap_servers, topic, settle_seconds=1.5))
        for r in records:
            mine = (
                header(r, "ce_type") == "regulars.members.v1.purchase_made"
                and header(r, "ce_tenantid") == tenant
            )
            if mine and member_events.PurchaseMade.FromString(r.value).purchase.receipt_no == receipt:
                return r
        return None

    record = await asyncio.to_thread(eventually, probe)
    envelope = Envelope.from_record(record.headers, record.value)
    publisher = EventPublisher(stack.kafka_bootstrap_servers)
    await publisher.start()
    try:
        await publisher.publish_many([(topic, envelope)] * copies)
    finally:
        await publisher.stop()


def stored_cases(stack: Stack, case_ids: list[str]) -> dict[str, dict[str, Any]]:
    client: MongoClient[dict[str, Any]] = MongoClient(server_urls()[0], tz_aware=True)
    try:
        db = client[f"{stack.namespace}regulars_feedback"]
        return {d["_id"]: d for d in db["cases"].find({"_id": {"$in": case_ids}})}
    finally:
        client.close()


def seconds(doc: dict[str, Any], field: str) -> float:
    return float((doc[field] - doc["opened_at"]).total_seconds())


async def test_the_report_counts_each_purchase_once_and_gives_the_cases_exact_figures(
    feedback_stack: Stack,
) -> None:
    tenant = f"jeweller-{ULID()}"
    apis = Apis(feedback_stack)
    now = clear_of_a_month_boundary()
    this_month = month_of(now)
    last_month = month_of(start_of_month(now) - timedelta(hours=1))
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
        m1 = await a_member(apis, tenant, "+8613900004001")
        m2 = await a_member(apis, tenant, "+8613900004002")
        m3 = await a_member(apis, tenant, "+8613900004003")

        # Purchases at two stores, credited to whoever served (the members have no owner).
        for member, store, receipt, staff in (
            (m1, "sh-01", "R-1", "a1"),
            (m2, "sh-01", "R-2", "a1"),
            (m3, "sh-01", "R-3", "a2"),
            (m1, "sh-02", "R-4", "a2"),
            (m2, "sh-02", "R-5", "a3"),
        ):
            await purchase(apis, tenant, member, store, receipt, staff, now)
        await purchase(apis, tenant, m3, "sh-02", "R-0", "a3", start_of_month(now) - timedelta(hours=1))

        async def counted(expected: int) -> None:
            async def probe() -> bool:
                got = await report(apis, tenant, last_month, this_month, "month")
                return bool(got.total.purchases == expected)

            deadline = time.monotonic() + 60
            while not await probe():
                assert time.monotonic() < deadline, f"purchases never reached {expected}"
                await asyncio.sleep(0.5)

        await counted(6)
        await redeliver_purchase_made(feedback_stack, tenant, "R-1", copies=2)
        # m1's next purchase is on the same partition, after the two copies: once it is
        # counted, so were they.
        await purchase(apis, tenant, m1, "sh-01", "R-7", "a2", now)
        await counted(7)

        # Cases: c1 from m1's 1-star review of R-1 (resolved with a coupon), c2 opened by m2
        # about R-2 (resolved with points), c3 by m1 about R-4 (acknowledged only), c4 from m2's
        # 2-star review of R-5 (never answered).
        async def review(member: str, store: str, receipt: str, rating: int, request_id: str) -> Any:
            posted = await apis.feedback.PostReview(
                feedback_pb2.PostReviewRequest(
                    tenant_id=tenant,
                    member_id=member,
                    store_id=store,
                    receipt_no=receipt,
                    rating=rating,
                    text="About my ring.",
                    channel="mini_program",
                    request_id=request_id,
                )
            )
            return posted.review

        async def open_case(member: str, store: str, receipt: str, category: str, request_id: str) -> Any:
            return await apis.feedback.OpenCase(
                feedback_pb2.OpenCaseRequest(
                    tenant_id=tenant,
                    member_id=member,
                    store_id=store,
                    receipt_no=receipt,
                    category=category,
                    severity="medium",
                    description="Not what I was promised.",
                    opened_by_kind="customer",
                    opened_by=member,
                    request_id=request_id,
                )
            )

        bad = await review(m1, "sh-01", "R-1", 1, "rv-1")
        c1 = bad.case_id
        c2 = (await open_case(m2, "sh-01", "R-2", "product_price_dispute", "case-2")).id
        c3 = (await open_case(m1, "sh-02", "R-4", "service_attitude", "case-3")).id
        c4 = (await review(m2, "sh-02", "R-5", 2, "rv-4")).case_id
        await review(m3, "sh-01", "R-3", 5, "rv-5")
        await review(m3, "sh-01", "", 3, "rv-6")

        def act(case_id: str) -> feedback_pb2.CaseActionRequest:
            return feedback_pb2.CaseActionRequest(
                tenant_id=tenant, case_id=case_id, by="staff-1", note="Sorry."
            )

        for case_id in (c1, c2, c3):
            await apis.feedback.AcknowledgeCase(act(case_id))
        for case_id in (c1, c2):
            await apis.feedback.StartCase(act(case_id))
        await apis.feedback.ResolveCase(
            feedback_pb2.ResolveCaseRequest(
                tenant_id=tenant, case_id=c1, by="staff-1", remedy=feedback_pb2.Remedy(kind="coupon")
            )
        )
        await apis.feedback.ResolveCase(
            feedback_pb2.ResolveCaseRequest(
                tenant_id=tenant,
                case_id=c2,
                by="staff-1",
                remedy=feedback_pb2.Remedy(kind="points", points=200),
            )
        )
        await apis.feedback.AmendReview(
            feedback_pb2.AmendReviewRequest(
                tenant_id=tenant, review_id=bad.id, member_id=m1, rating=4, text="They made it right."
            )
        )
        # Ten days on: the follow-ups of c1 and c2 are due; c3's resolution and both of c4's SLAs
        # are breached (medium: 24 / 72 business hours of a store open 12 hours a day).
        clock = await apis.feedback.RunCaseClock(
            feedback_pb2.RunCaseClockRequest(at=stamp(now + timedelta(days=10)))
        )
        for case_id, score in ((c1, 4), (c2, 2)):
            await apis.feedback.CloseCase(
                feedback_pb2.CloseCaseRequest(
                    tenant_id=tenant, case_id=case_id, by="staff-1", satisfaction=score
                )
            )

        by_store = await report(apis, tenant, this_month, this_month, "store")
        by_assistant = await report(apis, tenant, this_month, this_month, "assistant")
        by_month = await report(apis, tenant, last_month, this_month, "month")
        reviews_here = await apis.feedback.GetReviewDistribution(
            feedback_pb2.GetReviewDistributionRequest(
                tenant_id=tenant, from_month=this_month, to_month=this_month, store_id="sh-01"
            )
        )
        reviews_all = await apis.feedback.GetReviewDistribution(
            feedback_pb2.GetReviewDistributionRequest(
                tenant_id=tenant, from_month=last_month, to_month=this_month
            )
        )
        nobody = await report(apis, f"other-{ULID()}", this_month, this_month, "store")
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await report(apis, tenant, this_month, this_month, "week")
    finally:
        await apis.close()

    assert (clock.breaches, clock.follow_ups_due) == (3, 2)
    docs = stored_cases(feedback_stack, [c1, c2, c3, c4])
    first = {c: seconds(docs[c], "first_responded_at") for c in (c1, c2, c3)}
    resolved = {c: seconds(docs[c], "resolved_at") for c in (c1, c2)}

    # By store: sh-01 has and cases c1, c2; sh-02 has R-4, R-5 (R-0 was last
    # month) and cases c3, c4.
    sh01, sh02 = by_store.rows
    assert (sh01.key, sh01.purchases, sh01.complaints, sh01.complaint_rate_per_1000) == ("sh-01", 4, 2, 500.0)
    assert (sh02.key, sh02.purchases, sh02.complaints, sh02.complaint_rate_per_1000) == (
        "sh-02",
        2,
        2,
        1000.0,
    )
    assert (sh01.first_response_p50_seconds, sh01.first_response_p90_seconds) == (
        min(first[c1], first[c2]),
        max(first[c1], first[c2]),
    )
    assert (sh01.resolution_p50_seconds, sh01.resolution_p90_seconds) == (
        min(resolved[c1], resolved[c2]),
        max(resolved[c1], resolved[c2]),
    )
    assert (sh02.first_response_p50_seconds, sh02.first_response_p90_seconds) == (first[c3], first[c3])
    assert (sh02.resolutions, sh02.resolution_p50_seconds, sh02.resolution_p90_seconds) == (0, 0.0, 0.0)
    assert (sh01.sla_first_response_met_share, sh01.sla_resolution_met_share) == (1.0, 1.0)
    assert (sh02.sla_first_response_judged, sh02.sla_first_response_met_share) == (2, 0.5)  # c3 met, c4 not
    assert (sh02.sla_resolution_judged, sh02.sla_resolution_met_share) == (2, 0.0)
    assert [(m.kind, m.count, m.coupon_value, m.points) for m in sh01.remedies] == [
        ("coupon", 1, 1000, 0),
        ("points", 1, 0, 200),
    ]
    assert list(sh02.remedies) == []
    assert (sh01.satisfaction_avg, sh01.satisfaction_count, sh02.satisfaction_count) == (3.0, 2, 0)
    assert [(c.category, c.count) for c in sh01.top_categories] == [
        ("product_price_dispute", 1),
        ("service_other", 1),
    ]
    assert [(c.category, c.count) for c in by_store.total.top_categories] == [
        ("service_other", 2),
        ("product_price_dispute", 1),
        ("service_attitude", 1),
    ]
    total = by_store.total
    assert (total.purchases, total.complaints, total.complaint_rate_per_1000) == (6, 4, 4 * 1000 / 6)
    assert (by_store.time_zone, by_store.from_month, by_store.group_by) == (
        "Asia/Shanghai",
        this_month,
        "store",
    )

    # By assistant: a case goes to whoever was credited with its receipt.
    assert [(r.key, r.purchases, r.complaints, r.complaint_rate_per_1000) for r in by_assistant.rows] == [
        ("a1", 2, 2, 1000.0),  # c1, c2
        ("a2", 3, 1, 1000 / 3),  # c3
        ("a3", 1, 1, 1000.0),  # R-5; c4
    ]

    # By month: R-0 is last month's, in Shanghai.
    assert [(r.key, r.purchases, r.complaints) for r in by_month.rows] == [
        (last_month, 1, 0),
        (this_month, 6, 4),
    ]

    # Reviews: as first posted (the amended 1-star is still this month's bad one, turned around).
    assert [(m.month, m.good, m.medium, m.bad, m.amended_better) for m in reviews_here.months] == [
        (this_month, 1, 1, 1, 1)
    ]
    assert [(m.month, m.good, m.medium, m.bad) for m in reviews_all.months] == [
        (last_month, 0, 0, 0),
        (this_month, 1, 1, 2),
    ]
    assert (list(nobody.rows), nobody.total.purchases) == ([], 0)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_field(refused.value) == "group_by"
