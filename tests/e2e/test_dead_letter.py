"""A poison message goes to the dead-letter topic and does not block what follows it."""

from __future__ import annotations

from typing import Any

import httpx
from regulars.members.v1 import events_pb2

from chassis.cloudevents import new_event
from devstack.processes import Stack
from tests.kafka_tools import header, produce, read_all
from tests.support import eventually

TYPE = "regulars.members.v1.member_registered"


async def test_poison_messages_are_dead_lettered_and_later_good_ones_consumed(platform: Stack) -> None:
    bootstrap = platform.kafka_bootstrap_servers
    topic = f"{platform.namespace}regulars.members.v1"
    member_id = "01POISONTESTGOODMEMBER0001"

    undecodable = new_event(
        type=TYPE,
        source="test",
        tenant_id="tenant-a",
        subject=member_id,
        payload=events_pb2.MemberRegistered(member_id=member_id, tenant_id="tenant-a"),
    )
    await produce(bootstrap, topic, b"\x0a\xff", member_id.encode(), undecodable.headers())
    await produce(bootstrap, topic, b"no headers at all", member_id.encode(), [])
    good = new_event(
        type=TYPE,
        source="test",
        tenant_id="tenant-a",
        subject=member_id,
        payload=events_pb2.MemberRegistered(member_id=member_id, tenant_id="tenant-a", name="Fang"),
    )
    await produce(bootstrap, topic, good.data, member_id.encode(), good.headers())

    def inbox() -> list[dict[str, Any]]:
        r = httpx.get(
            f"{platform.gateway_url}/v1/members/{member_id}/inbox",
            headers={"Authorization": "Bearer key-tenant-a"},
        )
        return [] if r.status_code == 404 else list(r.json()["items"])

    assert "Fang" in eventually(inbox, timeout=45)[0]["body"]

    dead = await read_all(bootstrap, f"{platform.namespace}regulars.messaging.dlt")
    assert sorted(r.value for r in dead) == [b"\x0a\xff", b"no headers at all"]
    assert {header(r, "dlt_topic") for r in dead} == {topic}
    reasons = {header(r, "ce_id"): header(r, "dlt_reason") for r in dead}
    assert "MemberRegistered" in (reasons[undecodable.id] or "")
    assert "missing headers" in (reasons[None] or "")
