"""Templates as read at most a moment ago, for claims and issues.

In a flash sale every claim would read its template from the store: the same document,
hundreds of times a second, a quarter of a claim's store calls. An active template is kept
for `seconds` after the read that found it (50 ms by default), and claims that miss at the
same moment share one read. A pause, an end or an edit so reaches claims on every replica at
most that much later — less than a claim under load already spends between its template read
and its insert. A template that is not active is never kept: an activation counts at once.
Stock and limits do not depend on it: the coupon's insert judges those.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from services.coupons.domain.templates import StoredTemplate, TemplateState
from services.coupons.service.ports import TemplateReader

KEPT_AT_MOST = 1024  # templates; past it, the expired ones are dropped

Key = tuple[str, str]


class RecentTemplates:
    def __init__(
        self, templates: TemplateReader, seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._templates = templates
        self._seconds = seconds
        self._clock = clock
        self._kept: dict[Key, tuple[float, StoredTemplate]] = {}
        self._reading: dict[Key, asyncio.Future[StoredTemplate | None]] = {}

    async def get(self, tenant_id: str, template_id: str) -> StoredTemplate | None:
        key = (tenant_id, template_id)
        kept = self._kept.get(key)
        if kept is not None and kept[0] > self._clock():
            return kept[1]
        reading = self._reading.get(key)
        if reading is None:
            reading = self._reading[key] = asyncio.ensure_future(self._read(key))
            reading.add_done_callback(_retrieved)
        # A claim stopped by its deadline does not stop the read the others wait for.
        return await asyncio.shield(reading)

    async def _read(self, key: Key) -> StoredTemplate | None:
        started = self._clock()  # kept from before the read: never longer than `seconds`
        try:
            found = await self._templates.get(*key)
        finally:
            del self._reading[key]
        if found is not None and found.template.state is TemplateState.ACTIVE and self._seconds > 0:
            if len(self._kept) >= KEPT_AT_MOST:
                self._kept = {k: v for k, v in self._kept.items() if v[0] > started}
            self._kept[key] = (started + self._seconds, found)
        return found


def _retrieved(reading: asyncio.Future[StoredTemplate | None]) -> None:
    """Mark a failed read's error seen: the claims that waited for it got it (or were stopped)."""
    if not reading.cancelled():
        reading.exception()
