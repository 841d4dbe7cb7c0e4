"""Steps that must finish once started, whoever stops waiting for them.

A gRPC deadline or a client that hangs up cancels the handler's coroutine. A use case that
writes several documents in turn (a purchase, then its ledger entry, then the member) must
not stop between two of them merely because its caller gave up: it runs to the end in a task
of its own, and the caller's cancellation only stops the waiting. A crash can still stop it
midway; each such use case also has a path that completes it after a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_running: set[asyncio.Task[Any]] = set()


async def finish(step: Coroutine[Any, Any, T]) -> T:
    """Run `step` to completion even if the awaiting caller is cancelled."""
    task = asyncio.ensure_future(step)
    _running.add(task)
    task.add_done_callback(_running.discard)
    return await asyncio.shield(task)


async def drain(grace_seconds: float) -> None:
    """Wait (up to `grace_seconds`) for steps still running, before the process stops."""
    if _running:
        await asyncio.wait(set(_running), timeout=grace_seconds)
