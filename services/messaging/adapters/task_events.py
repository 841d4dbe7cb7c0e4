"""The events of staff tasks, as protobuf in CloudEvents envelopes, for the store to embed in
the write that makes the change (outbox): subject = the member, tenant = the task's, time =
when the task was opened or completed."""

from __future__ import annotations

from regulars.messaging.v1 import events_pb2

from chassis.cloudevents import Envelope, new_event, topic_of
from services.messaging.domain.tasks import StaffTask
from services.messaging.entrypoints.task_mapping import task_pb

SOURCE = "regulars/messaging"
TOPIC = topic_of(events_pb2.DESCRIPTOR)


def created(task: StaffTask) -> Envelope:
    payload = events_pb2.StaffTaskCreated(task=task_pb(task))
    return new_event(
        source=SOURCE, tenant_id=task.tenant_id, subject=task.member_id, payload=payload, time=task.created_at
    )


def completed(task: StaffTask) -> Envelope:
    payload = events_pb2.StaffTaskCompleted(task=task_pb(task))
    return new_event(
        source=SOURCE,
        tenant_id=task.tenant_id,
        subject=task.member_id,
        payload=payload,
        time=task.completed_at,
    )
