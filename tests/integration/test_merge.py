"""Merging a paper card and a mini-program sign-up of the same person."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from google.protobuf.struct_pb2 import Struct
from pymongo import MongoClient
from regulars.members.v1 import members_pb2, members_pb2_grpc

from devstack.processes import Stack
from tests.integration.test_purchases import TENANT, purchase_request
from tests.kafka_tools import header, read_all
from tests.support import eventually


def test_points_purchases_stats_and_tags_move_to_the_survivor_once(
    stack: Stack, mongo: MongoClient[Any]
) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{stack.ports['members']}") as ch:
        api = members_pb2_grpc.MembersServiceStub(ch)
        api.CreateStore(members_pb2.CreateStoreRequest(tenant_id=TENANT, code="sh-01", name="Shanghai"))
        wang = api.AddStaff(
            members_pb2.AddStaffRequest(
                tenant_id=TENANT, store_code="sh-01", name="Wang", role=members_pb2.STAFF_ROLE_ASSISTANT
            )
        )
        zhao = api.AddStaff(
            members_pb2.AddStaffRequest(
                tenant_id=TENANT, store_code="sh-01", name="Zhao", role=members_pb2.STAFF_ROLE_ASSISTANT
            )
        )
        card = api.EnrollMember(
            members_pb2.EnrollMemberRequest(
                tenant_id=TENANT,
                phone="13600003001",
                name="Li",
                staff_code=wang.referral_codes[0],
                tags=["paper"],
            )
        ).member
        online = api.EnrollMember(
            members_pb2.EnrollMemberRequest(
                tenant_id=TENANT, phone="13600003002", name="Li", owner_staff_id=zhao.id, tags=["online"]
            )
        ).member
        api.RecordPurchase(purchase_request(card.id, "M-1", paid=120_000))
        api.RecordPurchase(purchase_request(online.id, "M-2", paid=50_000))

        request = members_pb2.MergeMembersRequest(
            tenant_id=TENANT, survivor_id=card.id, duplicate_id=online.id
        )
        merged = api.MergeMembers(request)
        assert api.MergeMembers(request).id == card.id  # again: nothing more happens
        assert merged.owner_staff_id == wang.id  # the survivor keeps its assistant
        assert sorted(merged.tags) == ["online", "paper"]
        points = api.GetPoints(members_pb2.GetPointsRequest(tenant_id=TENANT, member_id=card.id))
        assert points.balance == 1_700
        # the duplicate's phone now finds the survivor
        found = api.FindMemberByPhone(
            members_pb2.FindMemberByPhoneRequest(tenant_id=TENANT, phone="13600003002")
        )
        assert found.id == card.id
        assert (
            api.PreviewSegment(members_pb2.PreviewSegmentRequest(tenant_id=TENANT, criteria=Struct())).count
            == 1
        )
        with pytest.raises(grpc.RpcError) as err:
            api.MergeMembers(
                members_pb2.MergeMembersRequest(tenant_id=TENANT, survivor_id=card.id, duplicate_id=card.id)
            )
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    db = mongo[f"{stack.namespace}regulars_members"]
    survivor = db["members"].find_one({"_id": card.id})
    duplicate = db["members"].find_one({"_id": online.id})
    assert survivor is not None
    assert duplicate is not None
    assert (survivor["stats"]["purchase_count"], survivor["stats"]["total_spend"]) == (2, 170_000)
    assert (duplicate["merged_into"], duplicate["points_balance"]) == (card.id, 0)
    assert db["purchases"].count_documents({"member_id": card.id}) == 2
    ledger = sorted(
        e["delta"] for e in db["points_entries"].find({"member_id": {"$in": [card.id, online.id]}})
    )
    assert ledger == [-500, 500, 500, 1_200]

    topic = f"{stack.namespace}regulars.members.v1"

    def merged_events() -> list[Any] | None:
        records = asyncio.run(read_all(stack.kafka_bootstrap_servers, topic, settle_seconds=2))
        found = [r for r in records if header(r, "ce_type") == "regulars.members.v1.member_merged"]
        return found or None

    assert len(eventually(merged_events)) == 1


def test_a_survivor_without_an_assistant_takes_the_duplicates(stack: Stack) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{stack.ports['members']}") as ch:
        api = members_pb2_grpc.MembersServiceStub(ch)
        api.CreateStore(members_pb2.CreateStoreRequest(tenant_id=TENANT, code="sh-01", name="Shanghai"))
        wang = api.AddStaff(
            members_pb2.AddStaffRequest(
                tenant_id=TENANT, store_code="sh-01", name="Wang", role=members_pb2.STAFF_ROLE_ASSISTANT
            )
        )
        online = api.EnrollMember(
            members_pb2.EnrollMemberRequest(tenant_id=TENANT, phone="13600003011", name="Mei")
        ).member
        card = api.EnrollMember(
            members_pb2.EnrollMemberRequest(
                tenant_id=TENANT, phone="13600003012", name="Mei", owner_staff_id=wang.id
            )
        ).member
        merged = api.MergeMembers(
            members_pb2.MergeMembersRequest(tenant_id=TENANT, survivor_id=online.id, duplicate_id=card.id)
        )
        assert merged.owner_staff_id == wang.id
