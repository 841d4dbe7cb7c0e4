"""Background loop of the feedback service: the case clock (SLA breaches, follow-ups due,
resolutions a crash left half-done, surveys falling due, threads answered late), every
`poll_seconds`. Safe on every replica at once:
each effect is one guarded write of its case (service/clock.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from chassis import logs
from services.feedback.service.cases import utc_now
from services.feedback.service.clock import CaseClock

log = logs.get(__name__)


class CaseClockWorker:
    def __init__(self, clock: CaseClock, poll_seconds: float, now: Callable[[], datetime] = utc_now) -> None:
        self._clock = clock
        self._poll_seconds = poll_seconds
        self._now = now

    async def run(self) -> None:
        while True:
            try:
                summary = await self._clock.run(self._now())
                if (
                    summary.breaches
                    or summary.follow_ups_due
                    or summary.resolutions_finished
                    or summary.failed
                    or summary.surveys_due
                    or summary.thread_breaches
                ):
                    log.info(
                        "case clock",
                        breaches=summary.breaches,
                        follow_ups_due=summary.follow_ups_due,
                        resolutions_finished=summary.resolutions_finished,
                        surveys_due=summary.surveys_due,
                        thread_breaches=summary.thread_breaches,
                        failed=len(summary.failed),
                    )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("case clock pass failed", error=repr(exc))
            await asyncio.sleep(self._poll_seconds)
