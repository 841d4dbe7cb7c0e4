"""Through the gateway, under a load that pushes latency past the deadline, with clients that
retry every 5xx and with services SIGKILLed mid-flight: no claim oversells or breaks a limit,
every purchase counts once, and every answer a client saw is true.

The stack runs two replicas of members and of coupons, and a gateway whose gRPC deadline is
short on purpose (STORM_DEADLINE), so that at 64 claims in flight many calls are cut off by
the deadline after the service has begun (or finished) the work — the case an in-process
compensation would get wrong. The truth is read from the databases afterwards.
"""

from __future__ import annotations

import asyncio
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

from chassis.grpc_client import channel_target
from devstack.processes import Stack, free_port
from tests.support import eventually, fresh_namespace, server_urls

TENANT = "tenant-storm"
KEY = {"Authorization": "Bearer key-storm"}
STORM_DEADLINE = "0.4"  # seconds: well under the latency 64 claims in flight reach here
CLAIMANTS = 1000
STOCK = 300
CLAIMS_IN_FLIGHT = 64
PURCHASES = 300
PURCHASES_IN_FLIGHT = 8
RETRY_FOR = 600.0  # seconds a client keeps retrying one request before the test gives up (a slow CI machine)


@pytest.fixture(scope="module")
def storm() -> Iterator[Stack]:
    mongodb, kafka = server_urls()
    stack = Stack(
        mongodb_url=mongodb,
        kafka_bootstrap_servers=kafka,
        namespace=fresh_namespace(),
        ports={name: free_port() for name in ["members", "coupons", "messaging", "feedback", "gateway"]},
        replicas={"members": 2, "coupons": 2},
        api_keys={"key-storm": TENANT},
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


async def post_until_answered(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> httpx.Response:
    """What a till or a phone does: the same request again after any 5xx or a dropped connection,
    backing off (with jitter) so that retries do not keep an overloaded platform overloaded."""
    deadline = time.monotonic() + RETRY_FOR
    pause = 0.05
    while True:
        try:
            r = await client.post(url, json=body, headers=KEY)
            if r.status_code < 500:
                return r
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} not answered within {RETRY_FOR} s")
        await asyncio.sleep(pause * random.uniform(0.5, 1.5))
        pause = min(pause * 2, 1.0)


async def enrol_members(stack: Stack, count: int) -> list[str]:
    """Claimants enrolled straight at members (the storm is the claims, not the enrolment)."""
    target, options = channel_target(stack.address("members"))
    async with grpc.aio.insecure_channel(target, options=options) as channel:
        api: Any = members_pb2_grpc.MembersServiceStub(channel)
        gate = asyncio.Semaphore(16)

        async def one(i: int) -> str:
            async with gate:
                reply = await api.EnrollMember(
                    members_pb2.EnrollMemberRequest(tenant_id=TENANT, phone=f"+8613{i:09d}", name="Li"),
                    timeout=30,
                )
                return str(reply.member.id)

        base = time.time_ns() // 1000 % 9_000_000 * 100
        return list(await asyncio.gather(*(one(base + i) for i in range(count))))


async def flash_template(client: httpx.AsyncClient) -> str:
    body = {
        "name": f"flash #{time.time_ns()}",
        "benefit": {"kind": "amount_off", "amount_off": 2000, "min_spend": 10000},
        "validity": {"duration_seconds": 7 * 86400},
        "limits": {"total_stock": STOCK, "per_member_limit": 1},
        "claimable": True,
    }
    created = await post_until_answered(client, "/v1/coupon-templates", body)
    assert created.status_code == 201, created.text
    tid = str(created.json()["id"])
    active = await post_until_answered(client, f"/v1/coupon-templates/{tid}/state", {"state": "active"})
    assert active.status_code == 200, active.text
    return tid


async def claim_storm(
    client: httpx.AsyncClient, template_id: str, members: list[str], seen: dict[str, str]
) -> None:
    """Each member claims once (retrying 5xx); `seen` gets the outcome each finally saw."""
    gate = asyncio.Semaphore(CLAIMS_IN_FLIGHT)

    async def claim(member_id: str) -> None:
        async with gate:
            r = await post_until_answered(
                client, f"/v1/members/{member_id}/coupons/claims", {"template_id": template_id}
            )
        assert r.status_code in (200, 201), r.text
        seen[member_id] = r.json()["outcome"]

    await asyncio.gather(*(claim(m) for m in members))


async def purchase_storm(
    client: httpx.AsyncClient, members: list[str], tag: str, answers: list[dict[str, Any]]
) -> None:
    """PURCHASES purchases (idempotent on the receipt, retried on 5xx); `answers` gets what each saw."""
    gate = asyncio.Semaphore(PURCHASES_IN_FLIGHT)

    async def buy(i: int) -> None:
        body = {
            "member_id": members[i % len(members)],
            "store_id": "sh-01",
            "receipt_no": f"{tag}-{i}",
            "lines": [
                {"sku": "LIP-01", "brand": "Rouge Co", "list_price": 10000 + i, "paid_price": 10000 + i}
            ],
            "occurred_at": "2026-11-23T10:00:00Z",
        }
        async with gate:
            r = await post_until_answered(client, "/v1/purchases", body)
        assert r.status_code in (200, 201), r.text
        answers.append(r.json())

    await asyncio.gather(*(buy(i) for i in range(PURCHASES)))


async def kill_and_restart(stack: Stack, service: str, progress: Any, after: int) -> None:
    """SIGKILL every replica of `service` once `after` answers are in, restart them 2 s later."""
    while len(progress) < after:  # noqa: ASYNC110 (progress is filled by other tasks; polling is simplest)
        await asyncio.sleep(0.02)
    await asyncio.to_thread(stack.kill, service)
    await asyncio.sleep(2.0)
    await asyncio.to_thread(stack.start, service)


def coupons_by_member(mongo: MongoClient[Any], stack: Stack, template_id: str) -> dict[str, list[str]]:
    held: dict[str, list[str]] = defaultdict(list)
    docs = mongo[f"{stack.namespace}regulars_coupons"]["coupons"].find(
        {"tenant_id": TENANT, "template_id": template_id}, {"member_id": 1}
    )
    for d in docs:
        held[d["member_id"]].append(d["_id"])
    return held


def assert_claims_exact(seen: dict[str, str], held: dict[str, list[str]]) -> None:
    """Exactly the stock issued, nobody over the limit, and every final answer true."""
    assert sum(len(c) for c in held.values()) == STOCK, "exactly the stock is issued: no more, no less"
    assert max(len(c) for c in held.values()) == 1, "nobody holds two"
    for member_id, outcome in seen.items():
        if outcome in ("issued", "limit_reached"):
            assert held.get(member_id), f"{member_id} was told {outcome} but holds no coupon"
        else:
            assert outcome == "sold_out", outcome
            assert not held.get(member_id), f"{member_id} was told sold_out but holds a coupon"
    assert set(Counter(seen.values())) <= {"issued", "limit_reached", "sold_out"}


def assert_points_once(mongo: MongoClient[Any], stack: Stack, answers: list[dict[str, Any]]) -> None:
    """Every purchase recorded once and its points on the member exactly once (within a while:
    a purchase cut off by the deadline or a crash is completed by members in the background)."""
    db = mongo[f"{stack.namespace}regulars_members"]
    expected: dict[str, int] = defaultdict(int)
    for a in answers:
        expected[a["member_id"]] += a["points_awarded"]
    assert len({a["id"] for a in answers}) == PURCHASES

    def balances() -> dict[str, int]:
        docs = db["members"].find({"_id": {"$in": list(expected)}}, {"points_balance": 1})
        return {d["_id"]: int(d.get("points_balance", 0)) for d in docs}

    eventually(lambda: balances() == dict(expected) or None, timeout=120)
    assert db["purchases"].count_documents(
        {"tenant_id": TENANT, "_id": {"$in": [a["id"] for a in answers]}}
    ) == (PURCHASES)
    entries = db["points_entries"].count_documents(
        {"tenant_id": TENANT, "member_id": {"$in": list(expected)}, "reason": "purchase"}
    )
    assert entries == PURCHASES, "one ledger entry per purchase"


@pytest.mark.timeout(900)
async def test_a_claim_storm_past_the_deadline_with_retries_issues_exactly_the_stock(
    storm: Stack, mongo: MongoClient[Any]
) -> None:
    members = await enrol_members(storm, CLAIMANTS)
    async with httpx.AsyncClient(base_url=storm.gateway_url, timeout=30) as client:
        template_id = await flash_template(client)
        seen: dict[str, str] = {}
        answers: list[dict[str, Any]] = []
        await asyncio.gather(
            claim_storm(client, template_id, members, seen),
            purchase_storm(client, members, f"calm-{time.time_ns()}", answers),
        )
    assert_claims_exact(seen, coupons_by_member(mongo, storm, template_id))
    assert_points_once(mongo, storm, answers)


@pytest.mark.timeout(900)
async def test_coupons_killed_mid_storm_and_restarted_still_issue_exactly_the_stock(
    storm: Stack, mongo: MongoClient[Any]
) -> None:
    members = await enrol_members(storm, CLAIMANTS)
    async with httpx.AsyncClient(base_url=storm.gateway_url, timeout=30) as client:
        template_id = await flash_template(client)
        seen: dict[str, str] = {}
        await asyncio.gather(
            claim_storm(client, template_id, members, seen), kill_and_restart(storm, "coupons", seen, 100)
        )
    assert len(seen) == CLAIMANTS
    assert_claims_exact(seen, coupons_by_member(mongo, storm, template_id))


@pytest.mark.timeout(900)
async def test_members_killed_mid_purchases_and_restarted_count_every_purchase_once(
    storm: Stack, mongo: MongoClient[Any]
) -> None:
    members = await enrol_members(storm, 100)
    async with httpx.AsyncClient(base_url=storm.gateway_url, timeout=30) as client:
        answers: list[dict[str, Any]] = []
        await asyncio.gather(
            purchase_storm(client, members, f"crash-{time.time_ns()}", answers),
            kill_and_restart(storm, "members", answers, 40),
        )
    assert_points_once(mongo, storm, answers)
