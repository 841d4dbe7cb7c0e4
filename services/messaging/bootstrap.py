"""Wires the messaging service."""

from __future__ import annotations

from chassis.runtime import Runtime, ServiceSpec, Subscription
from services.messaging.adapters import mongo, task_events, tasks_mongo
from services.messaging.entrypoints import consumer, index
from services.messaging.entrypoints.grpc_servicer import MessagingServicer
from services.messaging.service.tasks import StaffTasks


def wire(rt: Runtime) -> ServiceSpec:
    topic = rt.settings.topic(task_events.TOPIC)
    repo = mongo.MongoInboxRepository(rt.db)
    tasks = StaffTasks(tasks_mongo.MongoStaffTasks(rt.db, topic, rt.outbox))
    servicer = MessagingServicer(repo)
    servicer.serve_tasks(tasks)
    table = index.handlers(servicer, consumer.subscriptions(repo))  # every command and event
    return ServiceSpec(
        grpc_services=[(table.name, table.register)],
        indexes=mongo.INDEXES | tasks_mongo.INDEXES,
        outbox_collections=[tasks_mongo.STAFF_TASKS],
        produces=[topic],
        subscription=Subscription(
            topics=[rt.settings.topic(consumer.MEMBERS_TOPIC)],
            handlers=dict(table.events),
        ),
    )
