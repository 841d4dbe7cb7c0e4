"""Wires the messaging service."""

from __future__ import annotations

from regulars.messaging.v1 import messaging_pb2, messaging_pb2_grpc

from chassis.runtime import Runtime, ServiceSpec, Subscription
from services.messaging.adapters import mongo
from services.messaging.entrypoints import consumer
from services.messaging.entrypoints.grpc_servicer import MessagingServicer

SERVICE_NAME = messaging_pb2.DESCRIPTOR.services_by_name["MessagingService"].full_name


def wire(rt: Runtime) -> ServiceSpec:
    repo = mongo.MongoInboxRepository(rt.db)
    servicer = MessagingServicer(repo)
    return ServiceSpec(
        grpc_services=[
            (SERVICE_NAME, lambda s: messaging_pb2_grpc.add_MessagingServiceServicer_to_server(servicer, s))
        ],
        indexes=mongo.INDEXES,
        subscription=Subscription(
            topics=[rt.settings.topic(consumer.MEMBERS_TOPIC)],
            handlers=consumer.subscriptions(repo),
        ),
    )
