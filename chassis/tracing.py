"""Request id and W3C trace context, carried from the gateway through gRPC into events.

The gateway sends `x-request-id` and `traceparent` as gRPC metadata; the service's gRPC
edge binds them here for the duration of the call; events created meanwhile carry the
trace as the CloudEvents distributed-tracing extension (`ce_traceparent`), and consumers
bind it again while they handle the event. Logs show both.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar

import structlog

_traceparent: ContextVar[str] = ContextVar("traceparent", default="")


def current_traceparent() -> str:
    return _traceparent.get()


def bind(request_id: str = "", traceparent: str = "") -> None:
    """Bind for the current task (each gRPC call and each consumed event runs in its own)."""
    _traceparent.set(traceparent)
    structlog.contextvars.bind_contextvars(request_id=request_id or None, traceparent=traceparent or None)


def bind_from_metadata(metadata: Iterable[tuple[str, str | bytes]] | None) -> None:
    md = {k: v if isinstance(v, str) else v.decode() for k, v in metadata or ()}
    bind(md.get("x-request-id", "")[:64], md.get("traceparent", "")[:64])
