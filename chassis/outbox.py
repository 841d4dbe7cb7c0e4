"""Transactional outbox inside the aggregate's own document, with a small queue to relay from.

FerretDB v1 has no multi-document transactions, so the only atomic unit is one document.
A state change therefore writes its events into the same document, under
`_outbox.<event id>`, in the same insert or update (`embed` / `embed_set`). Right after
that write the repository calls `Outbox.track(collection, doc_id)`, which puts the document
on the `outbox_queue` collection. The queue holds only documents with unsent events, so
the relay reads it cheaply however large the aggregate collections grow (on FerretDB only
`_id` lookups are indexed; any other query scans the whole collection). One queue entry
covers every event of its document, so a document carrying a batch of events (a handover
of 500 members) costs a handful of writes, not a handful per event.

- Crash between the write and `track`: the events are only embedded. A sweep (at start and
  every `sweep_seconds`) scans the aggregate collections for documents with events older
  than a grace period and queues them. This scan is the only full scan, and it is rare.
- Crash after publishing and before clean-up: the events are published again; consumers
  deduplicate on the event id.
So nothing is lost and nothing counts twice. Several replicas may relay at once; the worst
case is again a duplicate delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from bson.binary import Binary
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from chassis import faults, logs, metrics
from chassis.cloudevents import Envelope
from chassis.kafka import EventPublisher
from chassis.locks import KeyedLocks
from chassis.mongo import Document, insert_once

log = logs.get(__name__)

OUTBOX_QUEUE = "outbox_queue"
EMBEDDED_INDEX = IndexModel([("_outbox_at", ASCENDING)], name="outbox_pending")


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


def embed(topic: str, *events: Envelope) -> Document:
    """Fields to include in a document being inserted, carrying its events."""
    return {"_outbox": {e.id: _entry(topic, e) for e in events}, "_outbox_at": datetime.now(UTC)}


def embed_set(topic: str, *events: Envelope) -> Document:
    """A `$set` fragment that adds events to an existing document in the same update."""
    fragment: Document = {f"_outbox.{e.id}": _entry(topic, e) for e in events}
    fragment["_outbox_at"] = datetime.now(UTC)
    return fragment


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


def _queue_id(collection: str, doc_id: Any) -> str:
    return lock_key(collection, doc_id)


def lock_key(collection: str, doc_id: Any) -> str:
    """The key writers of a document lock (`Outbox.locks`) while they read-modify-write it."""
    return f"{collection}/{doc_id}"


class Outbox:
    """Queues documents with embedded events and relays the events to Kafka."""

    def __init__(
        self,
        db: AsyncDatabase[Document],
        publisher: EventPublisher,
        collections: list[str],
        *,
        poll_seconds: float = 0.5,
        sweep_seconds: float = 60.0,
        sweep_grace_seconds: float = 10.0,
        batch_size: int = 100,
        locks: KeyedLocks | None = None,
    ) -> None:
        self._db = db
        self.locks = locks or KeyedLocks()
        self._queue = db[OUTBOX_QUEUE]
        self._publisher = publisher
        self.collections = collections
        self._poll_seconds = poll_seconds
        self._sweep_seconds = sweep_seconds
        self._grace = timedelta(seconds=sweep_grace_seconds)
        self._batch_size = batch_size
        self._wake = asyncio.Event()

    async def track(self, collection: str, doc_id: Any) -> None:
        """Queue a document whose write just embedded events."""
        faults.crash_point("outbox_before_track")
        await insert_once(
            self._queue, {"_id": _queue_id(collection, doc_id), "collection": collection, "doc_id": doc_id}
        )
        self._wake.set()

    async def run(self) -> None:
        """Relay forever: publish on every nudge or poll, sweep now and then."""
        next_sweep = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                if loop.time() >= next_sweep:
                    await self.sweep()
                    next_sweep = loop.time() + self._sweep_seconds
                await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay pass failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
            self._wake.clear()

    async def drain(self) -> int:
        """Publish the events of every queued document; return how many were published."""
        published = 0
        while True:
            batch = await self._queue.find({}).limit(self._batch_size).to_list()
            metrics.OUTBOX_PENDING.labels(OUTBOX_QUEUE).set(len(batch))
            for queued in batch:
                published += await self._relay(queued)
            if len(batch) < self._batch_size:
                return published

    async def _relay(self, queued: Document) -> int:
        # The aggregate's own writers hold the same lock: on FerretDB an update is a read then a
        # write, so an unlocked clean-up here could undo their change (see chassis.locks).
        async with self.locks.hold(_queue_id(queued["collection"], queued["doc_id"])):
            return await self._relay_locked(queued)

    async def _relay_locked(self, queued: Document) -> int:
        aggregate = self._db[queued["collection"]]
        doc = await aggregate.find_one({"_id": queued["doc_id"]}, {"_outbox": 1})
        outbox: dict[str, Document] = (doc or {}).get("_outbox") or {}
        ids = sorted(outbox)  # ULIDs: creation order
        if ids:
            await self._publisher.publish_many([(outbox[i]["topic"], _envelope(i, outbox[i])) for i in ids])
            faults.crash_point("outbox_after_publish")
            await aggregate.update_one(
                {"_id": queued["doc_id"]}, {"$unset": {f"_outbox.{i}": "" for i in ids}}
            )
        # Clears the marker only if no new event arrived meanwhile; otherwise stay queued.
        cleared = await aggregate.update_one(
            {"_id": queued["doc_id"], "_outbox": {}}, {"$unset": {"_outbox": "", "_outbox_at": ""}}
        )
        if cleared.modified_count or not ids:
            await self._queue.delete_one({"_id": queued["_id"]})
        return len(ids)

    async def sweep(self) -> int:
        """Queue documents whose events a crash left unqueued; return how many were found.

        Cross-tenant on purpose: the relay is infrastructure, not a tenant's query.
        """
        found = 0
        cutoff = datetime.now(UTC) - self._grace
        for name in self.collections:
            async for doc in self._db[name].find({"_outbox_at": {"$lte": cutoff}}, {"_id": 1}):
                found += 1
                await insert_once(
                    self._queue,
                    {"_id": _queue_id(name, doc["_id"]), "collection": name, "doc_id": doc["_id"]},
                )
        if found:
            log.info("outbox sweep queued documents with unsent events", count=found)
        return found
