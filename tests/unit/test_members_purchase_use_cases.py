"""Purchase, refund and tier-review use cases on in-memory fakes of members' ports: each effect
lands once however often it is run, and members' own purchase_refunded only finishes what a
request left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from regulars.members.v1 import events_pb2

from chassis.cloudevents import new_event
from chassis.consumer import PermanentError
from services.members.domain import spending, tiers
from services.members.domain.points import EntryReason
from services.members.domain.purchases import RecordedPurchase, RefundLine
from services.members.domain.refunds import decide_refund
from services.members.entrypoints.consumer import subscriptions
from services.members.service.purchases import PurchaseEffects
from services.members.service.refunds import Refunds
from services.members.service.tiers import TierReview
from tests.unit.fakes_members import (
    FakeLedger,
    FakeProgrammes,
    FakePurchases,
    FakeRefunds,
    FakeSpending,
    a_purchase,
)

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
LADDER = tiers.DEFAULT_LADDER
PROGRAMMES = FakeProgrammes()  # every tenant runs the defaults


class Members:
    """The use cases wired on fakes, as bootstrap.py wires them on the store."""

    def __init__(self, *member_ids: str) -> None:
        self.purchases = FakePurchases()
        self.spending = FakeSpending(*member_ids)
        self.ledger = FakeLedger()
        self.effects = PurchaseEffects(
            self.purchases, self.spending, self.ledger, PROGRAMMES, clock=lambda: NOW
        )
        self.refund_store = FakeRefunds(self.purchases)
        self.refunds = Refunds(self.refund_store, self.spending, self.ledger, PROGRAMMES, clock=lambda: NOW)

    async def recorded(
        self, paid: int, member_id: str = "m1", receipt: str = "R1", points: int = 0
    ) -> RecordedPurchase:
        purchase = a_purchase(paid, member_id, receipt, NOW)
        recorded, _ = await self.purchases.add(RecordedPurchase(purchase, points or paid // 100))
        return recorded


async def test_a_purchase_applied_three_times_counts_once() -> None:
    m = Members("m1")
    recorded = await m.recorded(250_000)  # ¥2,500: silver

    for _ in range(3):
        await m.effects.apply(recorded)

    standing = m.spending.standings[("t1", "m1")]
    assert (standing.points_balance, standing.stats.purchase_count, standing.tier) == (2_500, 1, "silver")
    assert m.spending.writes == 1
    assert [e["delta"] for e in m.ledger.entries.values()] == [2_500]
    assert (await m.purchases.get("t1", recorded.purchase.id)).pending is False  # type: ignore[union-attr]


async def test_a_purchase_announces_purchase_made_once_with_the_tier_it_earned() -> None:
    m = Members("m1")
    recorded = await m.recorded(250_000)  # normal -> silver

    for _ in range(2):
        await m.effects.apply(recorded)

    made = [f for f in m.spending.announced if isinstance(f, spending.Purchased)]
    assert [(f.recorded.purchase.id, f.tier) for f in made] == [(recorded.purchase.id, "silver")]
    assert any(isinstance(f, spending.TierChanged) for f in m.spending.announced)


async def test_members_own_purchase_refunded_finishes_a_refund_once() -> None:
    m = Members("m1")
    recorded = await m.recorded(10_000)
    await m.effects.apply(recorded)
    pid = recorded.purchase.id
    # What a crash right after the refund's write leaves: recorded, the member untouched.
    await m.refund_store.add(
        "t1", pid, "refund-1", lambda bought, earlier: decide_refund(bought, earlier, None, "refund-1", NOW)
    )
    handlers = subscriptions(m.refunds)
    payload = events_pb2.PurchaseRefunded(
        tenant_id="t1", member_id="m1", purchase_id=pid, refund_id="refund-1"
    )

    for _ in range(2):
        env = new_event(source="test", tenant_id="t1", subject="m1", payload=payload, time=NOW)
        await handlers[env.type](env)

    assert m.spending.standings[("t1", "m1")].points_balance == 0
    assert [e["delta"] for e in m.ledger.entries.values()] == [100, -100]


async def test_purchase_refunded_for_a_refund_not_recorded_is_permanent() -> None:
    m = Members("m1")
    payload = events_pb2.PurchaseRefunded(tenant_id="t1", member_id="m1", purchase_id="p", refund_id="r")
    env = new_event(source="test", tenant_id="t1", subject="m1", payload=payload, time=NOW)

    with pytest.raises(PermanentError, match="not recorded"):
        await subscriptions(m.refunds)[env.type](env)


async def test_pending_purchases_are_completed_and_one_that_fails_does_not_hold_up_the_others() -> None:
    m = Members("m1")  # m2 is unknown: its purchase is left for later, not an error here
    await m.recorded(10_000, receipt="R1")
    await m.recorded(10_000, member_id="m2", receipt="R2")

    done, failed = await m.effects.complete_pending(NOW, timedelta(seconds=5))

    assert (done, failed) == (2, {})
    assert m.spending.standings[("t1", "m1")].points_balance == 100


async def test_refunds_take_back_their_share_once_each_and_the_last_takes_the_rest() -> None:
    m = Members("m1")
    recorded = await m.recorded(30_000, points=301)
    await m.effects.apply(recorded)
    pid = recorded.purchase.id

    _, first, created = await m.refunds.refund("t1", pid, "refund-1", [RefundLine("A", 0, 10_000)], NOW)
    _, again, created_again = await m.refunds.refund("t1", pid, "refund-1", [RefundLine("A", 0, 10_000)], NOW)
    await m.refunds.complete("t1", pid, "refund-1")  # its purchase_refunded delivered: nothing more
    _, rest, _ = await m.refunds.refund("t1", pid, "refund-2", None, NOW)

    assert (created, created_again, again) == (True, False, first)
    assert (first.points_reversed, rest.points_reversed) == (100, 201)
    standing = m.spending.standings[("t1", "m1")]
    assert (standing.points_balance, standing.stats.total_spend) == (0, 0)
    refund_entries = [e["delta"] for e in m.ledger.entries.values() if e["reason"] is EntryReason.REFUND]
    assert refund_entries == [-100, -201]


async def test_the_nightly_review_moves_a_member_whose_spend_left_the_window_once() -> None:
    m = Members("m1")
    recorded = await m.recorded(250_000)
    await m.effects.apply(recorded)
    review = TierReview(m.spending, PROGRAMMES)
    next_year = NOW + timedelta(days=400)

    moved = [await review.review_all(next_year), await review.review_all(next_year)]

    assert moved == [1, 0]
    assert m.spending.standings[("t1", "m1")].tier == "normal"
