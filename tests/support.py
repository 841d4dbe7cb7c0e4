"""Helpers shared by the integration and end-to-end tests."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

from ulid import ULID

T = TypeVar("T")


def server_urls() -> tuple[str, str]:
    """MongoDB URL and Kafka bootstrap servers; `make test` sets both."""
    mongodb = os.environ.get("MONGODB_URL", "")
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if not mongodb or not kafka:
        raise RuntimeError(
            "MONGODB_URL and KAFKA_BOOTSTRAP_SERVERS must be set: run the tests with `make test`"
        )
    return mongodb, kafka


def fresh_namespace() -> str:
    """A prefix no other test run uses, for databases, topics and consumer groups."""
    return f"t{str(ULID()).lower()[-10:]}_"


def eventually(probe: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.2) -> T:
    """Poll until `probe` returns something truthy; fail with the last value otherwise."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s (last value: {last!r})")
