"""Coupons with the members service, over real Kafka and FerretDB: redemption from a receipt,
rollback on a refund delivered three times, a segment job killed halfway, automatic rules,
sharing, merging and expiry."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from google.protobuf import struct_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from pymongo import MongoClient
from regulars.coupons.v1 import coupons_pb2, coupons_pb2_grpc, events_pb2
from regulars.members.v1 import events_pb2 as member_events
from regulars.members.v1 import members_pb2, members_pb2_grpc

from devstack.processes import Stack
from tests.integration.coupon_support import active_template
from tests.kafka_tools import header, produce, read_all
from tests.support import eventually

TENANT = "tenant-lifecycle"


def now_ts(delta: timedelta = timedelta()) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(datetime.now(UTC) + delta)
    return out


def purchase(
    member_id: str, receipt: str, paid: int, codes: tuple[str, ...] = ()
) -> members_pb2.RecordPurchaseRequest:
    line = members_pb2.PurchaseLine(
        sku="LIP-01", brand="Rouge", category="Lipstick", quantity=1, list_price=paid, paid_price=paid
    )
    return members_pb2.RecordPurchaseRequest(
        tenant_id=TENANT,
        member_id=member_id,
        store_id="sh-01",
        receipt_no=receipt,
        currency="CNY",
        occurred_at=now_ts(),
        lines=[line],
        coupon_codes=list(codes),
    )


class Apis:
    def __init__(self, stack: Stack) -> None:
        self.members_channel = grpc.aio.insecure_channel(f"127.0.0.1:{stack.ports['members']}")
        self.coupons_channel = grpc.aio.insecure_channel(f"127.0.0.1:{stack.ports['coupons']}")
        self.members: Any = members_pb2_grpc.MembersServiceStub(self.members_channel)
        self.coupons: Any = coupons_pb2_grpc.CouponsServiceStub(self.coupons_channel)

    async def enrol(self, name: str, phone: str, **extra: Any) -> Any:
        reply = await self.members.EnrollMember(
            members_pb2.EnrollMemberRequest(tenant_id=TENANT, name=name, phone=phone, **extra)
        )
        return reply.member

    async def wallet(self, member_id: str) -> list[Any]:
        reply = await self.coupons.ListMemberCoupons(
            coupons_pb2.ListMemberCouponsRequest(tenant_id=TENANT, member_id=member_id)
        )
        return list(reply.coupons)

    async def coupon(self, code: str) -> Any:
        return await self.coupons.GetCoupon(coupons_pb2.GetCouponRequest(tenant_id=TENANT, code=code))

    async def close(self) -> None:
        await self.members_channel.close()
        await self.coupons_channel.close()


async def until(probe: Any, within: float = 30.0) -> Any:
    """Await `probe()` until it returns something truthy (a NOT_FOUND counts as not yet)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            value = await probe()
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
            value = None
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.2)


async def test_a_refund_delivered_three_times_restores_the_coupon_and_budget_once(
    coupons_stack: Stack, mongo: MongoClient[Any]
) -> None:
    apis = Apis(coupons_stack)
    try:
        template = await active_template(apis.coupons, TENANT, limits=coupons_pb2.Limits(budget=100_000))
        member = await apis.enrol("Wang", "+8613911110001")
        code = (
            await apis.coupons.IssueCoupon(
                coupons_pb2.IssueCouponRequest(
                    tenant_id=TENANT, template_id=template.id, member_id=member.id, issue_id="i-1"
                )
            )
        ).coupon.code
        bought = await apis.members.RecordPurchase(purchase(member.id, "R-100", 15_000, (code,)))

        async def redeemed() -> Any:
            c = await apis.coupon(code)
            return c if c.state == coupons_pb2.COUPON_STATE_REDEEMED else None

        spent = await until(redeemed)
        assert (spent.redemption.purchase_id, spent.redemption.discount) == (bought.purchase.id, 2000)
        budget = await apis.coupons.GetTemplate(
            coupons_pb2.GetTemplateRequest(tenant_id=TENANT, template_id=template.id)
        )
        assert budget.budget_used == 2000

        await apis.members.RefundPurchase(
            members_pb2.RefundPurchaseRequest(
                tenant_id=TENANT, purchase_id=bought.purchase.id, refund_id="RF-1", occurred_at=now_ts()
            )
        )

        async def restored() -> Any:
            c = await apis.coupon(code)
            return c if c.state == coupons_pb2.COUPON_STATE_AVAILABLE else None

        await until(restored)
        members_topic = f"{coupons_stack.namespace}regulars.members.v1"
        records = await read_all(coupons_stack.kafka_bootstrap_servers, members_topic, settle_seconds=1)
        (refunded,) = [r for r in records if header(r, "ce_type") == "regulars.members.v1.purchase_refunded"]
        for _ in range(2):  # delivered twice more, byte for byte (same event id)
            await produce(
                coupons_stack.kafka_bootstrap_servers,
                members_topic,
                refunded.value,
                refunded.key,
                list(refunded.headers),
            )
        sentinel = member_events.MemberTierChanged(member_id=member.id, tenant_id=TENANT, tier="sentinel")
        headers = [(k, v) for k, v in refunded.headers if k not in ("ce_type", "ce_id")]
        headers += [("ce_type", b"regulars.members.v1.member_tier_changed"), ("ce_id", b"sentinel-1")]
        await produce(
            coupons_stack.kafka_bootstrap_servers,
            members_topic,
            sentinel.SerializeToString(),
            refunded.key,
            headers,
        )
        profiles = mongo[f"{coupons_stack.namespace}regulars_coupons"]["member_profiles"]
        await asyncio.to_thread(
            eventually,
            lambda: (profiles.find_one({"_id": f"{TENANT}:{member.id}"}) or {}).get("tier") == "sentinel",
        )  # the redeliveries, on the same partition, were handled before the sentinel

        after = await apis.coupons.GetTemplate(
            coupons_pb2.GetTemplateRequest(tenant_id=TENANT, template_id=template.id)
        )
        assert after.budget_used == 0
        stored = mongo[f"{coupons_stack.namespace}regulars_coupons"]["templates"].find_one(
            {"_id": template.id}
        )
        assert stored is not None
        assert not stored.get("charging")  # the coupon took the charge over
        assert not stored.get("budget_marks")
        assert len(stored.get("returning") or {}) == 1  # the give-back, until the sweeper forgets it
        assert (await apis.coupon(code)).state == coupons_pb2.COUPON_STATE_AVAILABLE
        coupons_topic = f"{coupons_stack.namespace}regulars.coupons.v1"
        released = [
            events_pb2.CouponReleased.FromString(r.value)
            for r in await read_all(coupons_stack.kafka_bootstrap_servers, coupons_topic, settle_seconds=1.5)
            if header(r, "ce_type") == "regulars.coupons.v1.coupon_released"
        ]
        assert [r.restored_by_refund_id for r in released] == ["RF-1"]
        again = await apis.coupons.RedeemCoupon(
            coupons_pb2.RedeemCouponRequest(
                tenant_id=TENANT,
                code=code,
                receipt_no="R-101",
                store_id="sh-01",
                discount=2000,
                receipt_total=15_000,
            )
        )
        assert again.state == coupons_pb2.COUPON_STATE_REDEEMED
    finally:
        await apis.close()


async def test_a_segment_issue_job_killed_halfway_and_restarted_issues_each_member_once(
    coupons_stack: Stack, mongo: MongoClient[Any]
) -> None:
    apis = Apis(coupons_stack)
    try:
        sem = asyncio.Semaphore(16)

        async def enrol(i: int) -> None:
            async with sem:
                await apis.enrol(f"Vip{i}", f"+86139222{i:05d}", tags=["vip"])

        await asyncio.gather(*(enrol(i) for i in range(500)))
        await apis.enrol("Plain", "+8613933300000")
        criteria = struct_pb2.Struct()
        criteria.update({"tags_any": ["vip"]})
        segment = await apis.members.CreateSegment(
            members_pb2.CreateSegmentRequest(tenant_id=TENANT, name="VIPs", criteria=criteria)
        )
        template = await active_template(
            apis.coupons, TENANT, claimable=False, limits=coupons_pb2.Limits(per_member_limit=1)
        )
        job = await apis.coupons.StartIssueJob(
            coupons_pb2.StartIssueJobRequest(
                tenant_id=TENANT, template_id=template.id, segment_id=segment.id, job_key="vip-november"
            )
        )

        async def get_job() -> Any:
            return await apis.coupons.GetIssueJob(
                coupons_pb2.GetIssueJobRequest(tenant_id=TENANT, job_id=job.id)
            )

        async def halfway() -> Any:
            j = await get_job()
            return j if j.members_seen >= 100 else None

        at_kill = await until(halfway, within=120)
        coupons_stack.processes["coupons"].kill()
        assert at_kill.state == "running", "the job finished before it could be interrupted"
        await asyncio.to_thread(coupons_stack.start, "coupons")
        await apis.coupons_channel.close()
        apis.coupons_channel = grpc.aio.insecure_channel(f"127.0.0.1:{coupons_stack.ports['coupons']}")
        apis.coupons = coupons_pb2_grpc.CouponsServiceStub(apis.coupons_channel)

        async def done() -> Any:
            j = await get_job()
            return j if j.state == "done" else None

        finished = await until(done, within=180)
        again = await apis.coupons.StartIssueJob(
            coupons_pb2.StartIssueJobRequest(
                tenant_id=TENANT, template_id=template.id, segment_id=segment.id, job_key="vip-november"
            )
        )
    finally:
        await apis.close()
    assert (finished.members_seen, finished.issued, finished.skipped) == (500, 500, 0)
    assert again.id == job.id
    stored = list(
        mongo[f"{coupons_stack.namespace}regulars_coupons"]["coupons"].find({"template_id": template.id})
    )
    per_member = Counter(d["member_id"] for d in stored)
    assert len(per_member) == 500
    assert set(per_member.values()) == {1}


async def test_rules_issue_once_per_triggering_event(coupons_stack: Stack) -> None:
    apis = Apis(coupons_stack)
    try:
        welcome = await active_template(apis.coupons, TENANT, name="Welcome", claimable=False)
        thanks = await active_template(apis.coupons, TENANT, name="Come back soon", claimable=False)
        referral = await active_template(apis.coupons, TENANT, name="Thanks for the friend", claimable=False)
        for name, trigger, template, conditions in [
            ("welcome", "member_registered", welcome, None),
            ("after ¥100", "purchase_made", thanks, coupons_pb2.RuleConditions(min_spend=10_000)),
            ("referrer reward", "referral_converted", referral, None),
        ]:
            await apis.coupons.CreateRule(
                coupons_pb2.CreateRuleRequest(
                    tenant_id=TENANT,
                    rule=coupons_pb2.Rule(
                        name=name, trigger=trigger, template_id=template.id, conditions=conditions
                    ),
                )
            )
        ana = await apis.enrol("Ana", "+8613944400001")
        code = await apis.members.GetReferralCode(
            members_pb2.GetReferralCodeRequest(tenant_id=TENANT, member_id=ana.id)
        )
        bo = await apis.enrol("Bo", "+8613944400002", referral_code=code.code)
        await apis.members.RecordPurchase(
            purchase(bo.id, "R-200", 12_000)
        )  # over ¥100, converts the referral
        await apis.members.RecordPurchase(purchase(bo.id, "R-201", 5_000))  # under ¥100

        async def wallets() -> Any:
            a, b = await apis.wallet(ana.id), await apis.wallet(bo.id)
            return (a, b) if len(a) >= 2 and len(b) >= 2 else None

        await until(wallets)
        await asyncio.sleep(2)  # late duplicates would show up by now
        ana_wallet, bo_wallet = await apis.wallet(ana.id), await apis.wallet(bo.id)
    finally:
        await apis.close()
    assert sorted(c.name for c in ana_wallet) == ["Thanks for the friend", "Welcome"]
    assert sorted(c.name for c in bo_wallet) == ["Come back soon", "Welcome"]
    assert {c.source for c in ana_wallet + bo_wallet} == {"rule"}


async def test_a_rule_for_a_tier_sees_the_tier_the_purchase_earned(coupons_stack: Stack) -> None:
    """purchase_made carries the member's tier after the purchase, so a silver members' rule
    fires on the purchase that makes the member silver (not on the tier before it)."""
    apis = Apis(coupons_stack)
    try:
        reward = await active_template(apis.coupons, TENANT, name="Welcome to silver", claimable=False)
        await apis.coupons.CreateRule(
            coupons_pb2.CreateRuleRequest(
                tenant_id=TENANT,
                rule=coupons_pb2.Rule(
                    name="silver thanks",
                    trigger="purchase_made",
                    template_id=reward.id,
                    conditions=coupons_pb2.RuleConditions(tiers=["silver"]),
                ),
            )
        )
        cy = await apis.enrol("Cy", "+8613944400003")
        await apis.members.RecordPurchase(purchase(cy.id, "R-300", 5_000))  # ¥50: still normal
        await apis.members.RecordPurchase(purchase(cy.id, "R-301", 250_000))  # ¥2,500: silver now

        async def rewarded() -> Any:
            held = await apis.wallet(cy.id)
            return held if any(c.name == "Welcome to silver" for c in held) else None

        wallet = await until(rewarded)
        await asyncio.sleep(2)  # a second issue would show up by now
        wallet = await apis.wallet(cy.id)
    finally:
        await apis.close()
    assert [c.name for c in wallet].count("Welcome to silver") == 1


async def test_sharing_merging_validating_and_expiry(coupons_stack: Stack) -> None:
    apis = Apis(coupons_stack)
    try:
        shareable = await active_template(apis.coupons, TENANT, name="Share me", shareable=True)
        exclusive = await active_template(
            apis.coupons,
            TENANT,
            name="15% off, alone",
            stackable=False,
            benefit=coupons_pb2.Benefit(
                kind=coupons_pb2.COUPON_KIND_PERCENT_OFF, percent_off=1500, max_discount=5000
            ),
        )
        short = await active_template(
            apis.coupons, TENANT, name="Two hours", validity=coupons_pb2.Validity(duration_seconds=7200)
        )
        mei, lan, dup = (
            await apis.enrol("Mei", "+8613955500001"),
            await apis.enrol("Lan", "+8613955500002"),
            await apis.enrol("Mei again", "+8613955500003"),
        )

        async def issue(template: Any, member_id: str, key: str) -> Any:
            reply = await apis.coupons.IssueCoupon(
                coupons_pb2.IssueCouponRequest(
                    tenant_id=TENANT, template_id=template.id, member_id=member_id, issue_id=key
                )
            )
            return reply.coupon

        gift = await issue(shareable, mei.id, "s-1")
        friends = await until(  # once coupons has heard of Lan (members' events)
            lambda: apis.coupons.ShareCoupon(
                coupons_pb2.ShareCouponRequest(
                    tenant_id=TENANT, code=gift.code, from_member_id=mei.id, to_member_id=lan.id
                )
            )
        )
        twice = await apis.coupons.ShareCoupon(
            coupons_pb2.ShareCouponRequest(
                tenant_id=TENANT, code=gift.code, from_member_id=mei.id, to_member_id=lan.id
            )
        )
        assert twice.id == friends.id
        assert (friends.member_id, friends.shared_from_coupon_id) == (lan.id, gift.id)
        assert (await apis.coupon(gift.code)).state == coupons_pb2.COUPON_STATE_SHARED

        await issue(exclusive, lan.id, "x-1")
        cart = await apis.coupons.ValidateCart(
            coupons_pb2.ValidateCartRequest(
                tenant_id=TENANT,
                member_id=lan.id,
                store_id="sh-01",
                lines=[
                    coupons_pb2.CartLine(
                        sku="LIP-01", brand="Rouge", category="Lipstick", quantity=2, unit_price=9_000
                    )
                ],
            )
        )
        by_name = {c.coupon.name: c for c in cart.checks}
        assert cart.cart_total == 18_000
        assert (by_name["Share me"].applies, by_name["Share me"].discount) == (True, 2000)
        assert (by_name["15% off, alone"].applies, by_name["15% off, alone"].discount) == (True, 2700)
        assert [(s.code, s.discount) for s in cart.suggested] == [
            (by_name["15% off, alone"].coupon.code, 2700)
        ]
        assert by_name["Share me"].reason == "not_stackable"

        moving = await issue(short, dup.id, "d-1")
        await apis.members.MergeMembers(
            members_pb2.MergeMembersRequest(tenant_id=TENANT, survivor_id=mei.id, duplicate_id=dup.id)
        )

        async def moved() -> Any:
            c = await apis.coupon(moving.code)
            return c if c.member_id == mei.id else None

        await until(moved)
        warned = await apis.coupons.RunExpiry(coupons_pb2.RunExpiryRequest(at=now_ts(timedelta(minutes=30))))
        expired = await apis.coupons.RunExpiry(coupons_pb2.RunExpiryRequest(at=now_ts(timedelta(hours=3))))
        again = await apis.coupons.RunExpiry(coupons_pb2.RunExpiryRequest(at=now_ts(timedelta(hours=3))))
        lapsed = await apis.coupon(moving.code)
    finally:
        await apis.close()
    assert warned.expiring_warned >= 1
    assert expired.expired >= 1
    assert again.expired == 0
    assert lapsed.state == coupons_pb2.COUPON_STATE_EXPIRED


async def test_claims_follow_tiers_the_blacklist_and_a_segment_copied_in_at_activation(
    coupons_stack: Stack,
) -> None:
    apis = Apis(coupons_stack)
    try:
        gold_only = await active_template(
            apis.coupons, TENANT, name="Gold", audience=coupons_pb2.Audience(kind="tiers", tiers=["gold"])
        )
        for_all = await active_template(apis.coupons, TENANT, name="Everyone")
        criteria = struct_pb2.Struct()
        criteria.update({"tags_any": ["insider"]})
        segment = await apis.members.CreateSegment(
            members_pb2.CreateSegmentRequest(tenant_id=TENANT, name="Insiders", criteria=criteria)
        )
        insider = await apis.enrol("Insider", "+8613966600001", tags=["insider"])
        buyer = await apis.enrol("Buyer", "+8613966600002")
        listed = await apis.enrol("Listed", "+8613966600003")
        segment_only = await active_template(
            apis.coupons,
            TENANT,
            name="Insiders",
            audience=coupons_pb2.Audience(kind="segment", segment_id=segment.id),
        )

        async def claim(template: Any, member_id: str) -> str:
            reply = await apis.coupons.ClaimCoupon(
                coupons_pb2.ClaimCouponRequest(tenant_id=TENANT, template_id=template.id, member_id=member_id)
            )
            return str(coupons_pb2.ClaimOutcome.Name(reply.outcome))

        assert await claim(gold_only, buyer.id) == "CLAIM_OUTCOME_NOT_ELIGIBLE"
        await apis.members.RecordPurchase(purchase(buyer.id, "R-900", 900_000))  # ¥9,000: gold
        await until(lambda: _is(claim(gold_only, buyer.id), "CLAIM_OUTCOME_ISSUED"))

        await apis.members.SetBlacklist(
            members_pb2.SetBlacklistRequest(tenant_id=TENANT, member_id=listed.id, reason="extortion")
        )
        await until(lambda: _is(claim(for_all, listed.id), "CLAIM_OUTCOME_NOT_ELIGIBLE"))

        async def ready() -> Any:
            t = await apis.coupons.GetTemplate(
                coupons_pb2.GetTemplateRequest(tenant_id=TENANT, template_id=segment_only.id)
            )
            return t.audience_ready

        await until(ready)
        assert await claim(segment_only, insider.id) == "CLAIM_OUTCOME_ISSUED"
        assert await claim(segment_only, buyer.id) == "CLAIM_OUTCOME_NOT_ELIGIBLE"
    finally:
        await apis.close()


async def _is(outcome: Any, expected: str) -> bool:
    return bool(await outcome == expected)


async def test_birthday_and_monthly_rules_issue_once_per_month(coupons_stack: Stack) -> None:
    apis = Apis(coupons_stack)
    try:
        gift = await active_template(
            apis.coupons,
            TENANT,
            name="Birthday gift",
            claimable=False,
            validity=coupons_pb2.Validity(until_end_of="month"),
        )
        monthly = await active_template(apis.coupons, TENANT, name="Gold monthly", claimable=False)
        criteria = struct_pb2.Struct()
        criteria.update({"tags_any": ["gold-club"]})
        segment = await apis.members.CreateSegment(
            members_pb2.CreateSegmentRequest(tenant_id=TENANT, name="Gold club", criteria=criteria)
        )
        await apis.coupons.CreateRule(
            coupons_pb2.CreateRuleRequest(
                tenant_id=TENANT,
                rule=coupons_pb2.Rule(
                    name="birthday", trigger="member_birthday_month_started", template_id=gift.id
                ),
            )
        )
        await apis.coupons.CreateRule(
            coupons_pb2.CreateRuleRequest(
                tenant_id=TENANT,
                rule=coupons_pb2.Rule(
                    name="monthly",
                    trigger="schedule",
                    template_id=monthly.id,
                    day_of_month=1,
                    segment_id=segment.id,
                ),
            )
        )
        june = await apis.enrol(
            "June", "+8613977700001", birthday=members_pb2.Birthday(month=6, day=14), tags=["gold-club"]
        )
        first = await apis.members.RunCalendarDay(members_pb2.RunCalendarDayRequest(date="2030-06-01"))
        again = await apis.members.RunCalendarDay(members_pb2.RunCalendarDayRequest(date="2030-06-01"))
        assert (first.birthday_months_started, again.birthday_months_started) == (1, 0)
        started = await apis.coupons.RunSchedule(coupons_pb2.RunScheduleRequest(date="2030-06-01"))
        repeated = await apis.coupons.RunSchedule(coupons_pb2.RunScheduleRequest(date="2030-06-01"))
        assert (started.jobs_started, repeated.jobs_started) == (1, 0)

        async def both() -> Any:
            held = await apis.wallet(june.id)
            return held if len(held) >= 2 else None

        await until(both)
        await asyncio.sleep(2)  # a second birthday or monthly coupon would show up by now
        held = await apis.wallet(june.id)
    finally:
        await apis.close()
    assert sorted(c.name for c in held) == ["Birthday gift", "Gold monthly"]
