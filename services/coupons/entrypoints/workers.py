"""Background loops of the coupons service: expiry and the budget's sweep every minute, scheduled
rules every day."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime

from chassis import logs
from services.coupons.service.housekeeping import BudgetBook, Expiry
from services.coupons.service.rules import RuleEngine

log = logs.get(__name__)


class ExpiryWorker:
    """Expiry, then the budget's sweep (on the real clock, never a time a caller chose)."""

    def __init__(
        self,
        expiry: Expiry,
        poll_seconds: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        budget: BudgetBook | None = None,
    ) -> None:
        self._expiry = expiry
        self._poll_seconds = poll_seconds
        self._clock = clock
        self._budget = budget

    async def run(self) -> None:
        while True:
            try:
                expired, warned = await self._expiry.run(self._clock())
                if expired or warned:
                    log.info("expiry pass", expired=expired, warned=warned)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("expiry pass failed", error=repr(exc))
            if self._budget is not None:
                try:
                    swept = await self._budget.sweep()
                    if swept:
                        log.info("budget sweep", **vars(swept))
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("budget sweep failed", error=repr(exc))
            await asyncio.sleep(self._poll_seconds)


class ScheduleWorker:
    """Starts the day's scheduled rules once a day (starting them twice starts nothing new)."""

    def __init__(
        self,
        rules: RuleEngine,
        poll_seconds: float = 600.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._rules = rules
        self._poll_seconds = poll_seconds
        self._clock = clock
        self._done: date | None = None

    async def run(self) -> None:
        while True:
            today = self._clock().date()
            if today != self._done:
                try:
                    started = await self._rules.run_schedule(today)
                    self._done = today
                    if started:
                        log.info("scheduled rules started", jobs=started, day=today.isoformat())
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("schedule pass failed", error=repr(exc))
            await asyncio.sleep(self._poll_seconds)
