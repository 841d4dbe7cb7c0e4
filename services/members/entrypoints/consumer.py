"""Events members consumes: its own purchase_refunded, to finish a refund a crash interrupted.

(A purchase cut off between its steps is finished by the completer loop: its purchase_made is
only announced with its effects on the member, so there is nothing to consume for it.)
"""

from __future__ import annotations

from regulars.members.v1 import events_pb2

from chassis.cloudevents import Envelope
from chassis.consumer import Handler, PermanentError, by_event_type, on
from services.members.service.refunds import Refunds


def subscriptions(refunds: Refunds) -> dict[str, Handler]:
    async def purchase_refunded(env: Envelope, done: events_pb2.PurchaseRefunded) -> None:
        if not await refunds.complete(env.tenant_id, done.purchase_id, done.refund_id):
            raise PermanentError(f"refund {done.refund_id} of {done.purchase_id} is not recorded")

    return by_event_type(on(events_pb2.PurchaseRefunded, purchase_refunded))
