"""Runs each tenant's calendar day once it has begun in the tenant's zone (and catches up on
days the service was down): a pass every few minutes, in UTC, runs whatever days are due
(domain/calendar_days.py), so a Shanghai tenant's day runs soon after 16:00 UTC the day before.

Every replica runs it; a day run by two replicas at once, or twice, has each effect once
(service/calendar.py says how), so no lease is needed for correctness.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from chassis import logs
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
            await self.run_once()
            await asyncio.sleep(self._poll_seconds)

    async def run_once(self) -> None:
        """One pass: the days due now; a failure is logged and the next pass tries again."""
        try:
            async for day, counts in self._calendar.catch_up(self._clock()):
                log.info("calendar day done", day=day.day.isoformat(), time_zone=day.zone, **counts)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("calendar pass failed", error=repr(exc))
