"""Domain objects -> protobuf messages of regulars.members.v1."""

from __future__ import annotations

from collections.abc import Iterable

from regulars.members.v1 import members_pb2

from services.members.domain.directory import Handover, Role, Staff, StaffStatus, Store
from services.members.domain.model import Activity, Member
from services.members.domain.points import Statement
from services.members.domain.purchases import Line, Payment
from services.members.service.ports import SavedSegment

ROLE_TO_PB = {Role.ASSISTANT: members_pb2.STAFF_ROLE_ASSISTANT, Role.MANAGER: members_pb2.STAFF_ROLE_MANAGER}
ROLE_FROM_PB = {v: k for k, v in ROLE_TO_PB.items()}
STATUS_TO_PB = {
    StaffStatus.ACTIVE: members_pb2.STAFF_STATUS_ACTIVE,
    StaffStatus.LEFT: members_pb2.STAFF_STATUS_LEFT,
}


def member(m: Member) -> members_pb2.Member:
    pb = members_pb2.Member(
        id=m.id,
        tenant_id=m.tenant_id,
        phone=m.phone,
        name=m.name,
        surname=m.surname,
        home_store_id=m.home_store_id,
        owner_staff_id=m.owner_staff_id,
        gender=m.profile.gender,
        tags=list(m.profile.tags),
        consent=m.consent,
        preferred_channel=m.preferred_channel,
        blacklist_reason=m.blacklist_reason,
        notes=m.profile.notes,
        referred_by_kind=m.referred_by.kind if m.referred_by else "",
        referred_by_id=m.referred_by.id if m.referred_by else "",
        tier=m.tier,
    )
    if m.profile.birthday:
        month, day, year = m.profile.birthday
        pb.birthday.CopyFrom(members_pb2.Birthday(month=month, day=day, year=year or 0))
    pb.registered_at.FromDatetime(m.registered_at)
    return pb


def store(s: Store) -> members_pb2.Store:
    pb = members_pb2.Store(tenant_id=s.tenant_id, code=s.code, name=s.name, city=s.city)
    pb.created_at.FromDatetime(s.created_at)
    return pb


def staff(s: Staff) -> members_pb2.Staff:
    return members_pb2.Staff(
        id=s.id,
        tenant_id=s.tenant_id,
        store_code=s.store_code,
        name=s.name,
        role=ROLE_TO_PB[s.role],
        status=STATUS_TO_PB[s.status],
        referral_codes=list(s.referral_codes),
        successor_id=s.successor_id,
    )


def handover(h: Handover) -> members_pb2.Handover:
    pb = members_pb2.Handover(
        id=h.id,
        tenant_id=h.tenant_id,
        from_staff_id=h.from_staff_id,
        to_staff_id=h.to_staff_id,
        state=members_pb2.HANDOVER_STATE_DONE if h.done else members_pb2.HANDOVER_STATE_RUNNING,
        members_moved=h.members_moved,
        requested_by=h.requested_by,
    )
    pb.started_at.FromDatetime(h.started_at)
    if h.finished_at:
        pb.finished_at.FromDatetime(h.finished_at)
    return pb


def segment(s: SavedSegment) -> members_pb2.Segment:
    pb = members_pb2.Segment(id=s.id, tenant_id=s.tenant_id, name=s.name)
    pb.criteria.update(s.criteria)
    pb.created_at.FromDatetime(s.created_at)
    return pb


def points(member_id: str, s: Statement) -> members_pb2.Points:
    reply = members_pb2.Points(member_id=member_id, balance=s.balance, tier=s.tier)
    for e in s.entries:
        entry = reply.entries.add(
            id=e.id,
            delta=e.delta,
            reason=e.reason,
            source=e.source,
            shares=[
                members_pb2.PointsShare(source=s.source, rule_id=s.rule_id, points=s.points) for s in e.shares
            ],
        )
        entry.at.FromDatetime(e.at)
    return reply


def activity(a: Activity) -> members_pb2.MemberActivity:
    reply = members_pb2.MemberActivity(
        member_id=a.member_id,
        purchase_count=a.purchase_count,
        purchases_at_store=a.purchases_at_store,
        blacklisted=a.blacklisted,
    )
    reply.registered_at.FromDatetime(a.registered_at)
    if a.last_purchase_at is not None:
        reply.last_purchase_at.FromDatetime(a.last_purchase_at)
    return reply


def purchase_lines(lines: Iterable[members_pb2.PurchaseLine]) -> list[Line]:
    """A receipt's lines (a purchase, or a cart to preview)."""
    return [Line(ln.sku, ln.brand, ln.category, ln.quantity, ln.list_price, ln.paid_price) for ln in lines]


def payments(paid: Iterable[members_pb2.Payment]) -> list[Payment]:
    return [Payment(p.type, p.amount) for p in paid]
