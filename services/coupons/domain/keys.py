"""Where a coupon stands in its template's limits, and the keys budget charges are kept under.

No I/O. A coupon carries its places in the limits itself: a stock number (1..stock), a
member slot (1..per-member limit) and a period slot (`<period>:<k>`). The store keeps each of
them unique within the template (and the member), so the one insert that writes the coupon
also takes its stock and its place in the member's limits — all of them or none, whatever
stops the claim. A coupon outside a limit (no stock set, a friend's copy of a shared coupon)
or whose member slot a refund gave back holds a value of its own instead (`none:`/`freed:`
followed by its id), which can never collide.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Places:
    """A coupon's places in its template's limits, as stored (unique per template)."""

    stock_no: int | str
    member_slot: int | str
    period_slot: str


Held = tuple[Sequence[int | str], Sequence[str]]
"""The member slots and period places a member's coupons of one template hold."""

NOTHING_HELD: Held = ((), ())


def holds_any(held: Held, places: Places) -> bool:
    """Whether the member already holds the member slot or the period place of `places`."""
    slots, periods = held
    return places.member_slot in slots or places.period_slot in periods


def outside(coupon_id: str) -> str:
    """The place of a coupon that a limit does not count."""
    return f"none:{coupon_id}"


def given_back(coupon_id: str) -> str:
    """The member slot of a coupon whose refund gave the member's place back."""
    return f"freed:{coupon_id}"


def unlimited(coupon_id: str) -> Places:
    """A coupon no limit counts (a friend's copy of a shared coupon)."""
    return Places(outside(coupon_id), outside(coupon_id), outside(coupon_id))


def first_free(held: Iterable[int | str], limit: int) -> int | None:
    """The lowest of 1..limit not held, or None when the member holds all of them."""
    taken = {k for k in held if isinstance(k, int)}
    return next((k for k in range(1, limit + 1) if k not in taken), None)


def period_place(period: str, k: int) -> str:
    return f"{period}:{k}"


def period_places_held(held: Iterable[str], period: str) -> list[int]:
    """The slots of `period` among a member's stored period places."""
    prefix = f"{period}:"
    return [int(p[len(prefix) :]) for p in held if p.startswith(prefix) and p[len(prefix) :].isdigit()]


def budget_key(coupon_id: str, receipt_no: str) -> str:
    """A field-name-safe key of one redemption (receipt numbers may hold dots)."""
    return f"{coupon_id}_{hashlib.sha256(receipt_no.encode()).hexdigest()[:16]}"
