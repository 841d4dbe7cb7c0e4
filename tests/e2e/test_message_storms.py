"""Through the gateway, under a load that pushes latency past the deadline, with clients that
retry every 5xx with the same message key, and with messaging SIGKILLed mid-flight and
restarted: every key ends as one message, sent at most once and never lost, caps hold for every
member, and every answer a client saw is true.

The gateway's gRPC deadline is short on purpose (STORM_DEADLINE), so many sends are cut off after
the service began (or finished) them: the retry must get the message first recorded, never a
second one. Messaging's send lease is short (LEASE_SECONDS) so that what the kill interrupted is
finished by a later dispatcher pass within the test. The truth is read from the databases and
from Kafka afterwards.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
from pymongo import MongoClient
from regulars.members.v1 import members_pb2, members_pb2_grpc
from regulars.messaging.v1 import events_pb2

from chassis.cloudevents import topic_of
from chassis.grpc_client import channel_target
from devstack.processes import Stack, free_port
from tests.e2e.test_storms import kill_and_restart
from tests.kafka_tools import header, read_all
from tests.support import eventually, fresh_namespace, server_urls

TENANT = "tenant-message-storm"
KEY = {"Authorization": "Bearer key-message-storm"}
STORM_DEADLINE = "0.4"  # seconds: under the latency 32 sends in flight reach here
LEASE_SECONDS = "12"  # longer than any provider call (10 s), short enough to wait for
MEMBERS = 120
IN_FLIGHT = 32
RETRY_FOR = 600.0


@pytest.fixture(scope="module")
def storm() -> Iterator[Stack]:
    mongodb, kafka = server_urls()
    before = os.environ.get("DISPATCH_LEASE_SECONDS")
    os.environ["DISPATCH_LEASE_SECONDS"] = LEASE_SECONDS  # read by messaging only
    stack = Stack(
        mongodb_url=mongodb,
        kafka_bootstrap_servers=kafka,
        namespace=fresh_namespace(),
        ports={name: free_port() for name in ["members", "coupons", "messaging", "feedback", "gateway"]},
        api_keys={"key-message-storm": TENANT},
        gateway_env={
            "GRPC_TIMEOUT_SECONDS": STORM_DEADLINE,
            "RATE_LIMIT_PER_SECOND": "100000",
            "RATE_LIMIT_BURST": "100000",
        },
    )
    try:
        stack.start_all()
        yield stack
    finally:
        stack.stop_all()
        if before is None:
            os.environ.pop("DISPATCH_LEASE_SECONDS", None)
        else:
            os.environ["DISPATCH_LEASE_SECONDS"] = before


RETRIED: Counter[str] = Counter()  # why clients had to try again: a status or "transport"


async def until_answered(
    client: httpx.AsyncClient, method: str, url: str, body: dict[str, Any]
) -> httpx.Response:
    """What a store app does: the same request again after any 5xx or a dropped connection."""
    deadline = time.monotonic() + RETRY_FOR
    pause = 0.05
    while True:
        try:
            r = await client.request(method, url, json=body, headers=KEY)
            if r.status_code < 500:
                return r
            RETRIED[str(r.status_code)] += 1
        except httpx.TransportError:
            RETRIED["transport"] += 1
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} not answered within {RETRY_FOR} s")
        await asyncio.sleep(pause * random.uniform(0.5, 1.5))
        pause = min(pause * 2, 1.0)


async def enrol(stack: Stack, count: int) -> list[str]:
    target, options = channel_target(stack.address("members"))
    async with grpc.aio.insecure_channel(target, options=options) as channel:
        api: Any = members_pb2_grpc.MembersServiceStub(channel)
        base = time.time_ns() // 1000 % 9_000_000 * 100
        ids = []
        for i in range(count):
            reply = await api.EnrollMember(
                members_pb2.EnrollMemberRequest(
                    tenant_id=TENANT, phone=f"+86138{(base + i) % 100_000_000:08d}", name="Li"
                ),
                timeout=30,
            )
            ids.append(str(reply.member.id))
        return ids


async def prepare(client: httpx.AsyncClient) -> None:
    """A care note (capped at one a day per member) and a receipt (never capped); no quiet hours."""
    policy = {
        "caps": [{"message_class": "care", "period": "day", "limit": 1}],
        "quiet_start": "",
        "quiet_end": "",
    }
    assert (await until_answered(client, "PATCH", "/v1/messaging-policy", policy)).status_code == 200
    for template_id, cls in (("storm-care", "care"), ("storm-receipt", "transactional")):
        body = {
            "name": template_id,
            "message_class": cls,
            "texts": {"inbox": {"title": "Hello", "body": "Hello {{ name }}"}},
        }
        r = await until_answered(client, "PUT", f"/v1/message-templates/{template_id}", body)
        assert r.status_code in (200, 201), r.text


def requests_for(members: list[str]) -> list[dict[str, Any]]:
    out = []
    for m in members:
        out.append({"member_id": m, "message_key": f"care-a:{m}", "template_id": "storm-care"})
        out.append({"member_id": m, "message_key": f"care-b:{m}", "template_id": "storm-care"})
        out.append({"member_id": m, "message_key": f"receipt:{m}", "template_id": "storm-receipt"})
    random.shuffle(out)
    return out


async def send_storm(client: httpx.AsyncClient, bodies: list[dict[str, Any]], seen: dict[str, str]) -> None:
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(body: dict[str, Any]) -> None:
        async with gate:
            r = await until_answered(client, "POST", "/v1/messages", body)
        assert r.status_code in (200, 201), r.text
        seen[body["message_key"]] = r.json()["state"]

    await asyncio.gather(*(one(b) for b in bodies))


def settled(mongo: MongoClient[Any], stack: Stack, total: int) -> list[dict[str, Any]] | None:
    """Every message of the storm, once none is pending any more."""
    docs = list(
        mongo[f"{stack.namespace}regulars_messaging"]["messages"].find(
            {"tenant_id": TENANT}, {"key": 1, "member_id": 1, "state": 1, "template_id": 1}
        )
    )
    if len(docs) < total or any(d["state"] == "pending" for d in docs):
        return None
    return docs


def assert_truth(mongo: MongoClient[Any], stack: Stack, members: list[str], seen: dict[str, str]) -> None:
    docs = eventually(lambda: settled(mongo, stack, 3 * len(members)), timeout=120)
    assert len(docs) == 3 * len(members)
    by_key = {d["key"]: d for d in docs}
    assert len(by_key) == len(docs)  # one message per key
    for key, answer in seen.items():  # every answer a client saw was true
        final = by_key[key]["state"]
        assert answer == final or answer == "pending", (key, answer, final)
    for m in members:
        care = sorted(by_key[f"{k}:{m}"]["state"] for k in ("care-a", "care-b"))
        assert care == ["capped", "sent"], (m, care)
        assert by_key[f"receipt:{m}"]["state"] == "sent"
    inbox = mongo[f"{stack.namespace}regulars_messaging"]["inbox_messages"]
    delivered = Counter(
        d["message_id"]
        for d in inbox.find({"tenant_id": TENANT, "message_id": {"$ne": ""}}, {"message_id": 1})
    )
    sent_ids = {d["_id"] for d in docs if d["state"] == "sent"}
    assert set(delivered) == sent_ids  # nothing sent is lost ...
    assert set(delivered.values()) == {1}  # ... and nothing is delivered twice


def assert_announced_once(stack: Stack, sent: int) -> None:
    topic = f"{stack.namespace}{topic_of(events_pb2.DESCRIPTOR)}"

    def events() -> dict[str, set[str]] | None:
        records = asyncio.run(read_all(stack.kafka_bootstrap_servers, topic, settle_seconds=1.0))
        by_message: dict[str, set[str]] = defaultdict(set)
        for r in records:
            if header(r, "ce_type") == "regulars.messaging.v1.message_sent":
                message = events_pb2.MessageSent.FromString(r.value).message
                if message.tenant_id == TENANT:
                    by_message[message.id].add(str(header(r, "ce_id")))
        return by_message if len(by_message) == sent else None

    announced = eventually(events, timeout=120)
    assert all(
        len(ids) == 1 for ids in announced.values()
    )  # one event per message (a relay repeat has its id)


async def test_a_send_storm_past_the_deadline_with_messaging_killed_sends_each_key_once(storm: Stack) -> None:
    members = await enrol(storm, MEMBERS)
    seen: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=storm.gateway_url, timeout=30) as client:
        await prepare(client)
        bodies = requests_for(members)
        await asyncio.gather(
            send_storm(client, bodies, seen), kill_and_restart(storm, "messaging", seen, len(bodies) // 3)
        )
    assert len(seen) == len(bodies)
    assert sum(RETRIED.values()) > 0, "the storm never made a client retry: it proves nothing"
    mongo: MongoClient[Any]
    with MongoClient(storm.mongodb_url) as mongo:
        assert_truth(mongo, storm, members, seen)
    await asyncio.to_thread(assert_announced_once, storm, 2 * len(members))
