"""Wires the messaging service: the sending pipeline (stores, providers, the dispatcher and its
worker), templates and the policy, staff tasks, tracked links and attribution, and the events
it consumes from members, coupons and feedback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from regulars.messaging.v1 import messaging_pb2

from chassis.runtime import Runtime, ServiceSpec, Subscription
from services.messaging.adapters import (
    contacts_mongo,
    conversions_mongo,
    events,
    links_mongo,
    messages_mongo,
    mongo,
    policy_mongo,
    pressure_mongo,
    providers,
    quotas_mongo,
    reports_mongo,
    tasks_mongo,
    templates_mongo,
)
from services.messaging.adapters.members_client import MembersClient
from services.messaging.entrypoints import consumer, index
from services.messaging.entrypoints.grpc_servicer import MessagingServicer
from services.messaging.entrypoints.task_mapping import stat_pb
from services.messaging.entrypoints.workers import DispatchWorker
from services.messaging.service.cached import CachedPolicies, CachedTemplates
from services.messaging.service.dispatch import Dispatcher, Pipeline
from services.messaging.service.engagement import Engagement
from services.messaging.service.members_view import MembersView
from services.messaging.service.policies import Policies
from services.messaging.service.reactions import Reactions, WithBuiltins
from services.messaging.service.sending import Sending, utc_now
from services.messaging.service.tasks import StaffTasks
from services.messaging.service.templates import Templates
from services.messaging.settings import MessagingSettings

StaffStats = Callable[[str, datetime | None, datetime | None], Awaitable[list[messaging_pb2.StaffTaskStat]]]


def _report_stats(tasks: StaffTasks) -> StaffStats:
    """The assistants' part of the messaging report: tasks done on time and attributed revenue."""

    async def stats(
        tenant_id: str, since: datetime | None, until: datetime | None
    ) -> list[messaging_pb2.StaffTaskStat]:
        return [stat_pb(s) for s in await tasks.tenant_stats(tenant_id, since, until, tasks.clock())]

    return stats


def wire(rt: Runtime) -> ServiceSpec:
    settings = rt.settings
    assert isinstance(settings, MessagingSettings)
    topic = settings.topic(events.TOPIC)
    inbox = mongo.MongoInboxRepository(rt.db)
    template_store = templates_mongo.MongoTemplates(rt.db)
    policy_store = policy_mongo.MongoPolicies(rt.db)
    templates = WithBuiltins(CachedTemplates(template_store, settings.messaging_cache_seconds))
    sending_policies = CachedPolicies(policy_store, settings.messaging_cache_seconds)
    lease = timedelta(seconds=settings.dispatch_lease_seconds)
    message_store = messages_mongo.MongoMessages(rt.db, topic, rt.outbox, lease)
    links = links_mongo.MongoLinks(rt.db, topic, rt.outbox, settings.public_base_url, settings.link_secret)
    engagement = Engagement(
        links,
        conversions_mongo.MongoConversions(rt.db, topic, rt.outbox),
        reports_mongo.MongoReports(rt.db),
        sending_policies,  # each purchase and claimed coupon reads its attribution window
    )
    tasks = StaffTasks(tasks_mongo.MongoStaffTasks(rt.db, topic, rt.outbox), engagement)
    quotas = quotas_mongo.MongoWechatQuotas(rt.db)
    pressure = pressure_mongo.MongoPressure(rt.db)
    contacts = contacts_mongo.MongoContacts(rt.db)
    channel_providers = providers.for_channels(settings)
    members = MembersClient(settings.members_grpc_addr)
    dispatcher = Dispatcher(
        Pipeline(
            messages=message_store,
            contacts=contacts,
            templates=templates,
            policies=sending_policies,
            pressure=pressure,
            providers=channel_providers,
            quotas=quotas,
            tasks=tasks,
            links=links,
            inbox=inbox,
            members=members,
        )
    )
    sending = Sending(message_store, templates, sending_policies, dispatcher, lease=lease)
    servicer = MessagingServicer(
        inbox, sending=sending, dispatcher=dispatcher, quotas=quotas, reads=engagement, clock=utc_now
    )
    servicer.serve_templates(Templates(template_store), Policies(policy_store))
    servicer.serve_tasks(tasks)
    servicer.serve_engagement(engagement, _report_stats(tasks))
    view = MembersView(contacts, inbox, tasks, [pressure, quotas, links, message_store])
    reactions = Reactions(sending, settings.survey_page_url)
    table = index.handlers(servicer, view, engagement, reactions)
    return ServiceSpec(
        grpc_services=[(table.name, table.register)],
        indexes=mongo.INDEXES
        | messages_mongo.INDEXES
        | contacts_mongo.INDEXES
        | pressure_mongo.INDEXES
        | templates_mongo.INDEXES
        | policy_mongo.INDEXES
        | quotas_mongo.INDEXES
        | tasks_mongo.INDEXES
        | links_mongo.INDEXES
        | conversions_mongo.INDEXES,
        outbox_collections=[
            messages_mongo.MESSAGES,
            *tasks_mongo.OUTBOX_COLLECTIONS,
            *links_mongo.OUTBOX_COLLECTIONS,
            *conversions_mongo.OUTBOX_COLLECTIONS,
        ],
        produces=[topic],
        subscription=Subscription(
            topics=[settings.topic(t) for t in consumer.TOPICS], handlers=dict(table.events)
        ),
        background=[DispatchWorker(dispatcher, settings.dispatch_poll_seconds, utc_now).run],
        closing=[members.close, lambda: providers.aclose_all(channel_providers.values())],
    )
