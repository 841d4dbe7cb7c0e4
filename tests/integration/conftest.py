"""Fixtures of the integration tests: the services they need, in a namespace of their own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from functools import partial

import pytest
from aiohttp import web
from aiokafka.admin import AIOKafkaAdminClient

from devstack.processes import Stack, free_port
from tests.support import eventually, fresh_namespace, server_urls


def _stack(*services: str, replicas: dict[str, int] | None = None) -> Iterator[Stack]:
    mongodb, kafka = server_urls()
    s = Stack(
        mongodb_url=mongodb,
        kafka_bootstrap_servers=kafka,
        namespace=fresh_namespace(),
        ports={name: free_port() for name in services},
        replicas=replicas or {},
    )
    try:
        for name in services:
            s.start(name)
        yield s
    finally:
        s.stop_all()


@pytest.fixture
def stack() -> Iterator[Stack]:
    """The members service alone."""
    yield from _stack("members")


@pytest.fixture
def coupons_stack() -> Iterator[Stack]:
    """Members and coupons (coupons streams segments from members)."""
    yield from _stack("members", "coupons")


@pytest.fixture
def feedback_stack() -> Iterator[Stack]:
    """Members, coupons (compensation coupons) and feedback."""
    yield from _stack("members", "coupons", "feedback")


@pytest.fixture
def coupons_replicas() -> Iterator[Stack]:
    """Members and two replicas of coupons (coupon_support.coupons_channel spreads calls over both)."""
    yield from _stack("members", "coupons", replicas={"coupons": 2})


def _group_settled(stack: Stack, name: str, members: int) -> bool:
    """Whether the service's consumer group is stable with `members` members (rebalance over)."""

    async def describe() -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap_servers)
        await admin.start()
        try:
            reply = await admin.describe_consumer_groups([f"{stack.namespace}regulars.{name}"])
        finally:
            await admin.close()
        _, _, state, _, _, joined = reply[0].groups[0]
        return bool(state == "Stable" and len(joined) == members)

    return asyncio.run(describe())


@pytest.fixture
def members_replicas() -> Iterator[Stack]:
    """Two replicas of the members service (`stack.replica_ports["members"]`), as in production.

    Ready once both serve gRPC and their consumer group is stable, so its rebalance is over
    before the test writes (a rebalance during a test is a different test: today it can stop a
    replica, chassis/consumer.py); a replica that died during the test fails it at teardown.
    """
    mongodb, kafka = server_urls()
    s = Stack(
        mongodb_url=mongodb,
        kafka_bootstrap_servers=kafka,
        namespace=fresh_namespace(),
        ports={"members": free_port()},
        replicas={"members": 2},
    )
    try:
        s.start("members")
        eventually(partial(_group_settled, s, "members", 2), 60, interval=0.5)
        yield s
        dead = [p.name for p in s.replica_processes("members") if not p.alive]
        assert not dead, f"members replicas died during the test: {dead}"
    finally:
        s.stop_all()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Starts an HTTP server answering every request with `handler`; yields its base URL."""
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> str:
        async def route(request: web.Request) -> web.StreamResponse:
            return await handler(request)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", route)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()
