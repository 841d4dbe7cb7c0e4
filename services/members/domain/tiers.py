"""Membership tiers from trailing spend (12 months by default). No I/O here.

Spend is kept per calendar month ("YYYY-MM") of the tenant's zone (a purchase at 17:30 UTC on
31 May is June spend in Shanghai) so the window can slide without replaying purchases; a refund
lowers the month its purchase was counted in. Months stored before tenants' zones were used
are UTC months and stay as they are: only which month a new purchase goes to, and which month
is "now" for the window, follow the zone. Tiers are re-evaluated on
every purchase, every refund and nightly, so they go down as well as up (unless the ladder
says they may not, or a grace period is still running: `judge_tier`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from chassis.errors import InvalidArgument

WINDOW_MONTHS = 12
MIN_WINDOW_MONTHS = 1
MAX_WINDOW_MONTHS = 36
MAX_TIERS = 20
TIER_NAME_MAX = 32
MAX_GRACE_DAYS = 366
MAX_SPEND = 2**63 - 1  # spend is stored as a 64-bit integer


@dataclass(frozen=True)
class Tier:
    name: str
    min_trailing_spend: int  # minor units


@dataclass(frozen=True)
class TierLadder:
    """Tiers from lowest to highest; validated so every spend maps to exactly one tier.

    `window_months` is the trailing spend window (the current month and the ones before it),
    `may_go_down` whether a member loses a tier when the spend falls below it, `grace_days`
    how long after first falling below a downgrade waits (0: at once). Field names in errors
    are relative to the ladder ("tiers[1].min_trailing_spend").
    """

    tiers: tuple[Tier, ...]
    window_months: int = WINDOW_MONTHS
    may_go_down: bool = True
    grace_days: int = 0

    def __post_init__(self) -> None:
        if not self.tiers:
            raise InvalidArgument("tiers", "a ladder needs at least one tier")
        if len(self.tiers) > MAX_TIERS:
            raise InvalidArgument("tiers", f"a ladder has at most {MAX_TIERS} tiers")
        seen: set[str] = set()
        for i, tier in enumerate(self.tiers):
            if not tier.name.strip():
                raise InvalidArgument(f"tiers[{i}].name", "a tier needs a name")
            if len(tier.name) > TIER_NAME_MAX:
                raise InvalidArgument(
                    f"tiers[{i}].name", f"a tier name has at most {TIER_NAME_MAX} characters"
                )
            if tier.name in seen:
                raise InvalidArgument(f"tiers[{i}].name", f"tier {tier.name!r} appears twice")
            seen.add(tier.name)
            field = f"tiers[{i}].min_trailing_spend"
            if tier.min_trailing_spend > MAX_SPEND:
                raise InvalidArgument(field, f"a threshold is at most {MAX_SPEND}")
            if i == 0 and tier.min_trailing_spend != 0:
                raise InvalidArgument(field, "the first tier must start at 0 so every member has one")
            if i > 0 and tier.min_trailing_spend <= self.tiers[i - 1].min_trailing_spend:
                raise InvalidArgument(field, "thresholds must go strictly up")
        if not MIN_WINDOW_MONTHS <= self.window_months <= MAX_WINDOW_MONTHS:
            raise InvalidArgument(
                "window_months", f"window_months must be between {MIN_WINDOW_MONTHS} and {MAX_WINDOW_MONTHS}"
            )
        if not 0 <= self.grace_days <= MAX_GRACE_DAYS:
            raise InvalidArgument("grace_days", f"grace_days must be between 0 and {MAX_GRACE_DAYS}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(tier.name for tier in self.tiers)

    def rank(self, name: str) -> int | None:
        """The tier's position on the ladder (0 = lowest), None for a name not on it."""
        try:
            return self.names.index(name)
        except ValueError:
            return None


DEFAULT_LADDER = TierLadder(
    (
        Tier("normal", 0),
        Tier("silver", 200_000),  # ¥2,000
        Tier("gold", 800_000),  # ¥8,000
        Tier("diamond", 2_000_000),  # ¥20,000
    )
)


def month_key(dt: datetime, zone: tzinfo = UTC) -> str:
    """The "YYYY-MM" bucket of an instant, in `zone` (the tenant's)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("dt must be timezone-aware")
    dt = dt.astimezone(zone)
    return f"{dt.year:04d}-{dt.month:02d}"


def window_months(now: datetime, months: int = WINDOW_MONTHS, zone: tzinfo = UTC) -> tuple[str, ...]:
    """The month keys of the trailing window, newest first: the current month (in `zone`) and
    the `months - 1` before it (by default the 11 before it)."""
    if months < 1:
        raise ValueError("months must be at least 1")
    key = month_key(now, zone)
    year, month = int(key[:4]), int(key[5:])
    out: list[str] = []
    for back in range(months):
        y, m = divmod(year * 12 + month - 1 - back, 12)
        out.append(f"{y:04d}-{m + 1:02d}")
    return tuple(out)


def trailing_12m_spend(spend_by_month: dict[str, int], now: datetime) -> int:
    """Spend of the current month and the 11 before it; older months no longer count."""
    return sum(spend_by_month.get(key, 0) for key in window_months(now))


def trailing_spend(
    spend_by_month: Mapping[str, int], now: datetime, months: int = WINDOW_MONTHS, zone: tzinfo = UTC
) -> int:
    """Spend of the trailing window of `months` months ending with `now`'s month in `zone`."""
    return sum(spend_by_month.get(key, 0) for key in window_months(now, months, zone))


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


@dataclass(frozen=True)
class TierDecision:
    """A member's tier after `judge_tier`, with the state to store alongside it.

    `downgrade_due_at` is set while a downgrade waits out the ladder's grace period: store it
    with the member and pass it back next time. `qualified` is the tier the spend reaches now.
    """

    tier: str
    downgrade_due_at: datetime | None
    changed: bool
    qualified: str


def judge_tier(
    ladder: TierLadder,
    current: str,
    trailing_spend: int,
    now: datetime,
    downgrade_due_at: datetime | None = None,
) -> TierDecision:
    """The one rule a purchase, a refund, a merge and the nightly review decide a tier by.

    - A member not on the ladder (`current` "" or a tier the ladder no longer has) takes the
      tier the spend qualifies for at once.
    - Qualifying for the current tier or a higher one: that tier at once; a pending downgrade
      is cancelled.
    - Qualifying for a lower one: nothing when the ladder's tiers may not go down; at once
      with no grace period; otherwise the first such judgement sets `downgrade_due_at` to
      `now + grace_days` and keeps the tier, and the first judgement at or after that instant
      still below moves the member to the tier qualified for *then* (which may be lower or
      higher than when the grace began). Spend that recovers in between cancels it.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    qualified = evaluate(ladder, trailing_spend)
    have = ladder.rank(current)
    if have is None or ladder.names.index(qualified) >= have:
        return TierDecision(qualified, None, qualified != current, qualified)
    if not ladder.may_go_down:
        return TierDecision(current, None, False, qualified)
    if ladder.grace_days == 0 or (downgrade_due_at is not None and now >= downgrade_due_at):
        return TierDecision(qualified, None, True, qualified)
    if downgrade_due_at is None:
        downgrade_due_at = now.astimezone(UTC) + timedelta(days=ladder.grace_days)
    return TierDecision(current, downgrade_due_at, False, qualified)
