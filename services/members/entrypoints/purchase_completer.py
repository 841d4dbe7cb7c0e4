"""Background loop that finishes purchases a crash cut off between their steps, within seconds,
and frees the reservations of capped rule points a crash left before its purchase was written.

Every replica runs it: each pass reads the few purchases still pending past the grace period
(an indexed query) and applies them; the apply is idempotent (a versioned, marker-guarded
update of the member), so two replicas finishing the same purchase at once count it once. Then
it reads the reservations older than rule_caps.GRACE (five minutes; an indexed query) and frees
those no purchase was recorded under, each once however many replicas try (service/rule_caps.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from chassis import logs
from services.members.service.purchases import PurchaseEffects
from services.members.service.rule_caps import RuleCaps

log = logs.get(__name__)


class PurchaseCompleter:
    def __init__(
        self,
        effects: PurchaseEffects,
        caps: RuleCaps,
        poll_seconds: float = 2.0,
        grace: timedelta = timedelta(seconds=5),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._effects = effects
        self._caps = caps
        self._poll_seconds = poll_seconds
        self._grace = grace
        self._clock = clock

    async def run(self) -> None:
        while True:
            try:
                done, failed = await self._effects.complete_pending(self._clock(), self._grace)
                if done:
                    log.info("pending purchases completed", count=done)
                for purchase_id, exc in failed.items():
                    log.warning("pending purchase not completed", purchase_id=purchase_id, error=repr(exc))
                freed = await self._caps.free_abandoned(self._clock())
                if freed:
                    log.info("abandoned rule cap reservations freed", count=freed)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("purchase completion pass failed", error=repr(exc))
            await asyncio.sleep(self._poll_seconds)
