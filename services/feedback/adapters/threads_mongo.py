"""Questions and suggestions in MongoDB: one document per thread (`_id` = the thread's id), its
messages in it, the facts each write announces embedded in that same write (outbox).

An insert is once per id: the `_id` index decides, and the loser reads and returns the stored
thread, its facts never written again. A save is one update conditional on the version read
(`{_id, tenant_id, version}` in the filter) that sets the thread's fields and adds its facts'
events, so a stale save writes and announces nothing. Every query names the tenant, except
the clock's `overdue`, a range on its own index over `next_due` (documents.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from chassis import outbox
from chassis.errors import Unavailable
from chassis.mongo import Document, find_for_tenant, retry_busy
from services.feedback.adapters import events
from services.feedback.adapters.documents import thread_doc, thread_from
from services.feedback.domain.events import ThreadFact
from services.feedback.domain.threads import Thread, ThreadKind, ThreadState

THREADS = "threads"
_NEWEST = [("opened_at", DESCENDING), ("_id", DESCENDING)]
INDEXES = {
    THREADS: [
        IndexModel(
            [("tenant_id", ASCENDING), ("member_id", ASCENDING), ("opened_at", DESCENDING)],
            name="member_threads",
        ),
        IndexModel(
            [("tenant_id", ASCENDING), ("store_id", ASCENDING), ("opened_at", DESCENDING)],
            name="store_threads",
        ),
        IndexModel(
            [("tenant_id", ASCENDING), ("state", ASCENDING), ("opened_at", DESCENDING)],
            name="state_threads",
        ),
        IndexModel(
            [("tenant_id", ASCENDING), ("kind", ASCENDING), ("opened_at", DESCENDING)],
            name="kind_threads",
        ),
        IndexModel([("next_due", ASCENDING)], name="thread_due"),
    ],
}
OUTBOX_COLLECTIONS = [THREADS]


class MongoThreads:
    def __init__(self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox) -> None:
        self._threads = db[THREADS]
        self._topic = topic
        self._outbox = out

    async def insert(self, thread: Thread, facts: Sequence[ThreadFact]) -> tuple[Thread, bool]:
        """Stored with its facts in one insert; the thread stored first when the id is taken."""
        doc = thread_doc(thread)
        if facts:
            doc |= outbox.embed(self._topic, *events.envelopes(facts))
        try:
            await retry_busy(lambda: self._threads.insert_one(doc))
        except DuplicateKeyError:
            stored = await find_for_tenant(self._threads, thread.tenant_id, thread.id)
            if stored is None:  # the id is another tenant's: ids are derived with the tenant
                raise Unavailable(f"thread id {thread.id} is taken; try again") from None
            return thread_from(stored), False
        if facts:
            self._outbox.wake()
        return thread, True

    async def get(self, tenant_id: str, thread_id: str) -> Thread | None:
        doc = await find_for_tenant(self._threads, tenant_id, thread_id)
        return thread_from(doc) if doc else None

    async def save(self, thread: Thread, expected_version: int, facts: Sequence[ThreadFact]) -> bool:
        fields = thread_doc(thread)
        del fields["_id"]
        if facts:
            fields |= outbox.embed_set(self._topic, *events.envelopes(facts))
        result = await retry_busy(
            lambda: self._threads.update_one(
                {"_id": thread.id, "tenant_id": thread.tenant_id, "version": expected_version},
                {"$set": fields},
            )
        )
        if result.matched_count != 1:
            return False
        if facts:
            self._outbox.wake()
        return True

    async def find(
        self,
        tenant_id: str,
        member_id: str,
        store_id: str,
        state: ThreadState | None,
        kind: ThreadKind | None,
        limit: int,
    ) -> list[Thread]:
        query: Document = {"tenant_id": tenant_id}
        if member_id:
            query["member_id"] = member_id
        if store_id:
            query["store_id"] = store_id
        if state is not None:
            query["state"] = state.value
        if kind is not None:
            query["kind"] = kind.value
        return [thread_from(d) async for d in self._threads.find(query).sort(_NEWEST).limit(limit)]

    async def of_member(self, tenant_id: str, member_id: str) -> list[Thread]:
        """Every thread of the member, on `member_threads`."""
        found = self._threads.find({"tenant_id": tenant_id, "member_id": member_id}).sort(_NEWEST)
        return [thread_from(d) async for d in found]

    async def overdue(self, now: datetime, limit: int) -> list[Thread]:
        """System-wide (every tenant), for the case clock: threads whose first response, not
        given nor recorded as breached, was due before `now`, earliest first, on `thread_due`."""
        found = self._threads.find({"next_due": {"$lt": now}}).sort("next_due", ASCENDING).limit(limit)
        return [thread_from(d) async for d in found]
