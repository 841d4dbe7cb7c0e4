"""Profile changes, consent with its history, "reply T", and the blacklist, on real servers."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from google.protobuf.struct_pb2 import Struct
from pymongo import MongoClient
from regulars.members.v1 import events_pb2, members_pb2, members_pb2_grpc

from devstack.processes import Stack
from tests.kafka_tools import header, read_all
from tests.support import eventually

TENANT = "tenant-profile"


def test_consent_changes_are_kept_and_announced_and_reply_t_unsubscribes(
    stack: Stack, mongo: MongoClient[Any]
) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{stack.ports['members']}") as ch:
        api = members_pb2_grpc.MembersServiceStub(ch)
        member = api.EnrollMember(
            members_pb2.EnrollMemberRequest(tenant_id=TENANT, phone="13700002001", name="Li")
        ).member
        assert dict(member.consent) == {"sms": False, "wechat": False, "app": False, "phone": False}
        granted = api.SetConsent(
            members_pb2.SetConsentRequest(
                tenant_id=TENANT, member_id=member.id, channel="SMS", granted=True, source="store_app"
            )
        )
        assert granted.consent["sms"] is True

        not_a_stop = api.HandleSmsReply(
            members_pb2.HandleSmsReplyRequest(tenant_id=TENANT, phone="13700002001", text="thanks")
        )
        assert not not_a_stop.unsubscribed
        stop = api.HandleSmsReply(
            members_pb2.HandleSmsReplyRequest(tenant_id=TENANT, phone="+8613700002001", text=" t ")
        )
        assert (stop.unsubscribed, stop.member_id) == (True, member.id)
        after = api.GetMember(members_pb2.GetMemberRequest(tenant_id=TENANT, member_id=member.id))
        assert after.consent["sms"] is False

        with pytest.raises(grpc.RpcError) as err:
            api.SetConsent(
                members_pb2.SetConsentRequest(tenant_id=TENANT, member_id=member.id, channel="fax")
            )
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    history = (
        mongo[f"{stack.namespace}regulars_members"]["consent_changes"]
        .find({"member_id": member.id})
        .sort("_id", 1)
    )
    assert [(h["channel"], h["granted"], h["source"]) for h in history] == [
        ("sms", True, "store_app"),
        ("sms", False, "sms_reply"),
    ]

    topic = f"{stack.namespace}regulars.members.v1"

    def announced() -> list[Any] | None:
        records = asyncio.run(read_all(stack.kafka_bootstrap_servers, topic, settle_seconds=2))
        found = [r for r in records if header(r, "ce_type") == "regulars.members.v1.member_consent_changed"]
        return found if len(found) == 2 else None

    changes = [events_pb2.MemberConsentChanged.FromString(r.value) for r in eventually(announced)]
    assert [(c.channel, c.granted) for c in changes] == [("sms", True), ("sms", False)]


def test_a_blacklisted_member_leaves_every_segment_and_profiles_change(stack: Stack) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{stack.ports['members']}") as ch:
        api = members_pb2_grpc.MembersServiceStub(ch)
        member = api.EnrollMember(
            members_pb2.EnrollMemberRequest(tenant_id=TENANT, phone="13700002002", name="Xu")
        ).member
        changed = api.UpdateProfile(
            members_pb2.UpdateProfileRequest(
                tenant_id=TENANT,
                member_id=member.id,
                surname="Chen",
                tags=["vip"],
                preferred_channel="wechat",
                birthday=members_pb2.Birthday(month=5, day=20),
            )
        )
        assert (changed.surname, list(changed.tags), changed.preferred_channel, changed.birthday.month) == (
            "Chen",
            ["vip"],
            "wechat",
            5,
        )
        everyone = Struct()
        assert (
            api.PreviewSegment(members_pb2.PreviewSegmentRequest(tenant_id=TENANT, criteria=everyone)).count
            == 1
        )

        listed = api.SetBlacklist(
            members_pb2.SetBlacklistRequest(
                tenant_id=TENANT, member_id=member.id, reason="confirmed extortionist"
            )
        )
        assert listed.blacklist_reason == "confirmed extortionist"
        assert (
            api.PreviewSegment(members_pb2.PreviewSegmentRequest(tenant_id=TENANT, criteria=everyone)).count
            == 0
        )
        api.SetBlacklist(members_pb2.SetBlacklistRequest(tenant_id=TENANT, member_id=member.id, reason=""))
        assert (
            api.PreviewSegment(members_pb2.PreviewSegmentRequest(tenant_id=TENANT, criteria=everyone)).count
            == 1
        )

        with pytest.raises(grpc.RpcError) as err:
            api.UpdateProfile(
                members_pb2.UpdateProfileRequest(tenant_id="other", member_id=member.id, name="X")
            )
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
