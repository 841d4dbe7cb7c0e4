"""Messages between the messaging service's protobuf and the gateway's schemas."""

from __future__ import annotations

from regulars.messaging.v1 import messaging_pb2 as pb

from gateway.clients.pb_time import moment, optional_moment
from gateway.schemas.members import InboxMessageOut
from gateway.schemas.messages import DeliveryAttemptOut, MessageOut


def message_out(m: pb.Message) -> MessageOut:
    return MessageOut(
        id=m.id,
        member_id=m.member_id,
        message_key=m.message_key,
        template_id=m.template_id,
        message_class=m.message_class,
        state=m.state,
        channel=m.channel,
        channels=list(m.channels),
        due_at=moment(m.due_at),
        attempts=m.attempts,
        reason=m.reason,
        deferred=m.deferred,
        history=[
            DeliveryAttemptOut(
                channel=a.channel,
                outcome=a.outcome,
                reason=a.reason,
                provider=a.provider,
                provider_message_id=a.provider_message_id,
                at=moment(a.at),
            )
            for a in m.history
        ],
        source=m.source,
        store_id=m.store_id,
        staff_id=m.staff_id,
        staff_task_id=m.staff_task_id,
        created_at=moment(m.created_at),
        sent_at=optional_moment(m, "sent_at"),
    )


def inbox_out(m: pb.InboxMessage) -> InboxMessageOut:
    return InboxMessageOut(
        id=m.id,
        kind=m.kind,
        title=m.title,
        body=m.body,
        created_at=moment(m.created_at),
        read_at=optional_moment(m, "read_at"),
        message_id=m.message_id,
    )
