"""Refunds recorded in their purchase documents (the use case is service/refunds.py).

A refund is written into its purchase document (`refunds.<key>`) with its purchase_refunded
event, in a versioned update of the purchase (chassis.mongo.update_versioned): it applies only
if no other refund was written since the purchase was read, so two tills refunding the same
purchase at once cannot both give back the last yuan, and a refund id seen before returns the
first answer.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.errors import NotFound
from chassis.mongo import Document, find_for_tenant, update_versioned
from services.members.adapters import events
from services.members.adapters.purchases_mongo import PURCHASES, recorded_from_doc
from services.members.domain.purchases import Purchase, RecordedPurchase, Refund, RefundLine
from services.members.domain.refunds import RecordedRefund
from services.members.service.ports import DecideRefund


def refund_key(refund_id: str) -> str:
    """Refund ids come from tills: hash them into something safe as a field name."""
    return hashlib.sha256(refund_id.encode()).hexdigest()[:24]


def _refund_from(purchase_id: str, d: Document) -> Refund:
    return Refund(
        id=d["id"],
        purchase_id=purchase_id,
        occurred_at=d["at"],
        lines=tuple(RefundLine(ln["sku"], ln["quantity"], ln["amount"]) for ln in d["lines"]),
    )


class MongoRefundRepository:
    def __init__(self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox) -> None:
        self._purchases = db[PURCHASES]
        self._topic = topic
        self._outbox = out

    async def add(
        self, tenant_id: str, purchase_id: str, refund_id: str, decide: DecideRefund
    ) -> tuple[Purchase, RecordedRefund, bool]:
        key = refund_key(refund_id)
        created = False

        def write(doc: Document) -> Document | None:
            nonlocal created
            done: dict[str, Any] = doc.get("refunds") or {}
            created = key not in done
            if not created:
                return None
            recorded = recorded_from_doc(doc)
            decision = decide(recorded, [_recorded(recorded, r) for r in done.values()])
            refund, reverse = decision.refund, decision.points_reversed
            event = events.purchase_refunded(recorded.purchase, refund, reverse, decision.complete)
            entry = {
                "id": refund_id,
                "lines": [
                    {"sku": ln.sku, "quantity": ln.quantity, "amount": ln.amount} for ln in refund.lines
                ],
                "amount": refund.amount,
                "points_reversed": reverse,
                "rule_points_reversed": [
                    {"rule_id": rule, "points": n} for rule, n in sorted(decision.rule_points.items())
                ],
                "at": refund.occurred_at,
            }
            return {"$set": {f"refunds.{key}": entry} | outbox.embed_set(self._topic, event)}

        doc = await update_versioned(self._purchases, {"_id": purchase_id, "tenant_id": tenant_id}, write)
        if doc is None:
            raise NotFound(f"purchase {purchase_id} not found")
        if created:
            self._outbox.wake()
        bought = recorded_from_doc(doc)
        return bought.purchase, _recorded(bought, doc["refunds"][key]), created

    async def get_refund(
        self, tenant_id: str, purchase_id: str, refund_id: str
    ) -> tuple[Purchase, RecordedRefund] | None:
        doc = await find_for_tenant(self._purchases, tenant_id, purchase_id)
        if doc is None:
            return None
        found = doc.get("refunds", {}).get(refund_key(refund_id))
        if found is None:
            return None
        bought = recorded_from_doc(doc)
        return bought.purchase, _recorded(bought, found)


def _recorded(bought: RecordedPurchase, d: Document) -> RecordedRefund:
    """A refund entry; one recorded before rule counters were given back gives back nothing."""
    return RecordedRefund(
        _refund_from(bought.purchase.id, d),
        int(d["points_reversed"]),
        rule_points={r["rule_id"]: int(r["points"]) for r in d.get("rule_points_reversed") or ()},
        spend_month=bought.spend_month,
    )
