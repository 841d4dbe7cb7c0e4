"""The events members publishes, as protobuf in CloudEvents envelopes (proto owns the schema)."""

from __future__ import annotations

from datetime import datetime

from regulars.members.v1 import events_pb2

from chassis.cloudevents import Envelope, new_event
from services.members.domain.model import Member

SOURCE = "regulars/members"
TOPIC = "regulars.members.v1"
MEMBER_REGISTERED = "regulars.members.v1.member_registered"


def member_registered(m: Member) -> Envelope:
    payload = events_pb2.MemberRegistered(
        member_id=m.id,
        tenant_id=m.tenant_id,
        name=m.name,
        surname=m.surname,
        home_store_id=m.home_store_id,
        channel=m.channel,
    )
    payload.registered_at.FromDatetime(m.registered_at)
    return new_event(
        type=MEMBER_REGISTERED,
        source=SOURCE,
        tenant_id=m.tenant_id,
        subject=m.id,
        payload=payload,
        time=m.registered_at,
    )


MEMBER_STAFF_ASSIGNED = "regulars.members.v1.member_staff_assigned"


def member_staff_assigned(
    *, tenant_id: str, member_id: str, staff_id: str, previous_staff_id: str, handover_id: str, at: datetime
) -> Envelope:
    payload = events_pb2.MemberStaffAssigned(
        member_id=member_id,
        tenant_id=tenant_id,
        staff_id=staff_id,
        previous_staff_id=previous_staff_id,
        handover_id=handover_id,
    )
    payload.assigned_at.FromDatetime(at)
    return new_event(
        type=MEMBER_STAFF_ASSIGNED,
        source=SOURCE,
        tenant_id=tenant_id,
        subject=member_id,
        payload=payload,
        time=at,
    )
