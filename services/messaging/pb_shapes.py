"""Messaging's domain objects as protobuf: shared by the gRPC servicer and the events adapter."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp
from regulars.messaging.v1 import messaging_pb2

from services.messaging.domain.messages import Message


def stamp(at: datetime | None) -> Timestamp | None:
    if at is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(at)
    return ts


def message_pb(m: Message) -> messaging_pb2.Message:
    return messaging_pb2.Message(
        id=m.id,
        tenant_id=m.tenant_id,
        member_id=m.member_id,
        message_key=m.key,
        template_id=m.template_id,
        message_class=m.message_class.value,
        state=m.state.value,
        channel=m.channel.value if m.channel else "",
        channels=[c.value for c in m.channels],
        due_at=stamp(m.due_at),
        attempts=m.attempts,
        reason=m.reason,
        history=[
            messaging_pb2.DeliveryAttempt(
                channel=a.channel,
                outcome=a.outcome.value,
                reason=a.reason,
                provider=a.provider,
                provider_message_id=a.provider_message_id,
                at=stamp(a.at),
            )
            for a in m.history
        ],
        source=m.source,
        store_id=m.store_id,
        staff_id=m.staff_id,
        created_at=stamp(m.created_at),
        sent_at=stamp(m.sent_at),
        deferred=m.deferred,
        staff_task_id=m.staff_task_id,
    )
