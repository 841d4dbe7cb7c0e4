"""Session fixtures. The platform fixture runs the real services against real servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pymongo import MongoClient

from devstack.processes import SERVICES, Stack, free_port
from tests.support import fresh_namespace, server_urls


@pytest.fixture(scope="session")
def platform() -> Iterator[Stack]:
    """All four services and the gateway, in a namespace of their own, on free ports.

    Two replicas of members and of coupons, so every test also proves they work scaled out
    (the gateway and coupons spread their calls over the replicas).
    """
    mongodb, kafka = server_urls()
    stack = Stack(
        mongodb_url=mongodb,
        kafka_bootstrap_servers=kafka,
        namespace=fresh_namespace(),
        ports={name: free_port() for name in [*SERVICES, "gateway"]},
        replicas={"members": 2, "coupons": 2},
        api_keys={"key-tenant-a": "tenant-a", "key-tenant-b": "tenant-b", "key-tenant-wall": "tenant-wall"},
        gateway_env={
            "API_KEY_CACHE_SECONDS": "0",
            # Static test keys are shared by every test (and the fuzzer): keep them out of the way;
            # rate limits are proven with member tokens.
            "RATE_LIMIT_PER_SECOND": "1000",
            "RATE_LIMIT_BURST": "2000",
            "MEMBER_RATE_LIMIT_PER_SECOND": "5",
            "MEMBER_RATE_LIMIT_BURST": "20",
        },
    )
    try:
        stack.start_all()
        yield stack
    finally:
        stack.stop_all()


@pytest.fixture(scope="session")
def mongo() -> Iterator[MongoClient[dict[str, object]]]:
    client: MongoClient[dict[str, object]] = MongoClient(server_urls()[0], tz_aware=True)
    yield client
    client.close()
