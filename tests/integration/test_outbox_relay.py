"""The outbox relay against the real store and Kafka: a backlog larger than a page, read a page
ahead while the previous one is cleared, reaches Kafka whole and once, even when every document
carries the same `_outbox_at` millisecond and when writers add events to documents meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from regulars.members.v1 import events_pb2

from chassis import kafka, outbox
from chassis.cloudevents import Envelope, new_event
from chassis.kafka import EventPublisher
from chassis.mongo import ensure_indexes
from tests.kafka_tools import header, read_all
from tests.support import fresh_namespace, server_urls

pytestmark = pytest.mark.servers

Doc = dict[str, Any]
PAGE = 40


def event(subject: str) -> Envelope:
    return new_event(
        type="regulars.test.v1.thing_happened",
        source="test",
        tenant_id="t",
        subject=subject,
        payload=events_pb2.MemberRegistered(member_id=subject, tenant_id="t"),
    )


@pytest.fixture
async def relay() -> AsyncIterator[tuple[outbox.Outbox, AsyncDatabase[Doc], str]]:
    mongodb, bootstrap = server_urls()
    ns = fresh_namespace()
    topic = f"{ns}things"
    await kafka.ensure_topics(bootstrap, [topic], partitions=1, replication=1)
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongodb, tz_aware=True)
    db = client[f"{ns}relay"]
    await ensure_indexes(db, {"things": [outbox.EMBEDDED_INDEX]})
    publisher = EventPublisher(bootstrap)
    await publisher.start()
    try:
        yield outbox.Outbox(db, publisher, ["things"], batch_size=PAGE), db, topic
    finally:
        await publisher.stop()
        await client.drop_database(db.name)
        await client.close()


async def published_ids(topic: str) -> Counter[str]:
    records = await read_all(server_urls()[1], topic)
    return Counter(str(header(r, "ce_id")) for r in records)


async def test_a_backlog_of_many_pages_in_one_millisecond_is_published_once_each(
    relay: tuple[outbox.Outbox, AsyncDatabase[Doc], str],
) -> None:
    relayer, db, topic = relay
    one_millisecond = datetime(2026, 12, 2, 8, 0, 0, 5000, tzinfo=UTC)
    events = {f"d{i:04d}": event(f"s{i}") for i in range(7 * PAGE + 3)}
    await db["things"].insert_many(
        [
            {"_id": doc_id, "n": 1} | outbox.embed(topic, e) | {"_outbox_at": one_millisecond}
            for doc_id, e in events.items()
        ]
    )

    published = await relayer.drain()

    assert published == len(events)
    assert await db["things"].count_documents({"_outbox_at": {"$exists": True}}) == 0
    assert await published_ids(topic) == Counter({e.id: 1 for e in events.values()})


async def test_events_added_while_the_relay_pages_are_all_published_and_none_left_behind(
    relay: tuple[outbox.Outbox, AsyncDatabase[Doc], str],
) -> None:
    relayer, db, topic = relay
    first = {f"d{i:04d}": event(f"s{i}") for i in range(10 * PAGE)}
    await db["things"].insert_many(
        [{"_id": doc_id, "n": 0} | outbox.embed(topic, e) for doc_id, e in first.items()]
    )
    later: list[Envelope] = []

    async def writer() -> None:
        """Adds an event to every seventh document while the relay works through them."""
        for i in range(0, len(first), 7):
            e = event(f"later{i}")
            later.append(e)
            await db["things"].update_one(
                {"_id": f"d{i:04d}"}, {"$set": outbox.embed_set(topic, e), "$inc": {"n": 1}}
            )
            await asyncio.sleep(0)

    await asyncio.gather(relayer.drain(), writer())
    await relayer.drain()  # what a woken relay does after the writes

    assert await db["things"].count_documents({"_outbox_at": {"$exists": True}}) == 0
    ids = await published_ids(topic)
    expected = {e.id for e in [*first.values(), *later]}
    assert set(ids) == expected  # nothing lost, nothing foreign
    assert sum(ids.values()) - len(expected) <= len(later)  # a re-read only where a writer raced


async def test_after_publishing_the_relay_looks_again_at_once_for_writes_that_did_not_wake_it(
    relay: tuple[outbox.Outbox, AsyncDatabase[Doc], str],
) -> None:
    """Writes by another replica or process do not wake this relay; for `follow_seconds` after
    it published, it polls every `gather_seconds`, not every `poll_seconds` (here a minute)."""
    _, db, topic = relay
    publisher = EventPublisher(server_urls()[1])
    await publisher.start()
    relayer = outbox.Outbox(db, publisher, ["things"], batch_size=PAGE, poll_seconds=60, follow_seconds=30)
    first, second = event("first"), event("second")
    await db["things"].insert_one({"_id": "a"} | outbox.embed(topic, first))
    running = asyncio.create_task(relayer.run())
    try:
        relayer.wake()  # this process's write
        await wait_published(topic, {first.id})
        await db["things"].insert_one({"_id": "b"} | outbox.embed(topic, second))  # no wake
        await wait_published(topic, {first.id, second.id}, within=20)  # well before the minute's poll
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await publisher.stop()


async def wait_published(topic: str, ids: set[str], within: float = 20) -> None:
    """Until the topic holds every one of `ids`; TimeoutError after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not ids <= set(await published_ids(topic)):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"not published within {within} s: {ids - set(await published_ids(topic))}")
        await asyncio.sleep(0.1)
