"""The events coupons publishes, as protobuf in CloudEvents envelopes (key = member id)."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.message import Message
from regulars.coupons.v1 import events_pb2

from chassis.cloudevents import Envelope, new_event, topic_of
from services.coupons import pb_shapes as pb
from services.coupons.domain.coupons import Coupon

SOURCE = "regulars/coupons"
TOPIC = topic_of(events_pb2.DESCRIPTOR)


def _event(c: Coupon, payload: Message, at: datetime) -> Envelope:
    """The coupon's event (its type is the payload's), keyed by its member."""
    return new_event(source=SOURCE, tenant_id=c.tenant_id, subject=c.member_id, payload=payload, time=at)


def coupon_issued(c: Coupon) -> Envelope:
    return _event(c, events_pb2.CouponIssued(coupon=pb.coupon(c), source_ref=c.source_ref), c.issued_at)


def coupon_redeemed(c: Coupon) -> Envelope:
    assert c.redemption is not None
    payload = events_pb2.CouponRedeemed(
        coupon_id=c.id,
        tenant_id=c.tenant_id,
        member_id=c.member_id,
        template_id=c.template_id,
        redemption=pb.redemption(c.redemption),
    )
    return _event(c, payload, c.redemption.at)


def coupon_released(c: Coupon, at: datetime, refund_id: str = "") -> Envelope:
    payload = events_pb2.CouponReleased(
        coupon_id=c.id,
        tenant_id=c.tenant_id,
        member_id=c.member_id,
        template_id=c.template_id,
        restored_by_refund_id=refund_id,
        at=pb.ts(at),
    )
    return _event(c, payload, at)


def coupon_expiring(c: Coupon, days_left: int, at: datetime) -> Envelope:
    payload = events_pb2.CouponExpiring(
        coupon_id=c.id,
        tenant_id=c.tenant_id,
        member_id=c.member_id,
        name=c.terms.name,
        valid_until=pb.ts(c.valid_until),
        days_left=days_left,
    )
    return _event(c, payload, at)


def coupon_expired(c: Coupon, at: datetime) -> Envelope:
    payload = events_pb2.CouponExpired(
        coupon_id=c.id, tenant_id=c.tenant_id, member_id=c.member_id, template_id=c.template_id, at=pb.ts(at)
    )
    return _event(c, payload, at)
