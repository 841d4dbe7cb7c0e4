"""Transactional outbox inside the aggregate's own document, relayed from an index.

Neither MongoDB without a replica-set transaction nor FerretDB v1 can write two documents
atomically, so the only atomic unit is one document. A state change therefore writes its
events into the same document, under `_outbox.<event id>`, in the same insert or update
(`embed` / `embed_set`), which also sets `_outbox_at` (indexed) and `_outbox_v` (a fresh
token per write). The relay finds documents with unsent events through the `_outbox_at`
index — only those are in its range, however large the collection — a page at a time (the
next page is read while the previous is published and cleared), publishes a page's events in
one batch and clears the page with one update conditional on the `_outbox_v` each
document had when read (tokens are unique, so `_outbox_v $in <tokens read>` matches exactly the
documents unchanged since), so an event added meanwhile is never cleared unsent.

- Crash before publishing: the events stay embedded and are found on the next pass.
- Crash after publishing and before clearing: they are published again; consumers
  deduplicate on the event id.
So nothing is lost and nothing counts twice. One replica relays at a time (a lease document
renewed every pass): two relays would be correct but would publish everything twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

from bson.binary import Binary
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from ulid import ULID

from chassis import faults, logs, metrics
from chassis.cloudevents import Envelope
from chassis.kafka import EventPublisher
from chassis.mongo import Document

log = logs.get(__name__)

EMBEDDED_INDEX = IndexModel([("_outbox_at", ASCENDING)], name="outbox_pending")
LEASES = "outbox_lease"
_PENDING = {"_outbox_at": {"$lte": datetime(9999, 1, 1, tzinfo=UTC)}}  # a range the index answers


def _entry(topic: str, event: Envelope) -> dict[str, Any]:
    return {
        "topic": topic,
        "type": event.type,
        "source": event.source,
        "time": event.time,
        "subject": event.subject,
        "tenant_id": event.tenant_id,
        "data": Binary(event.data),
        "traceparent": event.traceparent,
    }


def _marks() -> Document:
    return {"_outbox_at": datetime.now(UTC), "_outbox_v": str(ULID())}


def embed(topic: str, *events: Envelope) -> Document:
    """Fields to include in a document being inserted, carrying its events."""
    return {"_outbox": {e.id: _entry(topic, e) for e in events}} | _marks()


def embed_set(topic: str, *events: Envelope) -> Document:
    """A `$set` fragment that adds events to an existing document in the same update."""
    fragment: Document = {f"_outbox.{e.id}": _entry(topic, e) for e in events}
    return fragment | _marks()


def _envelope(event_id: str, entry: Document) -> Envelope:
    return Envelope(
        id=event_id,
        type=entry["type"],
        source=entry["source"],
        time=entry["time"],
        subject=entry["subject"],
        tenant_id=entry["tenant_id"],
        data=bytes(entry["data"]),
        traceparent=entry.get("traceparent", ""),
    )


class Outbox:
    """Relays the events embedded in a service's aggregate documents to Kafka."""

    def __init__(
        self,
        db: AsyncDatabase[Document],
        publisher: EventPublisher,
        collections: list[str],
        *,
        poll_seconds: float = 0.5,
        batch_size: int = 500,
        lease_seconds: float = 10.0,
        gather_seconds: float = 0.02,
        follow_seconds: float = 1.0,
    ) -> None:
        self._db = db
        self._publisher = publisher
        self.collections = collections
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        self._lease = timedelta(seconds=lease_seconds)
        self._me = f"{socket.gethostname()}:{os.getpid()}:{ULID()}"
        self._gather = gather_seconds
        self._follow = follow_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """A write just embedded events: relay now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Relay forever while holding the lease; poll, or run at once when woken.

        Only this process's writes wake it: another replica's (which holds no lease) and other
        writers' are found by polling. So for `follow_seconds` after a pass that published
        something, it polls every `gather_seconds` rather than every `poll_seconds`: a burst from
        elsewhere is followed closely, and an idle relay still costs one indexed read a poll."""
        loop = asyncio.get_running_loop()
        last_published = float("-inf")
        while True:
            try:
                if await self._hold_lease() and await self.drain():
                    last_published = loop.time()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay pass failed", error=repr(exc))
            following = loop.time() - last_published < self._follow
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._gather if following else self._poll_seconds)
                await asyncio.sleep(self._gather)  # let a burst of writes join one batch
            self._wake.clear()

    async def _hold_lease(self) -> bool:
        """Take or renew the relay lease; False while another live replica holds it."""
        leases = self._db[LEASES]
        now = datetime.now(UTC)
        renewed = await leases.find_one_and_update(
            {"_id": "relay", "$or": [{"holder": self._me}, {"until": {"$lte": now}}]},
            {"$set": {"holder": self._me, "until": now + self._lease}},
        )
        if renewed is not None:
            return True
        try:
            await leases.insert_one({"_id": "relay", "holder": self._me, "until": now + self._lease})
        except DuplicateKeyError:
            return False
        return True

    async def drain(self) -> int:
        """Publish the events of every document that has some; return how many were published."""
        published = 0
        for name in self.collections:
            while True:
                count, paged = await self._pass(name)
                published += count
                if not paged:  # the whole backlog fitted one page: nothing was stepped over
                    break
        return published

    async def _pass(self, collection: str) -> tuple[int, bool]:
        """One walk along the pending index, a page at a time; the next page is read while the
        previous one is published and cleared, so the store's reads and writes overlap. A page
        starts after the latest `_outbox_at` of the one before; the index answers in that order,
        but the walk does not depend on it: a document stepped over (same millisecond as a page
        end, or not returned in order) is found by the next pass, which `drain` runs whenever
        this one needed more than a page. Returns (events published, whether it paged)."""
        published, paged = 0, False
        page = asyncio.create_task(self._page(collection, None))
        try:
            while True:
                docs = await page
                metrics.OUTBOX_PENDING.labels(collection).set(len(docs))
                full = len(docs) == self._batch_size
                if full:
                    paged = True
                    page = asyncio.create_task(self._page(collection, max(d["_outbox_at"] for d in docs)))
                published += await self._relay(collection, docs)
                if not full:
                    return published, paged
        finally:
            if not page.done():
                page.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await page

    async def _page(self, collection: str, after: datetime | None) -> list[Document]:
        pending = _PENDING if after is None else {"_outbox_at": {"$gt": after, **_PENDING["_outbox_at"]}}
        return await (
            self._db[collection]
            .find(pending, {"_outbox": 1, "_outbox_v": 1, "_outbox_at": 1})
            .limit(self._batch_size)
            .to_list()
        )

    async def _relay(self, collection: str, docs: list[Document]) -> int:
        batch = [
            (entry["topic"], _envelope(event_id, entry))
            for doc in docs
            for event_id, entry in sorted((doc.get("_outbox") or {}).items())  # ULIDs: creation order
        ]
        if batch:
            await self._publisher.publish_many(batch)
            faults.crash_point("outbox_after_publish")
        await self._clear(collection, docs)
        return len(batch)

    async def _clear(self, collection: str, docs: list[Document]) -> None:
        """Remove the published events: in one update for the documents unchanged since read;
        for any that gained events meanwhile, only the published ones."""
        if not docs:
            return
        aggregate = self._db[collection]
        read = {doc["_id"]: doc for doc in docs}
        versions = [doc["_outbox_v"] for doc in docs if doc.get("_outbox_v")]
        cleared = await aggregate.update_many(
            {"_id": {"$in": list(read)}, "_outbox_v": {"$in": versions}},
            {"$unset": {"_outbox": "", "_outbox_at": "", "_outbox_v": ""}},
        )
        if cleared.modified_count == len(docs):
            return
        changed = aggregate.find(
            {"_id": {"$in": list(read)}, "_outbox_at": {"$exists": True}}, {"_outbox_v": 1}
        )
        async for doc in changed:
            published = read[doc["_id"]].get("_outbox") or {}
            if doc.get("_outbox_v") is None:  # written before tokens existed: nothing can be newer
                await aggregate.update_one(
                    {"_id": doc["_id"], "_outbox_v": {"$exists": False}},
                    {"$unset": {f"_outbox.{i}": "" for i in published} | {"_outbox_at": ""}},
                )
            elif published:
                await aggregate.update_one(
                    {"_id": doc["_id"]}, {"$unset": {f"_outbox.{i}": "" for i in published}}
                )
