"""Wires the messaging service."""

from __future__ import annotations

from chassis.runtime import Runtime, ServiceSpec, Subscription
from services.messaging.adapters import mongo
from services.messaging.entrypoints import consumer, index
from services.messaging.entrypoints.grpc_servicer import MessagingServicer


def wire(rt: Runtime) -> ServiceSpec:
    repo = mongo.MongoInboxRepository(rt.db)
    servicer = MessagingServicer(repo)
    table = index.handlers(servicer, consumer.subscriptions(repo))  # every command and event
    return ServiceSpec(
        grpc_services=[(table.name, table.register)],
        indexes=mongo.INDEXES,
        subscription=Subscription(
            topics=[rt.settings.topic(consumer.MEMBERS_TOPIC)],
            handlers=dict(table.events),
        ),
    )
