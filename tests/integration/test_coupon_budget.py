"""A template's budget over real Kafka and FerretDB: redemptions leave no per-redemption field on
the template, and budget_used stays exact through refunds delivered several times, a charge a
crash abandoned and a refund a crash left half done (settled by the sweeper)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pymongo import AsyncMongoClient, MongoClient
from regulars.coupons.v1 import coupons_pb2
from regulars.members.v1 import events_pb2 as member_events
from regulars.members.v1 import members_pb2
from ulid import ULID

from chassis import outbox
from chassis.mongo import Document, connect
from devstack.processes import Stack
from services.coupons.adapters.coupons_mongo import MongoCoupons
from services.coupons.adapters.templates_mongo import MongoTemplates
from services.coupons.domain.budget import GRACE, Charging, GiveBack, give_back_key
from services.coupons.service.housekeeping import BudgetBook
from tests.integration.coupon_support import active_template
from tests.integration.test_coupon_lifecycle import TENANT, Apis, now_ts, purchase, until
from tests.kafka_tools import header, produce, read_all
from tests.support import eventually

PER_REDEMPTION = ("charging", "returning", "budget_marks")


def field_paths(doc: dict[str, Any], prefix: str = "") -> set[str]:
    """Every field path of a document (`a.b.c`), to compare its shape before and after."""
    paths: set[str] = set()
    for k, v in doc.items():
        path = f"{prefix}{k}"
        paths.add(path)
        if isinstance(v, dict):
            paths |= field_paths(v, f"{path}.")
    return paths


class _NoRelay:
    """The sweeper's coupon writes announce no event: nothing to relay."""

    def wake(self) -> None:
        return None


class Later:
    """A clock `ahead` of the real one."""

    def __init__(self, ahead: timedelta) -> None:
        self.ahead = ahead

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


def sweeper(
    client: AsyncMongoClient[Document], stack: Stack, clock: Callable[[], datetime]
) -> tuple[BudgetBook, MongoTemplates]:
    """The service's own sweeper, run here on its store with a clock of the test's choosing."""
    db = client[f"{stack.namespace}regulars_coupons"]
    coupons = MongoCoupons(db, f"{stack.namespace}regulars.coupons.v1", cast(outbox.Outbox, _NoRelay()))
    templates = MongoTemplates(db)
    return BudgetBook(coupons, templates, clock), templates


async def test_redemptions_leave_no_per_redemption_field_on_the_template(
    coupons_stack: Stack, mongo: MongoClient[Any]
) -> None:
    apis = Apis(coupons_stack)
    templates = mongo[f"{coupons_stack.namespace}regulars_coupons"]["templates"]
    try:
        template = await active_template(apis.coupons, TENANT, limits=coupons_pb2.Limits(budget=100_000))
        member = await apis.enrol("Zhao", "+8613912120001")
        codes = [
            (
                await apis.coupons.IssueCoupon(
                    coupons_pb2.IssueCouponRequest(
                        tenant_id=TENANT, template_id=template.id, member_id=member.id, issue_id=f"b-{i}"
                    )
                )
            ).coupon.code
            for i in range(12)
        ]

        async def redeem(code: str, receipt: str) -> Any:
            return await apis.coupons.RedeemCoupon(
                coupons_pb2.RedeemCouponRequest(
                    tenant_id=TENANT,
                    code=code,
                    receipt_no=receipt,
                    store_id="sh-01",
                    discount=1_500,
                    receipt_total=15_000,
                )
            )

        await redeem(codes[0], "R.0")  # a receipt number with a dot
        after_one = templates.find_one({"_id": template.id})
        await asyncio.gather(*(redeem(code, f"R.{i}") for i, code in enumerate(codes[1:], 1)))
        await redeem(codes[3], "R.3")  # a retry: the same answer, charged once
        after_all = templates.find_one({"_id": template.id})
    finally:
        await apis.close()
    assert after_one is not None
    assert after_all is not None
    assert field_paths(after_all) == field_paths(after_one)  # the same shape after 1 and 12
    assert all(not after_all.get(part) for part in PER_REDEMPTION)
    assert after_all["budget_used"] == 12 * 1_500
    spent = mongo[f"{coupons_stack.namespace}regulars_coupons"]["coupons"].find({"template_id": template.id})
    assert [d["redemption"]["budget_charged"] for d in spent] == [1_500] * 12


async def test_budget_used_is_exact_after_refunds_delivered_again_and_crashes_settled(
    coupons_stack: Stack, mongo: MongoClient[Any]
) -> None:
    apis = Apis(coupons_stack)
    store = mongo[f"{coupons_stack.namespace}regulars_coupons"]
    client = connect(coupons_stack.mongodb_url)
    try:
        template = await active_template(apis.coupons, TENANT, limits=coupons_pb2.Limits(budget=100_000))
        member = await apis.enrol("Qian", "+8613912120002")
        codes = [
            (
                await apis.coupons.IssueCoupon(
                    coupons_pb2.IssueCouponRequest(
                        tenant_id=TENANT, template_id=template.id, member_id=member.id, issue_id=f"q-{i}"
                    )
                )
            ).coupon.code
            for i in range(5)
        ]
        bought = [
            await apis.members.RecordPurchase(purchase(member.id, f"R-{i}", 15_000, (codes[i],)))
            for i in range(4)
        ]

        async def used() -> int:
            t = await apis.coupons.GetTemplate(
                coupons_pb2.GetTemplateRequest(tenant_id=TENANT, template_id=template.id)
            )
            return int(t.budget_used)

        await until(lambda: _equals(used(), 4 * 2_000))  # each purchase redeemed its coupon
        for b in bought[:2]:
            await apis.members.RefundPurchase(
                members_pb2.RefundPurchaseRequest(
                    tenant_id=TENANT,
                    purchase_id=b.purchase.id,
                    refund_id=f"RF-{b.purchase.id}",
                    occurred_at=now_ts(),
                )
            )
        await until(lambda: _equals(used(), 2 * 2_000))

        members_topic = f"{coupons_stack.namespace}regulars.members.v1"
        records = await read_all(coupons_stack.kafka_bootstrap_servers, members_topic, settle_seconds=1)
        refunds = [r for r in records if header(r, "ce_type") == "regulars.members.v1.purchase_refunded"]
        assert len(refunds) == 2
        for _ in range(2):  # each refund delivered twice more, byte for byte (same event id)
            for r in refunds:
                await produce(
                    coupons_stack.kafka_bootstrap_servers, members_topic, r.value, r.key, list(r.headers)
                )
        sentinel = member_events.MemberTierChanged(member_id=member.id, tenant_id=TENANT, tier="sentinel")
        headers = [(k, v) for k, v in refunds[0].headers if k not in ("ce_type", "ce_id")]
        headers += [("ce_type", b"regulars.members.v1.member_tier_changed"), ("ce_id", b"budget-sentinel")]
        await produce(
            coupons_stack.kafka_bootstrap_servers,
            members_topic,
            sentinel.SerializeToString(),
            refunds[0].key,
            headers,
        )
        profiles = store["member_profiles"]
        await asyncio.to_thread(
            eventually,
            lambda: (profiles.find_one({"_id": f"{TENANT}:{member.id}"}) or {}).get("tier") == "sentinel",
        )  # the redeliveries, on the same partition, were handled before the sentinel
        assert await used() == 2 * 2_000

        # A till that crashed between the charge and the coupon write (the 5th coupon, unredeemed),
        # and a refund that crashed between the coupon's restore and the give-back (the 4th).
        now = datetime.now(UTC)
        later = Later(GRACE + timedelta(minutes=1))  # the sweeper's clock, past the grace
        book, templates = sweeper(client, coupons_stack, later)
        fifth = store["coupons"].find_one({"_id": (await apis.coupon(codes[4])).id})
        fourth = store["coupons"].find_one({"_id": (await apis.coupon(codes[3])).id})
        assert fifth is not None
        assert fourth is not None
        abandoned = Charging(fifth["_id"], "R-crashed", 2_000, now, str(ULID()))
        charged = await templates.charge_budget(TENANT, template.id, 100_000, abandoned)
        assert charged.standing == abandoned
        charge_id = fourth["redemption"]["budget_charge_id"]
        owed = GiveBack(give_back_key(fourth["_id"], charge_id), 2_000, now)
        half_refunded = store["coupons"].update_one(
            {"_id": fourth["_id"], "state": "redeemed", "redemption.refunded_by": ""},
            {
                "$set": {
                    "state": "available",
                    "redemption.refunded_by": "RF-crashed",
                    "budget_to_return": {
                        "key": owed.key,
                        "amount": owed.amount,
                        "since": now,
                        "legacy": False,
                    },
                    "budget_to_return_at": now,
                }
            },
        )  # what MongoCoupons.restore writes, and then the process died
        assert half_refunded.modified_count == 1
        assert await used() == 3 * 2_000

        first, second = await book.sweep(), await book.sweep()
        later.ahead += GRACE + timedelta(minutes=1)
        third = await book.sweep()  # forgets the last give-back's mark, paid by `first`
    finally:
        await apis.close()
        await client.close()
    assert (first.charges_settled, first.debts_paid, first.marks_forgotten) == (1, 1, 2)
    assert (second.charges_settled, second.debts_paid, second.marks_forgotten) == (0, 0, 0)
    assert (third.charges_settled, third.debts_paid, third.marks_forgotten) == (0, 0, 1)
    stored = store["templates"].find_one({"_id": template.id})
    assert stored is not None
    assert stored["budget_used"] == 1 * 2_000  # only the 3rd purchase's redemption still stands
    assert all(not stored.get(part) for part in PER_REDEMPTION)
    assert "marks_since" not in stored
    assert store["coupons"].count_documents({"tenant_id": TENANT, "budget_to_return": {"$exists": True}}) == 0


async def _equals(value: Any, expected: int) -> bool:
    return bool(await value == expected)
