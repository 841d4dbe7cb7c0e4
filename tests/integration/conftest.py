"""Fixtures of the integration tests: the services they need, in a namespace of their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.processes import Stack, free_port
from tests.support import fresh_namespace, server_urls


def _stack(*services: str) -> Iterator[Stack]:
    mongodb, kafka = server_urls()
    s = Stack(
        mongodb_url=mongodb,
        kafka_bootstrap_servers=kafka,
        namespace=fresh_namespace(),
        ports={name: free_port() for name in services},
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
