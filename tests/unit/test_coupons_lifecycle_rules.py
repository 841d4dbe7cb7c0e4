"""A coupon's own rules: what state a person sees, what may be locked or redeemed, and rules' input."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chassis.errors import FailedPrecondition, InvalidArgument
from services.coupons.domain.coupons import (
    Coupon,
    CouponState,
    Redemption,
    Source,
    check_lockable,
    check_redeemable,
    deterministic_id,
    lock_ttl,
)
from services.coupons.domain.rules import Rule, Trigger
from services.coupons.domain.templates import Benefit, Scope, Terms

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def coupon(**changes: object) -> Coupon:
    terms = Terms(
        template_id="T1",
        template_version=1,
        name="¥20 off",
        benefit=Benefit.parse("amount_off", amount_off=2000),
        scope=Scope.parse(exclude_stores=["bj-09"]),
        stackable=True,
        shareable=False,
    )
    base = Coupon(
        id="C1",
        tenant_id="t",
        member_id="m",
        code="ABCDABCDABCD",
        terms=terms,
        state=CouponState.AVAILABLE,
        valid_from=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=6),
        issued_at=NOW - timedelta(days=1),
        source=Source.CLAIM,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_timed_out_lock_shows_as_available_and_a_lapsed_coupon_as_expired() -> None:
    locked = coupon(state=CouponState.LOCKED, checkout_id="c1", lock_expires_at=NOW - timedelta(seconds=1))
    assert locked.state_at(NOW) is CouponState.AVAILABLE
    assert coupon().state_at(NOW + timedelta(days=6)) is CouponState.EXPIRED
    assert coupon().state_at(NOW + timedelta(days=6) - timedelta(microseconds=1)) is CouponState.AVAILABLE


def test_another_checkout_cannot_lock_or_redeem_a_held_coupon_but_its_own_can() -> None:
    held = coupon(state=CouponState.LOCKED, checkout_id="c1", lock_expires_at=NOW + timedelta(minutes=5))
    with pytest.raises(FailedPrecondition, match="another checkout"):
        check_lockable(held, "c2", "sh-01", NOW)
    with pytest.raises(FailedPrecondition, match="another checkout"):
        check_redeemable(held, "R-1", "c2", "sh-01", NOW)
    assert check_redeemable(held, "R-1", "c1", "sh-01", NOW) is False


def test_the_same_receipt_again_is_a_retry_and_another_receipt_is_refused() -> None:
    spent = coupon(
        state=CouponState.REDEEMED, redemption=Redemption("R-1", "sh-01", "", 2000, 15000, "p1", NOW)
    )
    assert check_redeemable(spent, "R-1", "", "sh-01", NOW) is True
    with pytest.raises(FailedPrecondition, match="already been used"):
        check_redeemable(spent, "R-2", "", "sh-01", NOW)


@pytest.mark.parametrize(
    ("c", "store", "message"),
    [
        (coupon(state=CouponState.SHARED), "sh-01", "someone else"),
        (coupon(valid_from=NOW + timedelta(hours=1)), "sh-01", "not valid yet"),
        (coupon(valid_until=NOW), "sh-01", "expired"),
        (coupon(), "bj-09", "store bj-09"),
    ],
)
def test_a_coupon_that_cannot_be_used_here_and_now_says_why(c: Coupon, store: str, message: str) -> None:
    with pytest.raises(FailedPrecondition, match=message):
        check_lockable(c, "c1", store, NOW)


def test_lock_time_outs_default_to_five_minutes_and_are_bounded() -> None:
    assert lock_ttl(0) == timedelta(minutes=5)
    assert lock_ttl(90) == timedelta(seconds=90)
    for bad in (-1, 3 * 3600):
        with pytest.raises(InvalidArgument) as err:
            lock_ttl(bad)
        assert err.value.field == "ttl_seconds"


def test_an_idempotency_key_always_names_the_same_coupon_and_different_keys_differ() -> None:
    assert deterministic_id("t", "T1", "issue", "k1") == deterministic_id("t", "T1", "issue", "k1")
    assert deterministic_id("t", "T1", "issue", "k1") != deterministic_id("t", "T1", "issue", "k2")
    assert deterministic_id("t", "T1", "issue", "k1") != deterministic_id("u", "T1", "issue", "k1")
    assert len(deterministic_id("x")) == 26


def test_a_scheduled_rule_needs_a_day_and_a_segment_and_others_may_not_have_them() -> None:
    rule = Rule.parse(
        tenant_id="t",
        name="Gold monthly",
        trigger="schedule",
        template_id="T1",
        day_of_month=1,
        segment_id="S1",
    )
    assert (rule.trigger, rule.day_of_month, rule.segment_id) == (Trigger.SCHEDULE, 1, "S1")
    cases = [
        ({"trigger": "schedule", "day_of_month": 29, "segment_id": "S1"}, "rule.day_of_month"),
        ({"trigger": "schedule", "day_of_month": 1}, "rule.segment_id"),
        ({"trigger": "member_registered", "segment_id": "S1"}, "rule.segment_id"),
        ({"trigger": "member_registered", "min_spend": 100}, "rule.conditions.min_spend"),
        ({"trigger": "on_a_whim"}, "rule.trigger"),
    ]
    for extra, field in cases:
        with pytest.raises(InvalidArgument) as err:
            Rule.parse(tenant_id="t", name="r", template_id="T1", **extra)  # type: ignore[arg-type]
        assert err.value.field == field, extra
