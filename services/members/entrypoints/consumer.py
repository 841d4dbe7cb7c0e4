"""Events members consumes: its own purchase_made/refunded, to finish effects a crash interrupted."""

from __future__ import annotations

from regulars.members.v1 import events_pb2

from chassis.cloudevents import Envelope
from chassis.consumer import Handler, PermanentError, by_event_type, on
from services.members.service.purchases import PurchaseEffects
from services.members.service.refunds import Refunds


def subscriptions(purchases: PurchaseEffects, refunds: Refunds) -> dict[str, Handler]:
    async def purchase_made(env: Envelope, made: events_pb2.PurchaseMade) -> None:
        if not made.purchase.id:
            raise PermanentError("purchase_made without a purchase id")
        if not await purchases.complete(env.tenant_id, made.purchase.id):
            raise PermanentError(f"purchase {made.purchase.id} is not recorded")

    async def purchase_refunded(env: Envelope, done: events_pb2.PurchaseRefunded) -> None:
        if not await refunds.complete(env.tenant_id, done.purchase_id, done.refund_id):
            raise PermanentError(f"refund {done.refund_id} of {done.purchase_id} is not recorded")

    return by_event_type(
        on(events_pb2.PurchaseMade, purchase_made), on(events_pb2.PurchaseRefunded, purchase_refunded)
    )
