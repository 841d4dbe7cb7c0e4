"""Runs the calendar once a day (and catches up on days the service was down).

Every replica runs it; a day run by two replicas at once, or twice, has each effect once
(service/calendar.py says how), so no lease is needed for correctness.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from chassis import logs
from services.members.domain.calendar import days_between
from services.members.service.calendar import Calendar

log = logs.get(__name__)


class CalendarWorker:
    def __init__(
        self,
        calendar: Calendar,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        poll_seconds: float = 600.0,
    ) -> None:
        self._calendar = calendar
        self._clock = clock
        self._poll_seconds = poll_seconds

    async def run(self) -> None:
        while True:
            try:
                today = self._clock().date()
                last = await self._calendar.last_day() or today - timedelta(days=1)
                for day in days_between(last, today):
                    counts = await self._calendar.run_day(day)
                    log.info("calendar day done", day=day.isoformat(), **counts)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("calendar pass failed", error=repr(exc))
            await asyncio.sleep(self._poll_seconds)
