"""Wires the messaging service."""

from __future__ import annotations

from chassis.runtime import Runtime, ServiceSpec, Subscription
from services.messaging.adapters import (
    conversions_mongo,
    engagement_events,
    links_mongo,
    mongo,
    reports_mongo,
)
from services.messaging.domain.policy import MessagingPolicy, defaults
from services.messaging.entrypoints import consumer, index
from services.messaging.entrypoints.engagement_mapping import revenue_stats
from services.messaging.entrypoints.grpc_servicer import MessagingServicer
from services.messaging.service.engagement import Engagement
from services.messaging.settings import MessagingSettings


class _DefaultPolicies:
    """Until the policy store is wired in: every tenant on the default policy."""

    async def current(self, tenant_id: str) -> MessagingPolicy:
        return defaults(tenant_id)


def wire(rt: Runtime) -> ServiceSpec:
    settings = rt.settings
    assert isinstance(settings, MessagingSettings)
    topic = settings.topic(engagement_events.TOPIC)
    repo = mongo.MongoInboxRepository(rt.db)
    servicer = MessagingServicer(repo)
    links = links_mongo.MongoLinks(rt.db, topic, rt.outbox, settings.public_base_url, settings.link_secret)
    conversions = conversions_mongo.MongoConversions(rt.db, topic, rt.outbox)
    engagement = Engagement(links, conversions, reports_mongo.MongoReports(rt.db), _DefaultPolicies())
    servicer.serve_engagement(engagement, revenue_stats(engagement))
    table = index.handlers(servicer, consumer.subscriptions(repo))  # every command and event
    return ServiceSpec(
        grpc_services=[(table.name, table.register)],
        indexes=mongo.INDEXES | links_mongo.INDEXES | conversions_mongo.INDEXES,
        outbox_collections=[*links_mongo.OUTBOX_COLLECTIONS, *conversions_mongo.OUTBOX_COLLECTIONS],
        produces=[topic],
        subscription=Subscription(
            topics=[rt.settings.topic(consumer.MEMBERS_TOPIC)],
            handlers=dict(table.events),
        ),
    )
