"""Idempotency-Key through the live gateway: retries return the first answer."""

from __future__ import annotations

import asyncio
import time

import httpx

from devstack.processes import Stack

A = {"Authorization": "Bearer key-tenant-a"}


async def test_twenty_simultaneous_identical_posts_create_one_member_and_get_one_answer(
    platform: Stack,
) -> None:
    body = {"phone": f"+86132{time.time_ns() % 100_000_000:08d}", "name": "Li"}
    headers = A | {"Idempotency-Key": f"enrol-{time.time_ns()}"}
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=20) as client:
        answers = await asyncio.gather(
            *(client.post("/v1/members", json=body, headers=headers) for _ in range(20))
        )
    assert {r.status_code for r in answers} == {201}, [r.text for r in answers if r.status_code != 201]
    assert len({r.json()["id"] for r in answers}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in answers) == 19


def test_the_same_key_with_another_body_is_refused(platform: Stack) -> None:
    key = {"Idempotency-Key": f"k-{time.time_ns()}"}
    with httpx.Client(base_url=platform.gateway_url, timeout=10) as api:
        first = api.post("/v1/members", json={"phone": "+8613100000001", "name": "Li"}, headers=A | key)
        assert first.status_code in (200, 201)
        other = api.post("/v1/members", json={"phone": "+8613100000002", "name": "Li"}, headers=A | key)
        assert other.status_code == 422
        assert other.json()["type"] == "/problems/idempotency-key-reused"
        again = api.post("/v1/members", json={"phone": "+8613100000001", "name": "Li"}, headers=A | key)
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"


def test_keys_are_scoped_to_the_caller(platform: Stack) -> None:
    key = {"Idempotency-Key": f"shared-{time.time_ns()}"}
    body = {"phone": "+8613100000003", "name": "Li"}
    with httpx.Client(base_url=platform.gateway_url, timeout=10) as api:
        a = api.post("/v1/members", json=body, headers=A | key)
        b = api.post("/v1/members", json=body, headers={"Authorization": "Bearer key-tenant-b"} | key)
    assert a.json()["id"] != b.json()["id"]
    assert "idempotent-replayed" not in b.headers
