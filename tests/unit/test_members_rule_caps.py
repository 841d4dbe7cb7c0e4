"""Earning-rule caps per member: what a purchase reserves, what a retry records, what the
reconciler frees; the use case on a fake of the reservations that keeps the store's promise."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.members.domain import earning, rule_caps
from services.members.domain import programme_versions as pv
from services.members.domain.earning import (
    Bonus,
    EarningRule,
    MemberFacts,
    Multiplier,
    Scored,
    Share,
    ShareSource,
)
from services.members.domain.programme import DEFAULT_PROGRAMME
from services.members.domain.purchases import RecordedPurchase
from services.members.domain.rule_caps import CapHold
from services.members.service.rule_caps import RuleCaps
from tests.unit.fakes_members import FakeCapHolds, FakePurchases, a_purchase

NOW = datetime(2026, 6, 1, 10, tzinfo=UTC)
BONUS = EarningRule("bonus", "100 a visit", Bonus(100), cap_per_member=250)
DOUBLE = EarningRule("double", "2x, no cap", Multiplier(2))
VERSION = pv.ProgrammeVersion("t1", 1, DEFAULT_PROGRAMME, rules=(BONUS, DOUBLE), changed_by="test")


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def scored(bonus: int, double: int = 10) -> Scored:
    return Scored(
        (
            Share(ShareSource.BASE, "", 10),
            Share(ShareSource.RULE, "bonus", bonus),
            Share(ShareSource.RULE, "double", double),
        )
    )


def test_only_the_capped_rules_shares_are_reserved() -> None:
    assert rule_caps.caps(VERSION.rules) == {"bonus": 250}
    assert rule_caps.to_reserve(scored(100), VERSION.rules) == {"bonus": 100}
    assert rule_caps.to_reserve(scored(0), VERSION.rules) == {}


def test_a_retry_records_what_its_hold_took_whatever_the_counters_say_now() -> None:
    again = rule_caps.with_held(scored(0), VERSION.rules, {"bonus": 100})
    assert again.by_rule() == {"bonus": 100, "double": 10}
    assert rule_caps.with_held(scored(50), VERSION.rules, {}).by_rule() == {"double": 10}


def test_the_member_step_counts_only_what_the_hold_did_not() -> None:
    hold = CapHold("p1", "h1", {"bonus": 100}, NOW)
    assert rule_caps.uncounted({"bonus": 100, "double": 10}, hold) == {"double": 10}
    assert rule_caps.uncounted({"bonus": 100}, None) == {"bonus": 100}


def test_a_hold_is_fresh_for_a_minute() -> None:
    hold = CapHold("p1", "h1", {"bonus": 100}, NOW)
    assert hold.fresh(NOW + timedelta(seconds=59))
    assert not hold.fresh(NOW + rule_caps.HOLD)
    assert rule_caps.GRACE > rule_caps.HOLD


def caps_of(
    holds: FakeCapHolds, purchases: FakePurchases | None = None, clock: Clock | None = None
) -> RuleCaps:
    return RuleCaps(holds, purchases or FakePurchases(), clock or Clock())


async def test_purchases_at_once_take_the_cap_and_no_more() -> None:
    holds = FakeCapHolds("m1")
    caps = caps_of(holds)
    bought = [a_purchase(1_000, "m1", f"R{i}", NOW) for i in range(5)]

    results = await asyncio.gather(*(caps.score(VERSION, MemberFacts(), p) for p in bought))

    assert sorted(s.by_rule().get("bonus", 0) for s, _ in results) == [0, 0, 50, 100, 100]
    assert holds.counters[("t1", "m1")] == {"bonus": 250}
    assert sorted(h.points["bonus"] for _, h in results if h) == [50, 100, 100]


async def test_a_retry_uses_its_own_hold_and_refreshes_an_old_one() -> None:
    holds, clock = FakeCapHolds("m1"), Clock()
    caps = caps_of(holds, clock=clock)
    p = a_purchase(1_000, "m1", "R1", NOW)
    first, hold = await caps.score(VERSION, MemberFacts(), p)
    clock.now = NOW + timedelta(minutes=3)
    full = MemberFacts(rule_points_given={"bonus": 250})  # as a read now would say
    again, same = await caps.score(VERSION, full, p)

    assert first.by_rule() == again.by_rule() == {"bonus": 100, "double": 10}
    assert hold is not None
    assert same is not None
    assert (same.hold_id, same.at) == (hold.hold_id, clock.now)
    assert holds.counters[("t1", "m1")] == {"bonus": 100}


async def test_a_hold_the_stored_purchase_was_not_recorded_under_is_freed_at_once() -> None:
    holds = FakeCapHolds("m1")
    caps = caps_of(holds)
    p = a_purchase(1_000, "m1", "R1", NOW)
    _, earlier = await caps.score(VERSION, MemberFacts(), p)
    assert earlier is not None
    await holds.forget("t1", "m1", earlier)  # the purchase was completed: its hold taken over
    _, retry = await caps.score(VERSION, MemberFacts(rule_points_given={"bonus": 100}), p)

    await caps.settle(RecordedPurchase(p, 110, cap_hold=earlier), retry)

    assert holds.counters[("t1", "m1")] == {"bonus": 100}
    assert holds.holds[("t1", "m1")] == {}


async def test_the_reconciler_frees_only_holds_no_purchase_was_recorded_under() -> None:
    holds, purchases, clock = FakeCapHolds("m1"), FakePurchases(), Clock()
    caps = caps_of(holds, purchases, clock)
    ghost, written, recent = (a_purchase(1_000, "m1", r, NOW) for r in ("GHOST", "WRITTEN", "RECENT"))
    _, _ = await caps.score(VERSION, MemberFacts(), ghost)
    _, kept = await caps.score(VERSION, MemberFacts(), written)
    await purchases.add(RecordedPurchase(written, 110, cap_hold=kept))
    clock.now = NOW + timedelta(minutes=2)
    await caps.score(VERSION, MemberFacts(), recent)

    assert await caps.free_abandoned(NOW + rule_caps.GRACE - timedelta(seconds=1)) == 0
    freed = await caps.free_abandoned(NOW + rule_caps.GRACE)

    assert freed == 1
    assert sorted(holds.holds[("t1", "m1")]) == sorted([written.id, recent.id])  # pending: its apply takes it
    assert holds.counters[("t1", "m1")] == {"bonus": 150}  # the recent one got the 50 left
    stored = purchases.stored[("t1", written.id)]
    purchases.stored[("t1", written.id)] = replace(stored, pending=False)
    assert await caps.free_abandoned(NOW + rule_caps.GRACE) == 0
    assert sorted(holds.holds[("t1", "m1")]) == [recent.id]  # applied: dropped, its points kept
    assert holds.counters[("t1", "m1")] == {"bonus": 150}


def test_with_rule_points_replaces_only_the_named_rules() -> None:
    replaced = scored(100).with_rule_points({"bonus": 7}, {"bonus"})
    assert [(s.source.value, s.rule_id, s.points) for s in replaced.shares] == [
        ("base", "", 10),
        ("rule", "bonus", 7),
        ("rule", "double", 10),
    ]
    assert earning.Scored(()).with_rule_points({}, {"x"}).total == 0
