"""Protobuf shapes of the coupon domain, shared by the events and the gRPC edge."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from regulars.coupons.v1 import coupons_pb2

from services.coupons.domain.coupons import Coupon, CouponState, Redemption
from services.coupons.domain.templates import Benefit, CouponKind, Scope

KIND_TO_PB = {
    CouponKind.AMOUNT_OFF: coupons_pb2.COUPON_KIND_AMOUNT_OFF,
    CouponKind.PERCENT_OFF: coupons_pb2.COUPON_KIND_PERCENT_OFF,
    CouponKind.THRESHOLD: coupons_pb2.COUPON_KIND_THRESHOLD,
    CouponKind.GIFT: coupons_pb2.COUPON_KIND_GIFT,
}
KIND_FROM_PB = {v: k for k, v in KIND_TO_PB.items()}
STATE_TO_PB = {
    CouponState.AVAILABLE: coupons_pb2.COUPON_STATE_AVAILABLE,
    CouponState.LOCKED: coupons_pb2.COUPON_STATE_LOCKED,
    CouponState.REDEEMED: coupons_pb2.COUPON_STATE_REDEEMED,
    CouponState.EXPIRED: coupons_pb2.COUPON_STATE_EXPIRED,
    CouponState.SHARED: coupons_pb2.COUPON_STATE_SHARED,
}
STATE_FROM_PB = {v: k for k, v in STATE_TO_PB.items()}


def ts(value: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


def benefit(b: Benefit) -> coupons_pb2.Benefit:
    return coupons_pb2.Benefit(
        kind=KIND_TO_PB[b.kind],
        amount_off=b.amount_off,
        percent_off=b.percent_off,
        max_discount=b.max_discount,
        threshold=b.threshold,
        repeating=b.repeating,
        gift_sku=b.gift_sku,
        min_spend=b.min_spend,
    )


def scope(s: Scope) -> coupons_pb2.Scope:
    lists: dict[str, Any] = {name: list(getattr(s, name)) for name in s.__dataclass_fields__}
    return coupons_pb2.Scope(**lists)


def redemption(r: Redemption) -> coupons_pb2.Redemption:
    return coupons_pb2.Redemption(
        receipt_no=r.receipt_no,
        store_id=r.store_id,
        staff_id=r.staff_id,
        discount=r.discount,
        receipt_total=r.receipt_total,
        purchase_id=r.purchase_id,
        at=ts(r.at),
    )


def coupon(c: Coupon, now: datetime | None = None) -> coupons_pb2.Coupon:
    """`now` shows the state a person sees (a timed-out lock is available, a lapsed coupon expired)."""
    out = coupons_pb2.Coupon(
        id=c.id,
        tenant_id=c.tenant_id,
        template_id=c.template_id,
        template_version=c.terms.template_version,
        member_id=c.member_id,
        code=coupon_code(c.code),
        name=c.terms.name,
        benefit=benefit(c.terms.benefit),
        scope=scope(c.terms.scope),
        stackable=c.terms.stackable,
        shareable=c.terms.shareable,
        state=STATE_TO_PB[c.state_at(now) if now else c.state],
        valid_from=ts(c.valid_from),
        valid_until=ts(c.valid_until),
        issued_at=ts(c.issued_at),
        source=c.source.value,
        shared_to_coupon_id=c.shared_to,
        shared_from_coupon_id=c.shared_from,
    )
    if c.state is CouponState.LOCKED and c.lock_expires_at and out.state == coupons_pb2.COUPON_STATE_LOCKED:
        out.checkout_id = c.checkout_id
        out.lock_expires_at.CopyFrom(ts(c.lock_expires_at))
    if c.redemption and not c.redemption.refunded_by:
        out.redemption.CopyFrom(redemption(c.redemption))
    return out


def coupon_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))
