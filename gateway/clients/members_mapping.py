"""Members protobuf <-> the gateway's schemas: members, profiles, the directory, segments, purchases.

Each message is mapped here once, whichever route shows it (a member is shown by the members
route and in segment previews; a purchase line is sent and shown back).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Literal

from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct
from regulars.members.v1 import members_pb2

from gateway.clients.pb_time import moment, optional_moment
from gateway.schemas.directory import HandoverOut, StaffOut, StoreOut
from gateway.schemas.members import BirthdayBody, MemberOut, ReferrerOut
from gateway.schemas.profile import ProfileOut
from gateway.schemas.purchases import (
    PaymentBody,
    PointsEntryOut,
    PointsOut,
    PointsShareOut,
    PurchaseLineBody,
    PurchaseOut,
    RefundLineBody,
    RefundOut,
)
from gateway.schemas.segments import PreviewOut, SegmentCriteria, SegmentOut

ROLES: dict[Literal["assistant", "manager"], members_pb2.StaffRole.ValueType] = {
    "assistant": members_pb2.STAFF_ROLE_ASSISTANT,
    "manager": members_pb2.STAFF_ROLE_MANAGER,
}
_ROLE_NAMES = {v: k for k, v in ROLES.items()}

# --- Members and profiles ----------------------------------------------------------------------


def birthday_pb(b: BirthdayBody) -> members_pb2.Birthday:
    return members_pb2.Birthday(month=b.month, day=b.day, year=b.year or 0)


def birthday_out(b: members_pb2.Birthday) -> BirthdayBody | None:
    """Year 0 means unknown; month 0 means no birthday given."""
    return BirthdayBody(month=b.month, day=b.day, year=b.year or None) if b.month else None


def member_out(m: members_pb2.Member) -> MemberOut:
    return MemberOut(
        id=m.id,
        phone=m.phone,
        name=m.name,
        surname=m.surname,
        home_store_id=m.home_store_id,
        owner_staff_id=m.owner_staff_id or None,
        gender=m.gender or "unknown",
        birthday=birthday_out(m.birthday),
        tags=list(m.tags),
        registered_at=moment(m.registered_at),
        tier=m.tier,
        referred_by=ReferrerOut(kind=m.referred_by_kind, id=m.referred_by_id)  # type: ignore[arg-type]
        if m.referred_by_kind in ("member", "staff")
        else None,
    )


def profile_out(m: members_pb2.Member) -> ProfileOut:
    return ProfileOut(
        id=m.id,
        name=m.name,
        surname=m.surname,
        gender=m.gender or "unknown",
        birthday=birthday_out(m.birthday),
        tags=list(m.tags),
        notes=m.notes,
        preferred_channel=m.preferred_channel,
        consent=dict(m.consent),
        blacklisted=bool(m.blacklist_reason),
    )


def export_data(reply: members_pb2.MemberExport) -> dict[str, object]:
    data: dict[str, object] = json.loads(reply.json)
    return data


# --- The directory -----------------------------------------------------------------------------


def store_out(s: members_pb2.Store) -> StoreOut:
    return StoreOut(code=s.code, name=s.name, city=s.city, created_at=moment(s.created_at))


def staff_out(s: members_pb2.Staff) -> StaffOut:
    return StaffOut(
        id=s.id,
        store_code=s.store_code,
        name=s.name,
        role=_ROLE_NAMES.get(s.role, "assistant"),
        status="left" if s.status == members_pb2.STAFF_STATUS_LEFT else "active",
        referral_codes=list(s.referral_codes),
        successor_id=s.successor_id or None,
    )


def handover_out(h: members_pb2.Handover) -> HandoverOut:
    return HandoverOut(
        id=h.id,
        from_staff_id=h.from_staff_id,
        to_staff_id=h.to_staff_id,
        state="done" if h.state == members_pb2.HANDOVER_STATE_DONE else "running",
        members_moved=h.members_moved,
        requested_by=h.requested_by,
        started_at=moment(h.started_at),
        finished_at=optional_moment(h, "finished_at"),
    )


# --- Segments ----------------------------------------------------------------------------------


def criteria_pb(criteria: SegmentCriteria) -> Struct:
    struct = Struct()
    struct.update(criteria.given())  # type: ignore[arg-type]
    return struct


def segment_out(s: members_pb2.Segment) -> SegmentOut:
    return SegmentOut(
        id=s.id, name=s.name, criteria=json_format.MessageToDict(s.criteria), created_at=moment(s.created_at)
    )


def preview_out(p: members_pb2.SegmentPreview) -> PreviewOut:
    return PreviewOut(count=p.count, sample=[member_out(m) for m in p.sample])


# --- Purchases, refunds and points -------------------------------------------------------------


def purchase_line_pb(line: PurchaseLineBody) -> members_pb2.PurchaseLine:
    return members_pb2.PurchaseLine(**line.model_dump())


def purchase_line_out(line: members_pb2.PurchaseLine) -> PurchaseLineBody:
    return PurchaseLineBody(**{name: getattr(line, name) for name in PurchaseLineBody.model_fields})


def payment_pb(payment: PaymentBody) -> members_pb2.Payment:
    return members_pb2.Payment(type=payment.type, amount=payment.amount)


def payment_out(payment: members_pb2.Payment) -> PaymentBody:
    return PaymentBody(type=payment.type, amount=payment.amount)


def shares_out(shares: Iterable[members_pb2.PointsShare]) -> list[PointsShareOut]:
    """Why points were earned, share by share (a rule's share names the rule)."""
    return [PointsShareOut(source=s.source, rule_id=s.rule_id or None, points=s.points) for s in shares]


def purchase_out(reply: members_pb2.RecordPurchaseResponse) -> PurchaseOut:
    p = reply.purchase
    return PurchaseOut(
        id=p.id,
        member_id=p.member_id,
        store_id=p.store_id,
        receipt_no=p.receipt_no,
        served_by_staff_id=p.served_by_staff_id,
        credited_staff_id=p.credited_staff_id,
        lines=[purchase_line_out(line) for line in p.lines],
        coupon_codes=list(p.coupon_codes),
        currency=p.total_paid.currency,
        total_list=p.total_list.minor_units,
        total_paid=p.total_paid.minor_units,
        points_awarded=p.points_awarded,
        occurred_at=moment(p.occurred_at),
        created=reply.created,
        programme_version=p.programme_version,
        points_shares=shares_out(p.points_shares),
        payments=[payment_out(pay) for pay in p.payments],
    )


def refund_line_pb(line: RefundLineBody) -> members_pb2.RefundLine:
    return members_pb2.RefundLine(**line.model_dump())


def refund_out(reply: members_pb2.RefundPurchaseResponse) -> RefundOut:
    return RefundOut(
        purchase_id=reply.purchase_id,
        refund_id=reply.refund_id,
        lines=[RefundLineBody(sku=ln.sku, quantity=ln.quantity, amount=ln.amount) for ln in reply.lines],
        currency=reply.amount.currency,
        amount=reply.amount.minor_units,
        points_reversed=reply.points_reversed,
        created=reply.created,
    )


def points_out(reply: members_pb2.Points) -> PointsOut:
    return PointsOut(
        member_id=reply.member_id,
        balance=reply.balance,
        tier=reply.tier,
        entries=[
            PointsEntryOut(
                id=e.id,
                delta=e.delta,
                reason=e.reason,
                source=e.source,
                at=moment(e.at),
                shares=shares_out(e.shares),
            )
            for e in reply.entries
        ],
    )
