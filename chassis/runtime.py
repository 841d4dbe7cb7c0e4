"""Start and stop a service process: the one place that owns its connections and tasks.

A service describes itself (a ServiceSpec built by its bootstrap from a Runtime); this
module connects MongoDB and Kafka, creates indexes and topics, starts the outbox relay,
the consumers and the gRPC server, and on SIGTERM/SIGINT stops them in reverse order.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import grpc
import uvloop
from pymongo import IndexModel

from chassis import completion, kafka, logs, metrics, mongo, outbox
from chassis.consumer import EventConsumer, Handler, RetryPolicy
from chassis.grpc_server import GrpcServer
from chassis.settings import ServiceSettings

log = logs.get(__name__)


@dataclass
class Subscription:
    """Events this service consumes: CloudEvents type -> handler, from these topics."""

    topics: list[str]
    handlers: dict[str, Handler]


@dataclass
class ServiceSpec:
    """What a service brings to the runtime."""

    grpc_services: list[tuple[str, Callable[[grpc.aio.Server], None]]]
    indexes: dict[str, list[IndexModel]] = field(default_factory=dict)
    outbox_collections: list[str] = field(default_factory=list)
    produces: list[str] = field(default_factory=list)
    subscription: Subscription | None = None
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    # Closed at stop, after the server and the background tasks: the service's own clients
    # (gRPC channels to other services, HTTP clients of providers).
    closing: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


class Runtime:
    """Connections a service's bootstrap wires its layers with."""

    def __init__(self, name: str, settings: ServiceSettings) -> None:
        self.name = name
        self.settings = settings
        self.mongo_client = mongo.connect(settings.mongodb_url)
        self.db = self.mongo_client[settings.database_name(name)]
        self.publisher = kafka.EventPublisher(settings.kafka_bootstrap_servers)
        self.outbox = outbox.Outbox(
            self.db,
            self.publisher,
            collections=[],  # filled from the ServiceSpec
            poll_seconds=settings.outbox_poll_seconds,
        )

    @property
    def dead_letter_topic(self) -> str:
        return self.settings.topic(f"regulars.{self.name}.dlt")


async def _serve(rt: Runtime, spec: ServiceSpec) -> None:
    s = rt.settings
    indexes = {name: list(models) for name, models in spec.indexes.items()}
    for name in spec.outbox_collections:
        indexes.setdefault(name, []).append(outbox.EMBEDDED_INDEX)
    await mongo.ensure_indexes(rt.db, indexes)
    topics = list(spec.produces)
    if spec.subscription:
        topics += [*spec.subscription.topics, rt.dead_letter_topic]
    await kafka.ensure_topics(
        s.kafka_bootstrap_servers,
        sorted(set(topics)),
        s.kafka_topic_partitions,
        s.kafka_topic_replication,
    )
    await rt.publisher.start()

    tasks: list[asyncio.Task[Any]] = []
    rt.outbox.collections = list(spec.outbox_collections)
    if spec.outbox_collections and s.outbox_relay_enabled:
        tasks.append(asyncio.create_task(rt.outbox.run(), name="outbox-relay"))
    for job in spec.background:
        tasks.append(asyncio.create_task(job(), name=getattr(job, "__qualname__", "background")))
    if spec.subscription:
        consumer = EventConsumer(
            bootstrap_servers=s.kafka_bootstrap_servers,
            group_id=s.topic(f"regulars.{rt.name}"),
            topics=spec.subscription.topics,
            handlers=spec.subscription.handlers,
            dead_letter_topic=rt.dead_letter_topic,
            publisher=rt.publisher,
            retry=RetryPolicy(s.consumer_max_attempts, s.consumer_retry_backoff_seconds),
        )
        tasks.append(asyncio.create_task(consumer.run(), name="consumer"))

    server = GrpcServer(s.grpc_port, [name for name, _ in spec.grpc_services])
    for _, add in spec.grpc_services:
        add(server.server)
    await server.start()
    metrics.serve(s.metrics_port)
    log.info("service started", grpc_port=s.grpc_port, database=rt.db.name)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        if task is not waiter and task.exception() is not None:
            log.error("background task died; stopping", task=task.get_name(), error=repr(task.exception()))

    log.info("service stopping")
    await server.stop(s.shutdown_grace_seconds)
    await completion.drain(s.shutdown_grace_seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for close in spec.closing:
        try:
            await close()
        except Exception as exc:  # a client that fails to close must not keep the others open
            log.warning("closing a client failed", error=repr(exc))
    await rt.publisher.stop()
    await rt.mongo_client.close()
    log.info("service stopped")


def run(
    name: str,
    settings: ServiceSettings,
    wire: Callable[[Runtime], Awaitable[ServiceSpec] | ServiceSpec],
) -> None:
    """Entry point of `python -m services.<name>`."""
    logs.configure(name, settings.log_level)

    async def main() -> None:
        rt = Runtime(name, settings)
        spec = wire(rt)
        if not isinstance(spec, ServiceSpec):
            spec = await spec
        await _serve(rt, spec)

    uvloop.run(main())
