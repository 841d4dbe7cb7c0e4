"""Templates and policies as the sending path reads them (and attribution, the policy's
window): kept in this process for `ttl` seconds, so a send, a purchase or a claimed coupon costs
no store read for what changes a few times a day.

A change therefore reaches sends and attribution within `ttl` (a second by default;
MESSAGING_CACHE_SECONDS, 0 turns it off) on every replica. Only those read through here:
reading a template or the policy back through the API (service/templates.py, policies.py)
reads the store, so an admin always sees their own change at once. Bounded: the least
recently read entries go first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from services.messaging.domain.policy import MessagingPolicy
from services.messaging.domain.templates import Template
from services.messaging.service.ports import PolicyStore, TemplateStore

V = TypeVar("V")
MAX_ENTRIES = 10_000


class _Recent(Generic[V]):
    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self._ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], tuple[float, V]] = OrderedDict()

    async def get(self, key: tuple[str, str], load: Callable[[], Awaitable[V]]) -> V:
        if self._ttl <= 0:
            return await load()
        now = self._clock()
        found = self._entries.get(key)
        if found is not None and found[0] > now:
            self._entries.move_to_end(key)
            return found[1]
        value = await load()
        self._entries[key] = (now + self._ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)
        return value


class CachedTemplates:
    def __init__(self, store: TemplateStore, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._recent: _Recent[Template | None] = _Recent(ttl, clock)

    async def get(self, tenant_id: str, template_id: str) -> Template | None:
        return await self._recent.get(
            (tenant_id, template_id), lambda: self._store.get(tenant_id, template_id)
        )


class CachedPolicies:
    def __init__(self, store: PolicyStore, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._recent: _Recent[MessagingPolicy] = _Recent(ttl, clock)

    async def current(self, tenant_id: str) -> MessagingPolicy:
        return await self._recent.get((tenant_id, ""), lambda: self._store.current(tenant_id))
