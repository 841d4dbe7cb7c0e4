"""Helpers shared by the integration and end-to-end tests."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

import grpc
from google.rpc import error_details_pb2, status_pb2
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


def bad_field(error: grpc.aio.AioRpcError) -> str:
    """The request field an INVALID_ARGUMENT names (google.rpc.BadRequest in the trailers)."""
    for key, raw in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            rich = status_pb2.Status.FromString(raw)
            bad = error_details_pb2.BadRequest()
            if rich.details and rich.details[0].Unpack(bad) and bad.field_violations:
                return str(bad.field_violations[0].field)
    return ""
