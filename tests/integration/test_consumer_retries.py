"""The chassis consumer loop against a real Kafka: bounded retries, then the dead-letter topic."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from regulars.members.v1 import events_pb2

from chassis import kafka
from chassis.cloudevents import Envelope, new_event
from chassis.consumer import EventConsumer, RetryPolicy
from chassis.kafka import EventPublisher
from tests.kafka_tools import header, read_all
from tests.support import fresh_namespace, server_urls

TYPE = "regulars.test.v1.something_happened"


def event(subject: str) -> Envelope:
    return new_event(
        type=TYPE,
        source="test",
        tenant_id="t",
        subject=subject,
        payload=events_pb2.MemberRegistered(member_id=subject, tenant_id="t"),
    )


@pytest.fixture
async def publisher() -> AsyncIterator[EventPublisher]:
    p = EventPublisher(server_urls()[1])
    await p.start()
    yield p
    await p.stop()


async def run_until(consumer: EventConsumer, done: asyncio.Event, limit: float = 40) -> None:
    task = asyncio.create_task(consumer.run())
    try:
        await asyncio.wait_for(done.wait(), limit)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_failing_handler_is_retried_then_its_record_dead_lettered_and_the_next_consumed(
    publisher: EventPublisher,
) -> None:
    bootstrap = server_urls()[1]
    ns = fresh_namespace()
    topic, dlt = f"{ns}events", f"{ns}dlt"
    await kafka.ensure_topics(bootstrap, [topic, dlt], partitions=1, replication=1)

    attempts: Counter[str] = Counter()
    handled: list[str] = []
    done = asyncio.Event()

    async def handler(env: Envelope) -> None:
        attempts[env.subject] += 1
        if env.subject == "always-fails":
            raise RuntimeError("database is on fire")
        if env.subject == "fails-twice" and attempts[env.subject] < 3:
            raise ConnectionError("transient")
        handled.append(env.subject)
        if env.subject == "last":
            done.set()

    for subject in ("fails-twice", "always-fails", "last"):
        await publisher.publish(topic, event(subject))

    consumer = EventConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"{ns}group",
        topics=[topic],
        handlers={TYPE: handler},
        dead_letter_topic=dlt,
        publisher=publisher,
        retry=RetryPolicy(max_attempts=3, backoff_seconds=0.01),
    )
    await run_until(consumer, done)

    assert handled == ["fails-twice", "last"]
    assert attempts == Counter({"fails-twice": 3, "always-fails": 3, "last": 1})
    dead = await read_all(bootstrap, dlt)
    assert [header(r, "ce_subject") for r in dead] == ["always-fails"]
    assert "database is on fire" in (header(dead[0], "dlt_reason") or "")


async def test_committed_records_are_not_handled_again_after_a_restart(publisher: EventPublisher) -> None:
    bootstrap = server_urls()[1]
    ns = fresh_namespace()
    topic = f"{ns}events"
    await kafka.ensure_topics(bootstrap, [topic, f"{ns}dlt"], partitions=1, replication=1)
    seen: list[str] = []
    done = asyncio.Event()

    async def handler(env: Envelope) -> None:
        seen.append(env.subject)
        if env.subject == "second":
            done.set()

    def consumer() -> EventConsumer:
        return EventConsumer(
            bootstrap_servers=bootstrap,
            group_id=f"{ns}group",
            topics=[topic],
            handlers={TYPE: handler},
            dead_letter_topic=f"{ns}dlt",
            publisher=publisher,
            retry=RetryPolicy(),
        )

    await publisher.publish(topic, event("first"))
    await publisher.publish(topic, event("second"))
    await run_until(consumer(), done)
    done.clear()
    await publisher.publish(topic, event("third"))

    async def third(env: Envelope) -> None:
        seen.append(env.subject)
        done.set()

    restarted = consumer()
    restarted._handlers[TYPE] = third
    await run_until(restarted, done)
    assert seen == ["first", "second", "third"]
