"""Wires the messaging service."""

from __future__ import annotations

from chassis.runtime import Runtime, ServiceSpec, Subscription
from services.messaging.adapters import mongo, policy_mongo, templates_mongo
from services.messaging.entrypoints import consumer, index
from services.messaging.entrypoints.grpc_servicer import MessagingServicer
from services.messaging.service.policies import Policies
from services.messaging.service.templates import Templates


def wire(rt: Runtime) -> ServiceSpec:
    repo = mongo.MongoInboxRepository(rt.db)
    servicer = MessagingServicer(repo)
    template_store = templates_mongo.MongoTemplates(rt.db)  # also the dispatcher's ports.TemplateStore
    policy_store = policy_mongo.MongoPolicies(rt.db)  # also its ports.PolicyStore
    servicer.serve_templates(Templates(template_store), Policies(policy_store))
    table = index.handlers(servicer, consumer.subscriptions(repo))  # every command and event
    return ServiceSpec(
        grpc_services=[(table.name, table.register)],
        indexes=mongo.INDEXES | templates_mongo.INDEXES | policy_mongo.INDEXES,
        subscription=Subscription(
            topics=[rt.settings.topic(consumer.MEMBERS_TOPIC)],
            handlers=dict(table.events),
        ),
    )
