"""Points rules: how many are earned, reversed, spent and when they lapse. No I/O here.

The ledger itself (one entry per `entry_source`, balance kept alongside) is stored elsewhere;
these functions only decide the numbers, so every writer of the ledger agrees on them.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import StrEnum

from chassis.errors import FailedPrecondition, InvalidArgument

SOURCE_ID_MAX = 128


class InsufficientPoints(FailedPrecondition):
    """The member does not hold enough points for what was asked (a gift, an adjustment)."""


class EntryReason(StrEnum):
    PURCHASE = "purchase"
    REFUND = "refund"
    SIGN_IN = "sign_in"
    REVIEW = "review"
    SURVEY_ANSWER = "survey_answer"
    SHARE = "share"
    GIFT_REDEMPTION = "gift_redemption"
    MANUAL_ADJUSTMENT = "manual_adjustment"
    EXPIRY = "expiry"


@dataclass(frozen=True)
class PointsPolicy:
    """`points_per_unit` points per full `unit_minor` paid (default 1 per ¥1 = 100 fen)."""

    points_per_unit: int = 1
    unit_minor: int = 100
    birthday_multiplier: int = 2

    def __post_init__(self) -> None:
        if self.points_per_unit < 0:
            raise InvalidArgument("points_per_unit", "points_per_unit must not be negative")
        if self.unit_minor < 1:
            raise InvalidArgument("unit_minor", "unit_minor must be at least 1")
        if self.birthday_multiplier < 1:
            raise InvalidArgument("birthday_multiplier", "birthday_multiplier must be at least 1")


def points_for_purchase(
    policy: PointsPolicy,
    total_paid: int,
    occurred_at: datetime,
    birthday: tuple[int, int] | None,
    *,
    local_tz: tzinfo = UTC,
) -> int:
    """Points earned by a purchase: per full unit paid (floored), times the birthday multiplier.

    The birthday is (month, day) and is compared with the purchase's date in `local_tz`
    (pass the store's zone: 07:00 in Shanghai is still yesterday in UTC). A 29 February
    birthday counts on 28 February in non-leap years, so those members get a day too.
    """
    if total_paid < 0:
        raise ValueError("total_paid must not be negative")
    base = total_paid // policy.unit_minor * policy.points_per_unit
    if birthday is not None and is_birthday(birthday, _aware(occurred_at).astimezone(local_tz)):
        return base * policy.birthday_multiplier
    return base


def is_birthday(birthday: tuple[int, int], on: datetime) -> bool:
    """Whether `on`'s calendar date is the (month, day) birthday; 29 Feb falls on 28 Feb in common years."""
    month, day = birthday
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(2000, month)[1]:
        raise ValueError(f"{birthday!r} is not a calendar day")
    if (month, day) == (2, 29) and not calendar.isleap(on.year):
        day = 28
    return (on.month, on.day) == (month, day)


def points_to_reverse(
    points_awarded: int,
    purchase_paid: int,
    refund_amount: int,
    *,
    already_refunded: int = 0,
    already_reversed: int = 0,
) -> int:
    """Points to take back for a refund, proportional to the money refunded.

    Computed on the running total: after this refund, floor(awarded * refunded / paid) points
    have been reversed in all. So partial refunds never reverse more than their share, and
    the refund that completes the purchase reverses exactly the remainder, whatever the order
    and size of the earlier ones. `already_*` are the totals of earlier refunds.
    """
    if min(points_awarded, purchase_paid, refund_amount, already_refunded, already_reversed) < 0:
        raise ValueError("amounts must not be negative")
    refunded = already_refunded + refund_amount
    if refunded > purchase_paid:
        raise ValueError("cannot refund more than was paid")
    if purchase_paid == 0:
        return 0
    target = points_awarded * refunded // purchase_paid
    return max(0, min(target, points_awarded) - already_reversed)


def expires_at(earned_at: datetime) -> datetime:
    """When points lapse: the first instant of 1 January two years after they were earned (UTC).

    So points earned at any time in 2026 are good through 31 December 2027. The instant is
    exclusive: points are expired when `now >= expires_at(earned_at)`.
    """
    return datetime(_aware(earned_at).astimezone(UTC).year + 2, 1, 1, tzinfo=UTC)


def entry_source(reason: EntryReason | str, source_id: str) -> str:
    """The unique key of a ledger entry, e.g. "purchase:<purchase id>", so nothing counts twice.

    `source_id` names what caused it: the purchase, refund, review or gift-order id; for
    sign-ins the day; for expiry the year lapsing; for manual adjustments the request id.
    """
    reason = EntryReason(reason)
    source_id = source_id.strip()
    if not source_id:
        raise ValueError("source_id is required")
    if len(source_id) > SOURCE_ID_MAX:
        raise ValueError(f"source_id is longer than {SOURCE_ID_MAX} characters")
    return f"{reason.value}:{source_id}"


def apply_delta(balance: int, delta: int) -> int:
    """The balance after a ledger entry; refuses one that would leave it below zero."""
    after = balance + delta
    if after < 0:
        raise InsufficientPoints(f"not enough points: the balance is {balance}, {-delta} are needed")
    return after


@dataclass(frozen=True)
class Adjustment:
    """Points moved on a member outside a purchase (a sign-in, a gift, an expiry): the ledger
    entry it makes, with the balance after it (announced by points_changed)."""

    delta: int
    balance: int
    reason: EntryReason
    source: str
    at: datetime


def adjusted(balance: int, delta: int, reason: EntryReason, source: str, at: datetime) -> Adjustment:
    """`delta` moved on a member holding `balance`; refuses a debit the balance cannot cover."""
    return Adjustment(delta, apply_delta(balance, delta), reason, source, at)


def expiry_source(now: datetime) -> str:
    """The yearly expiry's ledger source, keyed by the day: a second run expires nothing more."""
    return entry_source(EntryReason.EXPIRY, f"{now:%Y-%m-%d}")


@dataclass(frozen=True)
class PointsShare:
    """One reason a purchase earned points: "base", "birthday" or "rule" (with the rule's id)."""

    source: str
    rule_id: str
    points: int


@dataclass(frozen=True)
class LedgerEntry:
    id: str
    delta: int
    reason: str
    source: str
    at: datetime
    shares: tuple[PointsShare, ...] = ()  # a purchase's: why it earned what it did


@dataclass(frozen=True)
class Statement:
    """A member's points as shown to them: the balance, the tier, the latest entries."""

    balance: int
    tier: str  # "" for a member not yet placed on the ladder
    entries: tuple[LedgerEntry, ...]


def expiring_amount(
    entries: Sequence[tuple[datetime, int]],
    balance: int,
    now: datetime,
    *,
    expiry: Callable[[datetime], datetime] | None = None,
) -> int:
    """Points to expire at `now`: what is left unspent of entries whose expiry has passed.

    `entries` are the member's ledger as (earned_at, delta). Every negative entry (a spend, a
    reversal, an earlier expiry) consumes the oldest earned points first (FIFO), so the
    unspent points are the newest ones; with a ledger that never went negative this is the
    same as replaying the entries in time order. Earlier expiry entries therefore make a
    second run expire nothing more. Capped at `balance` so it never takes more than is held.
    `expiry` maps an earning instant to its lapse instant (default `expires_at`; a tenant's
    programme passes `lambda t: programme.expires_at(p, t)`).
    """
    now = _aware(now)
    lapse = expiry or expires_at
    spent = -sum(delta for _, delta in entries if delta < 0)
    due = 0
    for earned_at, delta in sorted((e for e in entries if e[1] > 0), key=lambda e: e[0]):
        used = min(spent, delta)
        spent -= used
        if lapse(earned_at) <= now:
            due += delta - used
    return max(0, min(due, balance))


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware")
    return value
