"""Segments over real members: preview counts, streamed audiences, ownership by succession."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.struct_pb2 import Struct
from regulars.members.v1 import members_pb2, members_pb2_grpc

from devstack.processes import Stack, free_port
from tests.integration.test_purchases import purchase_request
from tests.support import eventually, fresh_namespace, server_urls

TENANT = "tenant-purchases"  # purchase_request records in this tenant


@pytest.fixture
def api() -> Iterator[members_pb2_grpc.MembersServiceStub]:
    mongodb, kafka = server_urls()
    s = Stack(
        mongodb_url=mongodb,
        kafka_bootstrap_servers=kafka,
        namespace=fresh_namespace(),
        ports={"members": free_port()},
    )
    try:
        s.start("members")
        with grpc.insecure_channel(f"127.0.0.1:{s.ports['members']}") as channel:
            yield members_pb2_grpc.MembersServiceStub(channel)
    finally:
        s.stop_all()


def criteria(**values: Any) -> Struct:
    struct = Struct()
    struct.update(values)
    return struct


def test_brand_buyers_are_counted_streamed_and_walled_by_tenant(
    api: members_pb2_grpc.MembersServiceStub,
) -> None:
    ids = [
        api.EnrollMember(
            members_pb2.EnrollMemberRequest(tenant_id=TENANT, phone=f"+861391111000{i}", name=f"M{i}")
        ).member.id
        for i in range(5)
    ]
    api.EnrollMember(
        members_pb2.EnrollMemberRequest(tenant_id="someone-else", phone="+8613911110000", name="X")
    )
    for i, member_id in enumerate(ids[:3]):
        api.RecordPurchase(purchase_request(member_id, f"R-{i}"))
    buyers = criteria(bought_brand="Rouge Co", bought_brand_within_days=30)

    preview = api.PreviewSegment(
        members_pb2.PreviewSegmentRequest(tenant_id=TENANT, criteria=buyers, sample_size=2)
    )
    assert preview.count == 3
    assert len(preview.sample) == 2
    assert {m.id for m in preview.sample} <= set(ids[:3])

    saved = api.CreateSegment(
        members_pb2.CreateSegmentRequest(tenant_id=TENANT, name="Rouge buyers", criteria=buyers)
    )
    streamed = [
        m.member_id
        for m in api.StreamSegmentMembers(
            members_pb2.StreamSegmentMembersRequest(tenant_id=TENANT, segment_id=saved.id)
        )
    ]
    assert sorted(streamed) == sorted(ids[:3])
    everyone = api.PreviewSegment(members_pb2.PreviewSegmentRequest(tenant_id=TENANT, criteria=criteria()))
    assert everyone.count == 5  # the other tenant's member is behind the wall

    with pytest.raises(grpc.RpcError) as err:
        api.GetSegment(members_pb2.GetSegmentRequest(tenant_id="someone-else", segment_id=saved.id))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        api.PreviewSegment(
            members_pb2.PreviewSegmentRequest(tenant_id=TENANT, criteria=criteria(birthday_month=13))
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "birthday_month" in (err.value.details() or "")


def test_a_successor_inherits_the_leavers_members_in_segments(
    api: members_pb2_grpc.MembersServiceStub,
) -> None:
    api.CreateStore(members_pb2.CreateStoreRequest(tenant_id=TENANT, code="sh-01", name="Shanghai"))
    role = members_pb2.STAFF_ROLE_ASSISTANT
    leaver = api.AddStaff(
        members_pb2.AddStaffRequest(tenant_id=TENANT, store_code="sh-01", name="A", role=role)
    )
    heir = api.AddStaff(
        members_pb2.AddStaffRequest(tenant_id=TENANT, store_code="sh-01", name="B", role=role)
    )
    for i in range(2):
        api.EnrollMember(
            members_pb2.EnrollMemberRequest(
                tenant_id=TENANT, phone=f"+861392222000{i}", name="M", staff_code=leaver.referral_codes[0]
            )
        )
    handover = api.StartHandover(
        members_pb2.StartHandoverRequest(tenant_id=TENANT, from_staff_id=leaver.id, to_staff_id=heir.id)
    )
    eventually(
        lambda: (
            api.GetHandover(members_pb2.GetHandoverRequest(tenant_id=TENANT, handover_id=handover.id)).state
            == members_pb2.HANDOVER_STATE_DONE
        )
    )
    mine = api.PreviewSegment(
        members_pb2.PreviewSegmentRequest(tenant_id=TENANT, criteria=criteria(owner_staff_ids=[heir.id]))
    )
    assert mine.count == 2
