"""A coupon a member holds, and what may happen to it. No I/O.

A coupon copies its template's terms and its own validity window at issue. Its life:
available → locked (one checkout, until a time-out) → redeemed; locked → available (released
or timed out); redeemed → available again when the purchase is refunded (unless its template
says coupons stay spent); available → expired; available → shared (a friend holds a new one).
The store applies these rules with conditional updates, so two tills cannot both win.
"""

from __future__ import annotations

import hashlib
from base64 import b32encode
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from chassis.errors import FailedPrecondition, InvalidArgument
from services.coupons.domain.budget import GiveBack
from services.coupons.domain.templates import Terms

LOCK_DEFAULT = timedelta(minutes=5)
LOCK_MAX = timedelta(hours=2)
RECEIPT_MAX = 64


class CouponState(StrEnum):
    AVAILABLE = "available"
    LOCKED = "locked"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    SHARED = "shared"


class Source(StrEnum):
    CLAIM = "claim"
    ISSUE = "issue"
    JOB = "job"
    RULE = "rule"
    SHARE = "share"
    COMPENSATION = "compensation"


class Outcome(StrEnum):
    """How a request for a coupon ended: only ISSUED gives one; the rest are answers, not errors."""

    ISSUED = "issued"
    SOLD_OUT = "sold_out"
    LIMIT_REACHED = "limit_reached"
    NOT_ELIGIBLE = "not_eligible"
    NOT_AVAILABLE = "not_available"


@dataclass(frozen=True)
class Redemption:
    receipt_no: str
    store_id: str
    staff_id: str
    discount: int
    receipt_total: int
    purchase_id: str
    at: datetime
    refunded_by: str = ""  # the refund that undid it (the coupon may be usable again)
    budget_charged: int = 0  # what it cost its template's budget (0: no budget, or an older record)
    budget_charge_id: str = ""  # the template's charge this redemption took over (domain/budget.py)


@dataclass(frozen=True)
class Coupon:
    id: str
    tenant_id: str
    member_id: str
    code: str
    terms: Terms
    state: CouponState
    valid_from: datetime
    valid_until: datetime
    issued_at: datetime
    source: Source
    source_ref: str = ""
    checkout_id: str = ""
    lock_expires_at: datetime | None = None
    redemption: Redemption | None = None
    shared_to: str = ""
    shared_from: str = ""
    budget_to_return: GiveBack | None = None  # a refund's give-back not yet paid to the template
    budget_returned_at: datetime | None = None  # when the latest give-back was paid

    @property
    def template_id(self) -> str:
        return self.terms.template_id

    def state_at(self, now: datetime) -> CouponState:
        """The state as a person sees it now: a timed-out lock is free, a lapsed coupon expired."""
        state = self.state
        if state is CouponState.LOCKED and self.lock_expires_at is not None and self.lock_expires_at <= now:
            state = CouponState.AVAILABLE
        if state is CouponState.AVAILABLE and now >= self.valid_until:
            return CouponState.EXPIRED
        return state


def stored_instant(at: datetime) -> datetime:
    """`at` to the millisecond, as MongoDB keeps it: a coupon reads back as it was answered."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def deterministic_id(*parts: str) -> str:
    """A 26-character id derived from an idempotency key: the same key always names one coupon.

    The coupon's unique `_id` then makes an issue that is retried, replayed or restarted
    create it once.
    """
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return b32encode(digest).decode()[:26]


def lock_ttl(seconds: int) -> timedelta:
    if seconds < 0:
        raise InvalidArgument("ttl_seconds", "ttl_seconds must not be negative")
    ttl = timedelta(seconds=seconds) if seconds else LOCK_DEFAULT
    if ttl > LOCK_MAX:
        raise InvalidArgument("ttl_seconds", f"a lock lasts at most {int(LOCK_MAX.total_seconds())} seconds")
    return ttl


def check_lockable(coupon: Coupon, checkout_id: str, store_id: str, now: datetime) -> None:
    """Refuse a lock the coupon cannot take: spent, expired, not yet valid, held elsewhere, wrong store."""
    state = coupon.state_at(now)
    if state is CouponState.LOCKED and coupon.checkout_id != checkout_id:
        raise FailedPrecondition("the coupon is held by another checkout")
    _check_usable(coupon, state, now)
    if store_id and not coupon.terms.scope.store_applies(store_id):
        raise FailedPrecondition(f"the coupon cannot be used in store {store_id}")


def check_redeemable(coupon: Coupon, receipt_no: str, checkout_id: str, store_id: str, now: datetime) -> bool:
    """True when this receipt already redeemed it (a retry: answer the same); raise when it can't be."""
    if coupon.state is CouponState.REDEEMED and coupon.redemption is not None:
        if coupon.redemption.receipt_no == receipt_no and coupon.redemption.store_id == store_id:
            return True
        raise FailedPrecondition("the coupon has already been used")
    state = coupon.state_at(now)
    if state is CouponState.LOCKED and coupon.checkout_id != checkout_id:
        raise FailedPrecondition("the coupon is held by another checkout")
    _check_usable(coupon, state, now)
    if not coupon.terms.scope.store_applies(store_id):
        raise FailedPrecondition(f"the coupon cannot be used in store {store_id}")
    return False


def _check_usable(coupon: Coupon, state: CouponState, now: datetime) -> None:
    if state is CouponState.REDEEMED:
        raise FailedPrecondition("the coupon has already been used")
    if state is CouponState.EXPIRED:
        raise FailedPrecondition("the coupon has expired")
    if state is CouponState.SHARED:
        raise FailedPrecondition("the coupon was given to someone else")
    if now < coupon.valid_from:
        raise FailedPrecondition("the coupon is not valid yet")


def receipt(field: str, value: str, *, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise InvalidArgument(field, f"{field} is required")
    if len(value) > RECEIPT_MAX:
        raise InvalidArgument(field, f"{field} is longer than {RECEIPT_MAX} characters")
    return value
