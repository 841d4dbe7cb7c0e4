"""Transactional outbox inside the aggregate's own document.

FerretDB v1 has no multi-document transactions, so the only atomic unit is one document.
A state change therefore writes its events into the same document, under
`_outbox.<event id>`, in the same insert or update, and sets `_outbox_at`. The relay
publishes pending events (oldest document first, events in id order, which is creation
order because ids are ULIDs), then removes each one it published.

A crash after the write and before publishing leaves the event in the document: the
relay finds it on restart. A crash after publishing and before removal publishes it
again: consumers deduplicate on the event id. So nothing is lost and nothing counts twice.
Several replicas may relay at once; the worst case is again a duplicate delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

from bson.binary import Binary
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from chassis import faults, logs, metrics
from chassis.cloudevents import Envelope
from chassis.kafka import EventPublisher
from chassis.mongo import Document

log = logs.get(__name__)

OUTBOX_INDEX = IndexModel([("_outbox_at", ASCENDING)], name="outbox_pending")


def _entry(topic: str, event: Envelope) -> dict[str, Any]:
    return {
        "topic": topic,
        "type": event.type,
        "source": event.source,
        "time": event.time,
        "subject": event.subject,
        "tenant_id": event.tenant_id,
        "data": Binary(event.data),
    }


def pending(topic: str, *events: Envelope) -> Document:
    """Fields to include in a document being inserted, carrying its events."""
    return {"_outbox": {e.id: _entry(topic, e) for e in events}, "_outbox_at": datetime.now(UTC)}


def pending_set(topic: str, *events: Envelope) -> Document:
    """A `$set` fragment that adds events to an existing document in the same update."""
    fragment: Document = {f"_outbox.{e.id}": _entry(topic, e) for e in events}
    fragment["_outbox_at"] = datetime.now(UTC)
    return fragment


class OutboxRelay:
    """Publishes what state changes left in `_outbox`; nudge() it after a write for low latency."""

    def __init__(
        self,
        db: AsyncDatabase[Document],
        collections: list[str],
        publisher: EventPublisher,
        poll_seconds: float,
        batch_size: int = 100,
    ) -> None:
        self._db = db
        self._collections = collections
        self._publisher = publisher
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        self._wake = asyncio.Event()

    def nudge(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay pass failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
            self._wake.clear()

    async def drain(self) -> int:
        """Publish every pending event once; return how many were published."""
        published = 0
        for name in self._collections:
            collection = self._db[name]
            # Cross-tenant on purpose: the relay is infrastructure, not a tenant's query.
            cursor = (
                collection.find({"_outbox_at": {"$exists": True}}, {"_outbox": 1})
                .sort("_outbox_at", ASCENDING)
                .limit(self._batch_size)
            )
            docs = await cursor.to_list()
            metrics.OUTBOX_PENDING.labels(name).set(len(docs))
            for doc in docs:
                published += await self._publish_document(name, doc)
        return published

    async def _publish_document(self, collection_name: str, doc: Document) -> int:
        collection = self._db[collection_name]
        outbox: dict[str, Document] = doc.get("_outbox") or {}
        for event_id in sorted(outbox):
            entry = outbox[event_id]
            event = Envelope(
                id=event_id,
                type=entry["type"],
                source=entry["source"],
                time=entry["time"],
                subject=entry["subject"],
                tenant_id=entry["tenant_id"],
                data=bytes(entry["data"]),
            )
            await self._publisher.publish(entry["topic"], event)
            faults.crash_point("outbox_after_publish")
            await collection.update_one({"_id": doc["_id"]}, {"$unset": {f"_outbox.{event_id}": ""}})
        # Only clears the marker if no new event arrived meanwhile.
        await collection.update_one(
            {"_id": doc["_id"], "_outbox": {}}, {"$unset": {"_outbox": "", "_outbox_at": ""}}
        )
        return len(outbox)
