import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chassis.errors import FailedPrecondition, InvalidArgument
from services.members.domain.points import (
    EntryReason,
    InsufficientPoints,
    PointsPolicy,
    apply_delta,
    entry_source,
    expires_at,
    expiring_amount,
    points_for_purchase,
    points_to_reverse,
)

POLICY = PointsPolicy()


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def test_points_are_one_per_full_yuan_paid_rounded_down() -> None:
    assert points_for_purchase(POLICY, 12_399, at(2026, 3, 5), None) == 123
    assert points_for_purchase(POLICY, 99, at(2026, 3, 5), None) == 0
    assert (
        points_for_purchase(PointsPolicy(points_per_unit=3, unit_minor=1_000), 2_999, at(2026, 3, 5), None)
        == 6
    )


def test_points_double_on_the_birthday() -> None:
    assert points_for_purchase(POLICY, 10_000, at(2026, 3, 5), (3, 5)) == 200
    assert points_for_purchase(POLICY, 10_000, at(2026, 3, 6), (3, 5)) == 100


def test_a_29_february_birthday_counts_on_28_february_in_a_non_leap_year() -> None:
    assert points_for_purchase(POLICY, 10_000, at(2026, 2, 28), (2, 29)) == 200
    assert points_for_purchase(POLICY, 10_000, at(2026, 3, 1), (2, 29)) == 100


def test_a_29_february_birthday_counts_only_on_29_february_in_a_leap_year() -> None:
    assert points_for_purchase(POLICY, 10_000, at(2028, 2, 29), (2, 29)) == 200
    assert points_for_purchase(POLICY, 10_000, at(2028, 2, 28), (2, 29)) == 100


def test_the_birthday_is_the_local_date_at_the_store() -> None:
    early_morning_in_shanghai = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)  # 07:30 on 5 March there
    shanghai = ZoneInfo("Asia/Shanghai")
    assert points_for_purchase(POLICY, 10_000, early_morning_in_shanghai, (3, 5), local_tz=shanghai) == 200
    assert points_for_purchase(POLICY, 10_000, early_morning_in_shanghai, (3, 5)) == 100


def test_an_impossible_birthday_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="calendar day"):
        points_for_purchase(POLICY, 10_000, at(2026, 3, 5), (2, 30))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"unit_minor": 0}, "unit_minor"),
        ({"points_per_unit": -1}, "points_per_unit"),
        ({"birthday_multiplier": 0}, "birthday_multiplier"),
    ],
)
def test_a_nonsensical_policy_is_rejected_naming_the_field(overrides: dict[str, int], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        PointsPolicy(**overrides)
    assert err.value.field == field


def test_a_full_refund_reverses_exactly_what_was_awarded() -> None:
    assert points_to_reverse(123, 12_399, 12_399) == 123


def test_a_partial_refund_reverses_its_share_rounded_down() -> None:
    assert points_to_reverse(100, 10_000, 3_333) == 33


def test_the_refund_completing_the_purchase_reverses_the_remainder() -> None:
    first = points_to_reverse(100, 9_999, 3_333)
    second = points_to_reverse(100, 9_999, 3_333, already_refunded=3_333, already_reversed=first)
    third = points_to_reverse(100, 9_999, 3_333, already_refunded=6_666, already_reversed=first + second)
    assert (first, second, third) == (33, 33, 34)


def test_reversals_over_random_partial_refunds_never_exceed_and_end_exact() -> None:
    rng = random.Random(20260305)
    for _ in range(500):
        paid = rng.randint(1, 1_000_000)
        awarded = rng.randint(0, paid // 50 + 5)
        refunded = reversed_ = 0
        while refunded < paid:
            amount = rng.randint(1, paid - refunded)
            reversed_ += points_to_reverse(
                awarded, paid, amount, already_refunded=refunded, already_reversed=reversed_
            )
            refunded += amount
            assert reversed_ <= awarded * refunded / paid
        assert reversed_ == awarded


def test_refunding_more_than_was_paid_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="more than was paid"):
        points_to_reverse(10, 1_000, 600, already_refunded=500)


def test_a_free_purchase_reverses_nothing() -> None:
    assert points_to_reverse(0, 0, 0) == 0


def test_points_expire_at_the_end_of_the_year_after_they_were_earned() -> None:
    assert expires_at(at(2026, 3, 5)) == datetime(2028, 1, 1, tzinfo=UTC)
    assert expires_at(datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)) == datetime(
        2028, 1, 1, tzinfo=UTC
    )
    assert expires_at(datetime(2027, 1, 1, tzinfo=UTC)) == datetime(2029, 1, 1, tzinfo=UTC)


def test_entry_sources_are_unique_per_reason_and_source() -> None:
    assert entry_source(EntryReason.PURCHASE, "p1") == "purchase:p1"
    assert entry_source("refund", "p1") == "refund:p1"
    assert entry_source("purchase", "p1") != entry_source("refund", "p1")


def test_an_unknown_reason_or_empty_source_is_refused() -> None:
    with pytest.raises(ValueError, match="EntryReason"):
        entry_source("lottery", "x")
    with pytest.raises(ValueError, match="source_id"):
        entry_source(EntryReason.SIGN_IN, " ")


def test_a_delta_is_applied_to_the_balance() -> None:
    assert apply_delta(100, -100) == 0
    assert apply_delta(0, 50) == 50


def test_a_balance_is_never_allowed_to_go_negative() -> None:
    with pytest.raises(InsufficientPoints) as err:
        apply_delta(100, -101)
    assert isinstance(err.value, FailedPrecondition)
    assert "101" in err.value.message


def test_nothing_expires_before_the_end_of_the_following_year() -> None:
    entries = [(at(2026, 3, 5), 100)]
    assert expiring_amount(entries, 100, datetime(2027, 12, 31, 23, 59, tzinfo=UTC)) == 0
    assert expiring_amount(entries, 100, datetime(2028, 1, 1, tzinfo=UTC)) == 100


def test_spending_consumes_the_oldest_points_first() -> None:
    entries = [
        (at(2026, 3, 5), 100),
        (at(2026, 6, 1), -30),
        (at(2027, 2, 1), 50),
        (at(2027, 3, 1), -40),
    ]
    # 70 spent come out of the 2026 lot, leaving 30 of it to expire; the 2027 lot is intact.
    assert expiring_amount(entries, 80, at(2028, 1, 1)) == 30
    assert expiring_amount(entries, 80, at(2029, 1, 1)) == 80


def test_a_recorded_expiry_is_not_expired_again() -> None:
    entries = [(at(2026, 3, 5), 100), (at(2026, 6, 1), -30), (at(2028, 1, 1), -70), (at(2028, 2, 1), 20)]
    assert expiring_amount(entries, 20, at(2028, 6, 1)) == 0


def test_spending_more_than_the_old_lots_leaves_nothing_to_expire() -> None:
    entries = [(at(2026, 3, 5), 100), (at(2027, 3, 5), 100), (at(2027, 4, 1), -150)]
    assert expiring_amount(entries, 50, at(2028, 1, 1)) == 0
    assert expiring_amount(entries, 50, at(2029, 1, 1)) == 50


def test_expiry_never_takes_more_than_the_balance() -> None:
    assert expiring_amount([(at(2026, 3, 5), 100)], 60, at(2028, 1, 1)) == 60


def test_expiring_amount_ignores_entry_order() -> None:
    entries = [(at(2027, 2, 1), 50), (at(2026, 6, 1), -30), (at(2026, 3, 5), 100)]
    assert expiring_amount(entries, 120, at(2028, 1, 1) + timedelta(days=1)) == 70
