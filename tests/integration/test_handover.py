"""A leaving assistant's 10,000 members pass to a successor, each announced once, resumably."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import grpc
from pymongo import MongoClient
from regulars.members.v1 import events_pb2, members_pb2, members_pb2_grpc
from ulid import ULID

from devstack.processes import Stack
from services.members.adapters.mongo import to_doc
from services.members.domain.model import Member
from tests.kafka_tools import header, read_all
from tests.support import eventually

TENANT = "tenant-handover"
MEMBERS = 10_000


def stub(s: Stack) -> members_pb2_grpc.MembersServiceStub:
    return members_pb2_grpc.MembersServiceStub(grpc.insecure_channel(f"127.0.0.1:{s.ports['members']}"))


def seed_members(mongo: MongoClient[Any], s: Stack, owner: str, count: int, first: int = 0) -> None:
    """Members owned by `owner`, written straight to the store (enrolling 10,000 would be the slow part)."""
    now = datetime.now(UTC)
    docs = [
        to_doc(
            Member(
                id=str(ULID()),
                tenant_id=TENANT,
                phone=f"+86138{first + i:08d}",
                name="M",
                surname="",
                home_store_id="sh-01",
                channel="import",
                registered_at=now,
                owner_staff_id=owner,
            )
        )
        for i in range(count)
    ]
    members = mongo[f"{s.namespace}regulars_members"]["members"]
    for start in range(0, count, 1000):
        members.insert_many(docs[start : start + 1000])


async def test_a_handover_of_ten_thousand_members_moves_and_announces_each_once(
    stack: Stack, mongo: MongoClient[Any]
) -> None:
    api = stub(stack)
    api.CreateStore(members_pb2.CreateStoreRequest(tenant_id=TENANT, code="sh-01", name="Shanghai 01"))
    leaving = api.AddStaff(
        members_pb2.AddStaffRequest(
            tenant_id=TENANT, store_code="sh-01", name="Wang", role=members_pb2.STAFF_ROLE_ASSISTANT
        )
    )
    successor = api.AddStaff(
        members_pb2.AddStaffRequest(
            tenant_id=TENANT, store_code="sh-01", name="Zhao", role=members_pb2.STAFF_ROLE_ASSISTANT
        )
    )
    seed_members(mongo, stack, leaving.id, MEMBERS)
    # one of the successor's own members must stay theirs and not be announced
    seed_members(mongo, stack, successor.id, 1, first=MEMBERS)

    request = members_pb2.StartHandoverRequest(
        tenant_id=TENANT, from_staff_id=leaving.id, to_staff_id=successor.id, requested_by="manager-1"
    )
    started = api.StartHandover(request)
    assert api.StartHandover(request).id == started.id  # asking again finds the same handover

    def finished() -> members_pb2.Handover | None:
        h = api.GetHandover(members_pb2.GetHandoverRequest(tenant_id=TENANT, handover_id=started.id))
        return h if h.state == members_pb2.HANDOVER_STATE_DONE else None

    done = eventually(finished, timeout=400, interval=1)
    assert done.members_moved == MEMBERS

    # The successor now looks after the leaver's members, and keeps their own.
    members = mongo[f"{stack.namespace}regulars_members"]["members"]
    sample = [d["_id"] for d in members.find({"owner_staff_id": leaving.id}, {"_id": 1}).limit(20)]
    assert len(sample) == 20
    for member_id in sample:
        member = api.GetMember(members_pb2.GetMemberRequest(tenant_id=TENANT, member_id=member_id))
        assert member.owner_staff_id == successor.id
    own = members.find_one({"owner_staff_id": successor.id})
    assert own is not None
    assert (
        api.GetMember(members_pb2.GetMemberRequest(tenant_id=TENANT, member_id=own["_id"])).owner_staff_id
        == successor.id
    )

    after = api.GetStaff(members_pb2.GetStaffRequest(tenant_id=TENANT, staff_id=successor.id))
    before = api.GetStaff(members_pb2.GetStaffRequest(tenant_id=TENANT, staff_id=leaving.id))
    assert before.status == members_pb2.STAFF_STATUS_LEFT
    assert before.successor_id == successor.id
    assert set(leaving.referral_codes) <= set(after.referral_codes)  # the badge QR code still works

    topic = f"{stack.namespace}regulars.members.v1"

    records: list[Any] = []
    for _ in range(30):  # the relay may still be publishing the last batches
        records = await read_all(stack.kafka_bootstrap_servers, topic, settle_seconds=3)
        if (
            sum(header(r, "ce_type") == "regulars.members.v1.member_staff_assigned" for r in records)
            >= MEMBERS
        ):
            break
    assigned = [
        events_pb2.MemberStaffAssigned.FromString(r.value)
        for r in records
        if header(r, "ce_type") == "regulars.members.v1.member_staff_assigned"
    ]
    per_member = Counter(a.member_id for a in assigned)
    assert len(per_member) == MEMBERS
    assert set(per_member.values()) == {1}
    assert own["_id"] not in per_member
    assert {(a.staff_id, a.previous_staff_id, a.handover_id) for a in assigned} == {
        (successor.id, leaving.id, started.id)
    }
