"""The consumer loop: at-least-once, manual commits, bounded retries, dead-letter topic.

An offset is committed only after its handler's effect is stored (or the record was
dead-lettered), a fetch's worth at a time, so a crash replays rather than loses. Handlers
must therefore be idempotent: key every effect by the event id (see chassis.mongo.insert_once).
A record that keeps failing goes to the dead-letter topic with the reason in headers,
and its partition moves on. When a rebalance takes the partition away while a record is
handled (another replica joined the group), its commit is refused: the new owner gets the
record again, which the idempotent handler makes harmless, and this loop carries on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, RebalanceInProgressError
from google.protobuf.message import DecodeError, Message

from chassis import logs, metrics, tracing
from chassis.cloudevents import Envelope, MalformedEvent, event_type
from chassis.kafka import EventPublisher

log = logs.get(__name__)

Handler = Callable[[Envelope], Awaitable[None]]
M = TypeVar("M", bound=Message)


class PermanentError(Exception):
    """Retrying cannot help (undecodable or invalid payload): dead-letter at once."""


def decode(envelope: Envelope, cls: type[M]) -> M:
    """The payload as `cls`; a payload that does not parse is a PermanentError."""
    msg = cls()
    try:
        msg.ParseFromString(envelope.data)
    except DecodeError as exc:
        raise PermanentError(f"payload is not a {cls.DESCRIPTOR.full_name}: {exc}") from exc
    return msg


def payload_tenant(msg: Message) -> str | None:
    """The tenant a payload names: its `tenant_id`, or that of the one message it carries
    (purchase_made carries a purchase); None when it names none."""
    own = msg.DESCRIPTOR.fields_by_name.get("tenant_id")
    if own is not None:
        return str(getattr(msg, own.name))
    for field in msg.DESCRIPTOR.fields:
        carried = field.message_type
        if carried is not None and not field.is_repeated and "tenant_id" in carried.fields_by_name:
            return payload_tenant(getattr(msg, field.name))
    return None


def on(payload: type[M], handle: Callable[[Envelope, M], Awaitable[None]]) -> tuple[str, Handler]:
    """Subscribe `handle` to the events of this payload type (its type derived from the proto,
    `event_type`): it gets the decoded payload, whose tenant has been checked against the
    envelope's, so no handler can act for a tenant the event was not addressed to."""

    async def handler(envelope: Envelope) -> None:
        msg = decode(envelope, payload)
        tenant = payload_tenant(msg)
        if tenant is not None and tenant != envelope.tenant_id:
            raise PermanentError(f"the payload's tenant {tenant!r} differs from the envelope's")
        await handle(envelope, msg)

    return event_type(payload), handler


def by_event_type(*entries: tuple[str, Handler]) -> dict[str, Handler]:
    """The table of what a service does with each event type it consumes (`on` entries)."""
    table = dict(entries)
    if len(table) != len(entries):
        raise ValueError("an event type is subscribed twice")
    return table


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    backoff_seconds: float = 0.2


BATCH = 500  # records handled between two commits at most


class EventConsumer:
    """Consumes `topics` as consumer group `group_id`, routing by CloudEvents type."""

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        group_id: str,
        topics: list[str],
        handlers: Mapping[str, Handler],
        dead_letter_topic: str,
        publisher: EventPublisher,
        retry: RetryPolicy,
    ) -> None:
        self._group_id = group_id
        self._topics = topics
        self._handlers = dict(handlers)
        self._dlt = dead_letter_topic
        self._publisher = publisher
        self._retry = retry
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )

    async def run(self) -> None:
        """Handle what each fetch brought, in order within each partition, then commit it all in
        one request: a commit per record was one Kafka round trip per event, which under a stream
        of events cost the broker and this process more than handling them. A stop mid-batch
        commits nothing of it, so its records are handled again (idempotently) on restart."""
        await self._consumer.start()
        log.info("consumer started", group=self._group_id, topics=self._topics)
        try:
            while True:
                fetched = await self._consumer.getmany(timeout_ms=1000, max_records=BATCH)
                handled: dict[TopicPartition, int] = {}
                for tp, records in fetched.items():
                    for record in records:
                        await self._process(record)
                        handled[tp] = record.offset + 1
                if handled:
                    await self._commit(handled)
        finally:
            await self._consumer.stop()

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError, RebalanceInProgressError) as exc:
            log.info("commit refused after a rebalance; the partition's new owner replays", error=repr(exc))

    async def _process(self, record: ConsumerRecord[Any, Any]) -> None:
        try:
            envelope = Envelope.from_record(record.headers, record.value)
        except MalformedEvent as exc:
            await self._dead_letter(record, exc, event_type="?")
            return
        tracing.bind(traceparent=envelope.traceparent)
        handler = self._handlers.get(envelope.type)
        if handler is None:
            metrics.EVENTS_CONSUMED.labels(self._group_id, envelope.type, "ignored").inc()
            return
        attempt = 0
        while True:
            attempt += 1
            try:
                await handler(envelope)
            except PermanentError as exc:
                await self._dead_letter(record, exc, envelope.type)
                return
            except Exception as exc:
                if attempt >= self._retry.max_attempts:
                    await self._dead_letter(record, exc, envelope.type)
                    return
                log.warning(
                    "handler failed, retrying",
                    event_id=envelope.id,
                    type=envelope.type,
                    attempt=attempt,
                    error=repr(exc),
                )
                await asyncio.sleep(self._retry.backoff_seconds * 2 ** (attempt - 1))
            else:
                metrics.EVENTS_CONSUMED.labels(self._group_id, envelope.type, "ok").inc()
                return

    async def _dead_letter(self, record: ConsumerRecord[Any, Any], exc: Exception, event_type: str) -> None:
        headers = [
            *record.headers,
            ("dlt_reason", repr(exc)[:1000].encode()),
            ("dlt_topic", record.topic.encode()),
            ("dlt_partition", str(record.partition).encode()),
            ("dlt_offset", str(record.offset).encode()),
            ("dlt_group", self._group_id.encode()),
        ]
        await self._publisher.send_raw(self._dlt, record.value, record.key, headers)
        metrics.EVENTS_CONSUMED.labels(self._group_id, event_type, "dead_lettered").inc()
        log.error(
            "event dead-lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            type=event_type,
            reason=repr(exc)[:300],
        )
