"""Which message earned a purchase or a claimed coupon: the attribution rule. No I/O.

A conversion at `at` goes to the member's care or marketing message (never a transactional
one: a receipt earns nothing) whose first click (or inbox read) fell within the tenant's
window before `at`, the latest such; failing that, to the latest one sent (state sent or
delivered) within the window; failing that, to none. Both edges are in the window:
[at - window, at]. The first click is used because it never changes, so a conversion handled
late, or redelivered, is judged as it would have been on time. The conversion is stored once
per (tenant, kind, ref): whatever is redelivered, it counts once, for one message.

Revenue is in minor units of the purchase's currency. A chain sells in one currency, so a sum
has one; should several ever meet in a sum, it reports the currency of the largest amount
(its code breaks a tie) and leaves the others out rather than adding yuan to dollars.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from chassis.errors import InvalidArgument
from services.messaging.domain.channels import MessageClass

REF_MAX = 128
SENT_STATES = frozenset({"sent", "delivered"})


class Kind(StrEnum):
    PURCHASE = "purchase"
    COUPON = "coupon"


class Via(StrEnum):
    CLICK = "click"
    SENT = "sent"


@dataclass(frozen=True)
class Candidate:
    """A message of the member that might have earned the conversion, as attribution sees it."""

    message_id: str
    template_id: str
    channel: str
    staff_id: str
    store_id: str
    message_class: str
    created_at: datetime
    state: str = ""  # "" when read from a click (a clicked message went out)
    sent_at: datetime | None = None
    clicked_at: datetime | None = None  # the first click or inbox read


@dataclass(frozen=True)
class Conversion:
    tenant_id: str
    member_id: str
    kind: Kind
    ref: str  # the purchase id or the coupon id
    at: datetime
    message: Candidate
    via: Via
    revenue_minor: int = 0
    currency: str = ""

    @property
    def id(self) -> str:
        return conversion_id(self.tenant_id, self.kind, self.ref)


def conversion_id(tenant_id: str, kind: Kind, ref: str) -> str:
    return f"{tenant_id}:{kind.value}:{ref}"


def checked_ref(field: str, ref: str) -> str:
    ref = ref.strip()
    if not ref or len(ref) > REF_MAX or any(ord(ch) < 32 for ch in ref):
        raise InvalidArgument(field, f"{field} must be 1 to {REF_MAX} printable characters")
    return ref


def checked_money(amount_minor: int, currency: str) -> tuple[int, str]:
    currency = currency.strip().upper()
    if amount_minor < 0:
        raise InvalidArgument("amount_minor", "a purchase's amount cannot be negative")
    if len(currency) != 3 or not (currency.isascii() and currency.isalpha()):
        raise InvalidArgument("currency", "currency must be a 3-letter ISO 4217 code such as CNY")
    return amount_minor, currency


def _counts(c: Candidate) -> bool:
    return c.message_class != MessageClass.TRANSACTIONAL.value


def choose(candidates: Iterable[Candidate], at: datetime, window: timedelta) -> tuple[Candidate, Via] | None:
    """The message the conversion at `at` is attributed to, and why; None when none is in the window."""
    start = at - window
    eligible = [c for c in candidates if _counts(c)]
    clicked = [c for c in eligible if c.clicked_at is not None and start <= c.clicked_at <= at]
    if clicked:
        return max(clicked, key=lambda c: (c.clicked_at, c.message_id)), Via.CLICK
    sent = [
        c for c in eligible if c.state in SENT_STATES and c.sent_at is not None and start <= c.sent_at <= at
    ]
    if sent:
        return max(sent, key=lambda c: (c.sent_at, c.message_id)), Via.SENT
    return None


def one_currency(amounts: Mapping[str, int]) -> tuple[int, str]:
    """(amount, currency) of a sum kept per currency: see the module's note; (0, "") for none."""
    held = {c: a for c, a in amounts.items() if c}
    if not held:
        return 0, ""
    currency = max(held, key=lambda c: (held[c], c))
    return held[currency], currency


def staff_revenue(groups: Iterable[tuple[str, str, int, int]]) -> dict[str, tuple[int, int, str]]:
    """Per assistant: (conversions, revenue, currency) from (staff, currency, count, revenue)
    groups. Messages that speak for no assistant (staff "") are nobody's."""
    counts: dict[str, int] = defaultdict(int)
    revenue: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for staff_id, currency, count, amount in groups:
        if not staff_id:
            continue
        counts[staff_id] += count
        revenue[staff_id][currency] += amount
    return {s: (counts[s], *one_currency(revenue[s])) for s in sorted(counts)}
