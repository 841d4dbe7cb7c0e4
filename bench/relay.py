"""Events written to the store but not yet relayed to Kafka, Kafka's end offsets, the outbox
drain rate of a burst of writes, and of a backlog the relay was held off from.

A service's pending events live in its aggregate documents (`_outbox.<event id>`, see
chassis/outbox.py), and such a document has `_outbox_at` (indexed) until the relay clears it.
"Events not yet relayed" is therefore counted per collection with the range the relay itself
uses, which the index answers, in every collection of a service database that has that index.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from chassis.outbox import LEASES
from devstack.processes import SERVICES

PENDING = {"_outbox_at": {"$lte": datetime(9999, 1, 1, tzinfo=UTC)}}  # a range the index answers
POLL_SECONDS = 0.2
R = TypeVar("R")

Db = Any  # an AsyncDatabase of documents


async def outbox_collections(db: Db) -> list[str]:
    """The collections of a service database that carry embedded events (the `_outbox_at` index)."""
    names = []
    for name in sorted(await db.list_collection_names()):
        indexes = await (await db[name].list_indexes()).to_list()
        if any("_outbox_at" in dict(ix["key"]) for ix in indexes):
            names.append(name)
    return names


async def pending(db: Db, collections: list[str]) -> int:
    """Documents of these collections whose events are not relayed yet."""
    counts = await asyncio.gather(*(db[name].count_documents(PENDING) for name in collections))
    return sum(counts)


class Kafka:
    """End offsets and consumer-group lag of the local Kafka (KAFKA_BOOTSTRAP_SERVERS)."""

    def __init__(self) -> None:
        bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)

    async def __aenter__(self) -> Kafka:
        await self.admin.start()
        await self.consumer.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.consumer.stop()
        await self.admin.close()

    async def partitions(self, topics: set[str]) -> list[TopicPartition]:
        """Every partition of these topics that exist (fresh from the broker, never cached)."""
        if not topics:
            return []
        described = await self.admin.describe_topics(sorted(topics))
        return [
            TopicPartition(t["topic"], p["partition"])
            for t in described
            if t["error_code"] == 0
            for p in t["partitions"]
        ]

    async def records(self, topic: str) -> int:
        """Records the topic holds (its end offsets summed over partitions; 0 before it exists)."""
        parts = await self.partitions({topic})
        return sum((await self.consumer.end_offsets(parts)).values()) if parts else 0

    async def lag(self, namespace: str) -> int:
        """Records the stack's consumer groups have yet to handle, on every topic they consume."""
        lag = 0
        for group, *_ in await self.admin.list_consumer_groups():
            if not str(group).startswith(namespace):
                continue
            committed = await self.admin.list_consumer_group_offsets(group)
            parts = await self.partitions({tp.topic for tp in committed})
            if not parts:
                continue
            ends = await self.consumer.end_offsets(parts)
            lag += sum(ends[tp] - (max(committed[tp].offset, 0) if tp in committed else 0) for tp in parts)
        return lag


async def pending_by_service(client: AsyncMongoClient[dict[str, Any]], namespace: str) -> dict[str, int]:
    out = {}
    for service in SERVICES:
        db = client[f"{namespace}regulars_{service}"]
        out[service] = await pending(db, await outbox_collections(db))
    return out


@dataclass(frozen=True)
class Drain:
    """How a burst of event-producing writes reached Kafka, timed from the first write."""

    name: str
    events: int  # events the burst wrote
    writes_s: float  # first write .. last write
    backlog_at_last_write: int  # documents still holding events then
    peak_backlog: int
    store_empty_s: float | None  # first write .. no document holds an event (None: not in time)
    in_kafka_s: float | None  # first write .. the topic holds every event (None: not in time)
    left: int = 0  # events not in Kafka when the wait ended

    @property
    def rate(self) -> float:
        """Events per second from the first write until Kafka held all of them (0: never)."""
        return self.events / self.in_kafka_s if self.in_kafka_s else 0.0

    @property
    def tail_rate(self) -> float:
        """Events per second the relay cleared after the last write (one event per document:
        the documents left then over the time until Kafka held all)."""
        tail = (self.in_kafka_s or 0.0) - self.writes_s
        return self.backlog_at_last_write / tail if tail > 0 and self.in_kafka_s else 0.0

    def line(self) -> str:
        kafka = (
            f"all {self.events:,} in Kafka after {self.in_kafka_s:.1f} s: {self.rate:,.0f} events/s "
            f"(after the last write ≈{self.tail_rate:,.0f}/s)"
            if self.in_kafka_s is not None
            else f"{self.left:,} of {self.events:,} still not in Kafka"
        )
        store = f"store empty after {self.store_empty_s:.1f} s" if self.store_empty_s is not None else ""
        return (
            f"{self.name}: writes took {self.writes_s:.1f} s, leaving {self.backlog_at_last_write:,} "
            f"documents to relay (peak {self.peak_backlog:,}); {store}; {kafka}"
        )


async def _watch_topic(
    kafka: Kafka, topic: str, base: int, started: float, seen: list[tuple[float, int]]
) -> None:
    """Append (seconds since `started`, events in `topic` since `base`) every 0.05 s, until cancelled."""
    while True:
        delivered = await kafka.records(topic) - base
        seen.append((time.perf_counter() - started, delivered))
        await asyncio.sleep(POLL_SECONDS / 4)


async def measure_drain(
    name: str,
    db: Db,
    topic: str,
    burst: Callable[[], Coroutine[Any, Any, R]],
    events_of: Callable[[R], int],
    wait_s: float,
    last_write_of: Callable[[R], float] | None = None,
) -> tuple[R, Drain]:
    """Run `burst` (the writes) while polling the pending count every 0.2 s and, apart from
    it, the topic every 0.05 s (so the time Kafka held all is not rounded up to a store poll);
    after it, until no document holds an event and the topic holds all `events_of(result)`.
    `last_write_of(result)` is the perf_counter() time of the last write, when the burst does
    more after it (else the burst's end); the pending count is the one polled nearest to it."""
    collections = await outbox_collections(db)
    async with Kafka() as kafka:
        base = await kafka.records(topic)
        started = time.perf_counter()
        writes: asyncio.Task[R] = asyncio.create_task(burst())
        peak = 0
        result: R | None = None
        expected = backlog = 0
        writes_s = 0.0
        store_empty_s: float | None = None
        in_kafka_s: float | None = None
        delivered = 0
        polls: list[tuple[float, int]] = []  # (seconds since the first write, pending documents)
        seen: list[tuple[float, int]] = []  # (seconds since the first write, events in the topic)
        watcher = asyncio.create_task(_watch_topic(kafka, topic, base, started, seen))
        try:
            while True:
                await asyncio.wait({writes}, timeout=POLL_SECONDS)
                n = await pending(db, collections)
                peak = max(peak, n)
                now = time.perf_counter() - started
                polls.append((now, n))
                if result is None and writes.done():
                    result = writes.result()
                    expected, backlog, writes_s = events_of(result), n, now
                    if last_write_of is not None:
                        writes_s = last_write_of(result) - started
                        backlog = next((b for t, b in reversed(polls) if t <= writes_s), n)
                if result is None:
                    continue
                if store_empty_s is None and n == 0:
                    store_empty_s = now
                if in_kafka_s is None and seen:
                    delivered = seen[-1][1]
                    in_kafka_s = next((t for t, d in seen if d >= expected), None)
                if store_empty_s is not None and in_kafka_s is not None:
                    break
                if now > writes_s + wait_s:
                    break
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        return result, Drain(
            name, expected, writes_s, backlog, peak, store_empty_s, in_kafka_s, max(0, expected - delivered)
        )


@dataclass(frozen=True)
class Backlog:
    """How fast the relay alone empties a backlog written while it was held off."""

    name: str
    events: int
    held: int  # documents holding events when the relay was let go (all of them: it was held)
    in_kafka_s: float | None  # let go .. the topic holds every event (None: not in time)
    left: int = 0

    @property
    def rate(self) -> float:
        return self.events / self.in_kafka_s if self.in_kafka_s else 0.0

    def line(self) -> str:
        if self.in_kafka_s is None:
            return f"{self.name}: {self.left:,} of {self.events:,} still not in Kafka"
        return (
            f"{self.name}: {self.held:,} documents waiting when the relay was let go; all "
            f"{self.events:,} in Kafka {self.in_kafka_s:.1f} s later: {self.rate:,.0f} events/s "
            "(the relay alone, its poll interval included)"
        )


async def measure_backlog(
    name: str, db: Db, topic: str, write: Callable[[], Coroutine[Any, Any, int]], wait_s: float
) -> Backlog:
    """Hold the service's relay off by taking its lease (chassis/outbox.py), run `write` (it
    returns how many events it wrote), let the relay go and time it until Kafka holds them all."""
    leases = db[LEASES]
    await leases.update_one(
        {"_id": "relay"},
        {"$set": {"holder": "bench", "until": datetime(9999, 1, 1, tzinfo=UTC)}},
        upsert=True,
    )
    await asyncio.sleep(1.0)  # a pass already under way (over an empty backlog) ends meanwhile
    collections = await outbox_collections(db)
    async with Kafka() as kafka:
        base = await kafka.records(topic)
        events = await write()
        held = await pending(db, collections)
        await leases.update_one({"_id": "relay", "holder": "bench"}, {"$set": {"until": datetime.now(UTC)}})
        started = time.perf_counter()
        delivered = 0
        while time.perf_counter() - started < wait_s:
            delivered = await kafka.records(topic) - base
            if delivered >= events:
                return Backlog(name, events, held, time.perf_counter() - started)
            await asyncio.sleep(POLL_SECONDS / 4)
        return Backlog(name, events, held, None, max(0, events - delivered))
