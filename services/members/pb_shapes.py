"""Protobuf shapes of the members domain, shared by the events and the gRPC edge."""

from __future__ import annotations

from regulars.common.v1 import money_pb2
from regulars.members.v1 import members_pb2

from services.members.domain.purchases import RecordedPurchase


def purchase_pb(recorded: RecordedPurchase) -> members_pb2.Purchase:
    p = recorded.purchase
    pb = members_pb2.Purchase(
        id=p.id,
        tenant_id=p.tenant_id,
        member_id=p.member_id,
        store_id=p.store_id,
        receipt_no=p.receipt_no,
        served_by_staff_id=p.served_by_staff_id,
        credited_staff_id=p.credited_staff_id,
        lines=[
            members_pb2.PurchaseLine(
                sku=ln.sku,
                brand=ln.brand,
                category=ln.category,
                quantity=ln.quantity,
                list_price=ln.list_price,
                paid_price=ln.paid_price,
            )
            for ln in p.lines
        ],
        coupon_codes=list(p.coupon_codes),
        total_list=money_pb2.Money(currency=p.currency, minor_units=p.total_list),
        total_paid=money_pb2.Money(currency=p.currency, minor_units=p.total_paid),
        points_awarded=recorded.points_awarded,
        programme_version=recorded.programme_version,
        points_shares=[
            members_pb2.PointsShare(source=s.source, rule_id=s.rule_id, points=s.points)
            for s in recorded.shares
        ],
        payments=[members_pb2.Payment(type=pay.type, amount=pay.amount) for pay in p.payments],
    )
    pb.occurred_at.FromDatetime(p.occurred_at)
    return pb
