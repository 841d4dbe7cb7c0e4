"""Killing the members process at the worst moments loses no event and doubles no effect."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from pymongo import MongoClient
from regulars.members.v1 import members_pb2, members_pb2_grpc
from regulars.messaging.v1 import messaging_pb2, messaging_pb2_grpc

from devstack.processes import Stack, free_port
from tests.kafka_tools import header, read_all
from tests.support import eventually, fresh_namespace, server_urls

TENANT = "tenant-crash"


@pytest.fixture
def stack() -> Iterator[Stack]:
    """members and messaging only, in a namespace of this test's own."""
    mongodb, kafka = server_urls()
    s = Stack(
        mongodb_url=mongodb,
        kafka_bootstrap_servers=kafka,
        namespace=fresh_namespace(),
        ports={"members": free_port(), "messaging": free_port()},
    )
    try:
        s.start("messaging")
        yield s
    finally:
        s.stop_all()


def enroll(s: Stack, phone: str) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{s.ports['members']}") as ch:
        members_pb2_grpc.MembersServiceStub(ch).EnrollMember(
            members_pb2.EnrollMemberRequest(tenant_id=TENANT, phone=phone, name="Li", surname="Wang"),
            timeout=10,
        )


def inbox(s: Stack, member_id: str) -> list[messaging_pb2.InboxMessage]:
    """The member's inbox; empty while messaging has not yet heard of the member."""
    with grpc.insecure_channel(f"127.0.0.1:{s.ports['messaging']}") as ch:
        try:
            reply = messaging_pb2_grpc.MessagingServiceStub(ch).ListInbox(
                messaging_pb2.ListInboxRequest(tenant_id=TENANT, member_id=member_id), timeout=10
            )
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.NOT_FOUND:
                return []
            raise
    return list(reply.messages)


def member_doc(mongo: MongoClient[Any], s: Stack, phone: str) -> dict[str, Any] | None:
    return mongo[f"{s.namespace}regulars_members"]["members"].find_one({"tenant_id": TENANT, "phone": phone})


def assert_exactly_one_welcome(s: Stack, member_id: str) -> None:
    eventually(lambda: inbox(s, member_id), timeout=45)
    time.sleep(2)  # give any duplicate delivery time to arrive before counting
    assert [m.kind for m in inbox(s, member_id)] == ["welcome"]


def test_member_stored_but_event_not_sent_when_killed_is_sent_after_restart(
    stack: Stack, mongo: MongoClient[Any]
) -> None:
    phone = "+8613700000001"
    members = stack.start("members", OUTBOX_RELAY_ENABLED="false")
    enroll(stack, phone)
    doc = member_doc(mongo, stack, phone)
    assert doc is not None
    assert len(doc["_outbox"]) == 1, "the event waits in the member's outbox"
    assert inbox(stack, doc["_id"]) == []

    members.kill()  # SIGKILL with the event still unsent
    stack.start("members")

    assert_exactly_one_welcome(stack, doc["_id"])
    drained = eventually(lambda: "_outbox" not in (member_doc(mongo, stack, phone) or {"_outbox": 1}))
    assert drained is True


async def test_killed_after_publishing_but_before_marking_sent_still_gives_one_message(
    stack: Stack, mongo: MongoClient[Any]
) -> None:
    phone = "+8613700000002"
    members = stack.start("members", REGULARS_FAULT="outbox_after_publish")
    crash_code = None
    try:
        enroll(stack, phone)
    except grpc.RpcError as err:  # the crash may beat the reply
        crash_code = err.code()
    assert crash_code in (None, grpc.StatusCode.UNAVAILABLE)
    eventually(lambda: not members.alive)
    assert members.proc is not None
    assert members.proc.returncode == 137
    doc = member_doc(mongo, stack, phone)
    assert doc is not None
    assert len(doc["_outbox"]) == 1, "published, but not yet marked sent"
    event_id = next(iter(doc["_outbox"]))

    stack.start("members")  # the relay publishes the same event again (once the dead one's lease lapses)

    sent = eventually(
        lambda: "_outbox" not in (member_doc(mongo, stack, phone) or {"_outbox": 1}), timeout=45
    )
    assert sent is True
    assert_exactly_one_welcome(stack, doc["_id"])
    topic = f"{stack.namespace}regulars.members.v1"
    records = await read_all(stack.kafka_bootstrap_servers, topic)
    assert [header(r, "ce_id") for r in records].count(event_id) == 2, "the duplicate really was delivered"
