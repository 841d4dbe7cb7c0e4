"""Events members consumes: its own purchase_made/refunded, to finish effects a crash interrupted."""

from __future__ import annotations

from regulars.members.v1 import events_pb2

from chassis.cloudevents import Envelope
from chassis.consumer import Handler, PermanentError, decode
from services.members.adapters import events
from services.members.service.ports import PurchaseRepository, RefundRepository


def subscriptions(purchases: PurchaseRepository, refunds: RefundRepository) -> dict[str, Handler]:
    async def purchase_made(env: Envelope) -> None:
        made = decode(env, events_pb2.PurchaseMade)
        if not made.purchase.id or made.purchase.tenant_id != env.tenant_id:
            raise PermanentError("purchase_made without a purchase id or with a foreign tenant")
        recorded = await purchases.get(env.tenant_id, made.purchase.id)
        if recorded is None:
            raise PermanentError(f"purchase {made.purchase.id} is not recorded")
        await purchases.apply(recorded)

    async def purchase_refunded(env: Envelope) -> None:
        done = decode(env, events_pb2.PurchaseRefunded)
        if done.tenant_id != env.tenant_id:
            raise PermanentError("purchase_refunded with a foreign tenant")
        found = await refunds.get_refund(env.tenant_id, done.purchase_id, done.refund_id)
        if found is None:
            raise PermanentError(f"refund {done.refund_id} of {done.purchase_id} is not recorded")
        await refunds.apply(*found)

    return {events.PURCHASE_MADE: purchase_made, events.PURCHASE_REFUNDED: purchase_refunded}
