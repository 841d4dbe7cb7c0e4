"""The events the sending pipeline publishes (message_sent, message_failed), as protobuf in
CloudEvents envelopes; the store embeds them in the very write that records the outcome.
Time = the step's moment; subject = the member."""

from __future__ import annotations

from collections.abc import Sequence

from regulars.messaging.v1 import events_pb2

from chassis.cloudevents import Envelope, new_event, topic_of
from services.messaging.domain.events import MessageFact, MessageSent
from services.messaging.pb_shapes import message_pb

SOURCE = "regulars/messaging"
TOPIC = topic_of(events_pb2.DESCRIPTOR)


def envelopes(facts: Sequence[MessageFact]) -> list[Envelope]:
    out = []
    for fact in facts:
        m = fact.message
        payload: events_pb2.MessageSent | events_pb2.MessageFailed = (
            events_pb2.MessageSent(message=message_pb(m))
            if isinstance(fact, MessageSent)
            else events_pb2.MessageFailed(message=message_pb(m))
        )
        at = m.history[-1].at if m.history else m.created_at
        out.append(
            new_event(source=SOURCE, tenant_id=m.tenant_id, subject=m.member_id, payload=payload, time=at)
        )
    return out
