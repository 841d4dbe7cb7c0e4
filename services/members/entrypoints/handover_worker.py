"""Background worker that runs handovers: started by StartHandover, resumed after a restart.

Every replica runs it, so one handover may run on two replicas at once; that is harmless
(service/directory.py:run_handover): the transfer is a set of idempotent `$set`/`$addToSet`
writes; announcements go out in batches whose `_id` is the handover and the batch's first
member, cut from the cursor in `_id` order over members whose set no longer changes once the
leaver's codes have moved, so both runners cut the same batches and each is inserted (with
its events) once; the cursor only moves forward (`$max`); finishing counts distinct members.
"""

from __future__ import annotations

import asyncio
import contextlib

from chassis import logs
from services.members.service import directory
from services.members.service.ports import HandoverRepository

log = logs.get(__name__)


class HandoverWorker:
    def __init__(self, handovers: HandoverRepository, poll_seconds: float = 30.0) -> None:
        self._handovers = handovers
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()

    def nudge(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                for handover in await self._handovers.running():
                    log.info("handover running", handover_id=handover.id, tenant_id=handover.tenant_id)
                    await directory.run_handover(handover, self._handovers)
                    log.info("handover done", handover_id=handover.id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("handover pass failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
