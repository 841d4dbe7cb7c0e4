"""message_clicked and message_converted as CloudEvents envelopes (the proto owns the schema):
subject = the member, tenant = the message's, time = the tap, read or conversion."""

from __future__ import annotations

from datetime import datetime

from regulars.common.v1 import money_pb2
from regulars.messaging.v1 import events_pb2

from chassis.cloudevents import Envelope, new_event, topic_of
from services.messaging.domain.attribution import Conversion
from services.messaging.domain.links import Link
from services.messaging.pb_shapes import stamp

SOURCE = "regulars/messaging"
TOPIC = topic_of(events_pb2.DESCRIPTOR)


def clicked(link: Link, at: datetime) -> Envelope:
    payload = events_pb2.MessageClicked(
        message_id=link.message_id,
        tenant_id=link.tenant_id,
        member_id=link.member_id,
        template_id=link.template_id,
        channel=link.channel,
        url=link.url,
        at=stamp(at),
        staff_id=link.staff_id,
    )
    return new_event(
        source=SOURCE, tenant_id=link.tenant_id, subject=link.member_id, payload=payload, time=at
    )


def converted(c: Conversion) -> Envelope:
    m = c.message
    payload = events_pb2.MessageConverted(
        message_id=m.message_id,
        tenant_id=c.tenant_id,
        member_id=c.member_id,
        template_id=m.template_id,
        channel=m.channel,
        staff_id=m.staff_id,
        kind=c.kind.value,
        ref=c.ref,
        revenue=money_pb2.Money(currency=c.currency, minor_units=c.revenue_minor),
        at=stamp(c.at),
    )
    return new_event(source=SOURCE, tenant_id=c.tenant_id, subject=c.member_id, payload=payload, time=c.at)
