from datetime import UTC, datetime, timedelta, timezone

import pytest

from chassis.errors import InvalidArgument
from services.members.domain.tiers import (
    DEFAULT_LADDER,
    Tier,
    TierLadder,
    evaluate,
    month_key,
    tier_change,
    trailing_12m_spend,
    window_months,
)


def test_month_keys_are_utc_year_and_month() -> None:
    assert month_key(datetime(2026, 3, 5, tzinfo=UTC)) == "2026-03"
    shanghai_new_year = datetime(2026, 1, 1, 7, tzinfo=timezone(timedelta(hours=8)))
    assert month_key(shanghai_new_year) == "2025-12"


def test_the_window_is_the_current_month_and_the_eleven_before_it() -> None:
    months = window_months(datetime(2026, 3, 5, tzinfo=UTC))
    assert months[0] == "2026-03"
    assert months[-1] == "2025-04"
    assert len(set(months)) == 12


def test_trailing_spend_counts_exactly_twelve_months() -> None:
    spend = {"2025-03": 1, "2025-04": 10, "2025-12": 100, "2026-03": 1_000, "2026-04": 10_000}
    assert trailing_12m_spend(spend, datetime(2026, 3, 31, 23, 59, tzinfo=UTC)) == 1_110
    assert trailing_12m_spend(spend, datetime(2026, 4, 1, tzinfo=UTC)) == 11_100


def test_trailing_spend_of_a_member_who_never_bought_is_zero() -> None:
    assert trailing_12m_spend({}, datetime(2026, 3, 5, tzinfo=UTC)) == 0


@pytest.mark.parametrize(
    ("spend", "tier"),
    [
        (-500, "normal"),
        (0, "normal"),
        (199_999, "normal"),
        (200_000, "silver"),
        (799_999, "silver"),
        (800_000, "gold"),
        (2_000_000, "diamond"),
        (10**12, "diamond"),
    ],
)
def test_the_tier_is_the_highest_threshold_reached(spend: int, tier: str) -> None:
    assert evaluate(DEFAULT_LADDER, spend) == tier


def test_spending_past_a_threshold_is_an_upgrade() -> None:
    assert tier_change(DEFAULT_LADDER, "silver", 800_000) == "gold"


def test_a_refund_or_the_window_sliding_can_downgrade() -> None:
    assert tier_change(DEFAULT_LADDER, "gold", 799_999) == "silver"
    assert tier_change(DEFAULT_LADDER, "diamond", 0) == "normal"


def test_no_change_is_reported_when_the_tier_holds() -> None:
    assert tier_change(DEFAULT_LADDER, "gold", 900_000) is None


def test_a_tier_no_longer_on_the_ladder_is_replaced() -> None:
    assert tier_change(DEFAULT_LADDER, "platinum", 900_000) == "gold"


@pytest.mark.parametrize(
    ("tiers", "field"),
    [
        ((), "tiers"),
        ((Tier("normal", 100),), "tiers[0].min_trailing_spend"),
        ((Tier("normal", 0), Tier("normal", 100)), "tiers[1].name"),
        ((Tier("normal", 0), Tier(" ", 100)), "tiers[1].name"),
        ((Tier("normal", 0), Tier("gold", 500), Tier("silver", 200)), "tiers[2].min_trailing_spend"),
        ((Tier("normal", 0), Tier("silver", 0)), "tiers[1].min_trailing_spend"),
    ],
)
def test_a_malformed_ladder_is_rejected_naming_the_field(tiers: tuple[Tier, ...], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        TierLadder(tiers)
    assert err.value.field == field


def test_the_default_ladder_is_normal_silver_gold_diamond() -> None:
    assert DEFAULT_LADDER.names == ("normal", "silver", "gold", "diamond")
