"""Membership tiers from trailing-12-month spend. No I/O here.

Spend is kept per calendar month (UTC, "YYYY-MM") so the window can slide without replaying
purchases; a refund lowers the month of the purchase it refunds. Tiers are re-evaluated on
every purchase, every refund and nightly, so they go down as well as up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from chassis.errors import InvalidArgument

WINDOW_MONTHS = 12


@dataclass(frozen=True)
class Tier:
    name: str
    min_trailing_spend: int  # minor units


@dataclass(frozen=True)
class TierLadder:
    """Tiers from lowest to highest; validated so every spend maps to exactly one tier."""

    tiers: tuple[Tier, ...]

    def __post_init__(self) -> None:
        if not self.tiers:
            raise InvalidArgument("tiers", "a ladder needs at least one tier")
        seen: set[str] = set()
        for i, tier in enumerate(self.tiers):
            if not tier.name.strip():
                raise InvalidArgument(f"tiers[{i}].name", "a tier needs a name")
            if tier.name in seen:
                raise InvalidArgument(f"tiers[{i}].name", f"tier {tier.name!r} appears twice")
            seen.add(tier.name)
            field = f"tiers[{i}].min_trailing_spend"
            if i == 0 and tier.min_trailing_spend != 0:
                raise InvalidArgument(field, "the first tier must start at 0 so every member has one")
            if i > 0 and tier.min_trailing_spend <= self.tiers[i - 1].min_trailing_spend:
                raise InvalidArgument(field, "thresholds must go strictly up")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(tier.name for tier in self.tiers)


DEFAULT_LADDER = TierLadder(
    (
        Tier("normal", 0),
        Tier("silver", 200_000),  # ¥2,000
        Tier("gold", 800_000),  # ¥8,000
        Tier("diamond", 2_000_000),  # ¥20,000
    )
)


def month_key(dt: datetime) -> str:
    """The "YYYY-MM" bucket of an instant, in UTC."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("dt must be timezone-aware")
    dt = dt.astimezone(UTC)
    return f"{dt.year:04d}-{dt.month:02d}"


def window_months(now: datetime) -> tuple[str, ...]:
    """The month keys of the trailing window: the current month and the 11 before it, newest first."""
    key = month_key(now)
    year, month = int(key[:4]), int(key[5:])
    out: list[str] = []
    for back in range(WINDOW_MONTHS):
        y, m = divmod(year * 12 + month - 1 - back, 12)
        out.append(f"{y:04d}-{m + 1:02d}")
    return tuple(out)


def trailing_12m_spend(spend_by_month: dict[str, int], now: datetime) -> int:
    """Spend of the current month and the 11 before it; older months no longer count."""
    return sum(spend_by_month.get(key, 0) for key in window_months(now))


def evaluate(ladder: TierLadder, trailing_spend: int) -> str:
    """The highest tier whose threshold the spend reaches (the first tier for zero or less)."""
    name = ladder.tiers[0].name
    for tier in ladder.tiers:
        if trailing_spend >= tier.min_trailing_spend:
            name = tier.name
    return name


def tier_change(ladder: TierLadder, current: str, trailing_spend: int) -> str | None:
    """The member's new tier when it differs from `current` (up or down), else None."""
    new = evaluate(ladder, trailing_spend)
    return None if new == current else new
