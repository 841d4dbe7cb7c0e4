"""Kafka producer and topic set-up (aiokafka)."""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from chassis import metrics
from chassis.cloudevents import Envelope


class EventPublisher:
    """Publishes envelopes with acks from all in-sync replicas and an idempotent producer."""

    def __init__(self, bootstrap_servers: str) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, topic: str, event: Envelope) -> None:
        """Return once the broker has the record; key = subject keeps a member's events in order."""
        await self._producer.send_and_wait(
            topic, value=event.data, key=event.subject.encode(), headers=event.headers()
        )
        metrics.EVENTS_PUBLISHED.labels(topic=topic, type=event.type).inc()

    async def publish_many(self, events: list[tuple[str, Envelope]]) -> None:
        """Send in order without waiting for each ack, then wait for all (batched by the producer).

        The idempotent producer keeps per-partition order even with several requests in flight.
        """
        futures = [
            await self._producer.send(topic, value=e.data, key=e.subject.encode(), headers=e.headers())
            for topic, e in events
        ]
        await asyncio.gather(*futures)
        for topic, e in events:
            metrics.EVENTS_PUBLISHED.labels(topic=topic, type=e.type).inc()

    async def send_raw(
        self, topic: str, value: bytes | None, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        await self._producer.send_and_wait(topic, value=value, key=key, headers=headers)


async def ensure_topics(bootstrap_servers: str, topics: list[str], partitions: int, replication: int) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are."""
    if not topics:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name=t, num_partitions=partitions, replication_factor=replication)
            for t in topics
            if t not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another replica won the race
                await admin.create_topics(wanted)
    finally:
        await admin.close()
