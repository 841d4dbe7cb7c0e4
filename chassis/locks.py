"""Per-key locks inside one process, for read-modify-write sequences on one document.

FerretDB v1 (SQLite) runs an update as a query, then a separate write transaction, so two
concurrent updates of one document can lose one of them, `$inc` included (measured here:
internal/handler/msg_update.go queries, then backends/sqlite UpdateAll writes). A service
therefore serialises its own writes to a document through these locks. That makes one
replica per service safe on FerretDB; MongoDB's updates are atomic, so several replicas are
safe there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class KeyedLocks:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:  # nobody waits: forget it, so memory stays bounded
                del self._users[key]
                del self._locks[key]
