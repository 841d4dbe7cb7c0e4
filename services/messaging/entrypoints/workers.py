"""Background loop of the messaging service: the dispatcher's pass every `poll_seconds` —
messages whose time came (deferred by quiet hours or not_before, retried after back-off, or
left by a crash when their lease ran out). Safe on every replica at once: each message is
claimed with a lease before it is sent (service/dispatch.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from chassis import logs
from services.messaging.service.dispatch import Dispatcher

log = logs.get(__name__)


class DispatchWorker:
    def __init__(self, dispatcher: Dispatcher, poll_seconds: float, now: Callable[[], datetime]) -> None:
        self._dispatcher = dispatcher
        self._poll_seconds = poll_seconds
        self._now = now

    async def run(self) -> None:
        while True:
            try:
                s = await self._dispatcher.run(self._now())
                if s.sent or s.failed or s.deferred or s.capped or s.skipped or s.retried or s.lost:
                    log.info(
                        "dispatcher",
                        sent=s.sent,
                        failed=s.failed,
                        deferred=s.deferred,
                        capped=s.capped,
                        skipped=s.skipped,
                        retried=s.retried,
                        left=len(s.lost),
                    )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("dispatcher pass failed", error=repr(exc))
            await asyncio.sleep(self._poll_seconds)
