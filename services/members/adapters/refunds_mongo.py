"""Refunds of recorded purchases, and their effects on the member, each exactly once.

The refund is written into its purchase document (`refunds.<key>`) with its
purchase_refunded event, in a versioned update of the purchase (chassis.mongo.update_versioned):
it applies only if no other refund was written since the purchase was read, so two tills
refunding the same purchase at once cannot both give back the last yuan, and a refund id seen
before returns the first answer. The member's side (spend, balance, tier, events) is one
versioned update of the member (adapters/spending_mongo.py), guarded by `_applied.r<key>`,
which also keeps the points actually taken back; the ledger entry follows, unique on its
source, and is written again from that marker by any later apply, so a crash between the two
does not lose it. Members consumes its own purchase_refunded to finish a refund a crash
interrupted.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.errors import NotFound
from chassis.mongo import Document, find_for_tenant, insert_once, update_versioned
from services.members.adapters import events, spending_mongo
from services.members.adapters.mongo import MEMBERS
from services.members.adapters.purchases_mongo import POINTS_ENTRIES, PURCHASES, recorded_from_doc
from services.members.domain import points as pts
from services.members.domain import spending, tiers
from services.members.domain.purchases import Purchase, Refund, RefundLine, parse_refund


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
    def __init__(
        self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox, ladder: tiers.TierLadder
    ) -> None:
        self._purchases = db[PURCHASES]
        self._members = db[MEMBERS]
        self._entries = db[POINTS_ENTRIES]
        self._topic = topic
        self._outbox = out
        self._ladder = ladder

    async def refund(
        self, tenant_id: str, purchase_id: str, refund_id: str, lines: list[RefundLine] | None, at: datetime
    ) -> tuple[Purchase, Refund, int, bool]:
        """(purchase, refund, points reversed, created); a known refund id returns the first."""
        key = refund_key(refund_id)
        created = False

        def decide(doc: Document) -> Document | None:
            nonlocal created
            done: dict[str, Any] = doc.get("refunds") or {}
            created = key not in done
            if not created:
                return None
            purchase = recorded_from_doc(doc)
            refunded_by_sku: dict[str, int] = {}
            for earlier in done.values():
                for ln in earlier["lines"]:
                    refunded_by_sku[ln["sku"]] = refunded_by_sku.get(ln["sku"], 0) + ln["amount"]
            refund = parse_refund(purchase.purchase, refunded_by_sku, lines, refund_id, at)
            refunded_total = sum(refunded_by_sku.values())
            reverse = pts.points_to_reverse(
                purchase.points_awarded,
                purchase.purchase.total_paid,
                refund.amount,
                already_refunded=refunded_total,
                already_reversed=sum(int(r["points_reversed"]) for r in done.values()),
            )
            complete = refunded_total + refund.amount >= purchase.purchase.total_paid
            event = events.purchase_refunded(purchase.purchase, refund, reverse, complete)
            entry = {
                "id": refund_id,
                "lines": [
                    {"sku": ln.sku, "quantity": ln.quantity, "amount": ln.amount} for ln in refund.lines
                ],
                "amount": refund.amount,
                "points_reversed": reverse,
                "at": refund.occurred_at,
            }
            return {"$set": {f"refunds.{key}": entry} | outbox.embed_set(self._topic, event)}

        doc = await update_versioned(self._purchases, {"_id": purchase_id, "tenant_id": tenant_id}, decide)
        if doc is None:
            raise NotFound(f"purchase {purchase_id} not found")
        purchase = recorded_from_doc(doc).purchase
        refund, reverse = _stored(purchase_id, doc, key)
        if created:
            self._outbox.wake()
            await self.apply(purchase, refund, reverse)
        return purchase, refund, reverse, created

    async def apply(self, p: Purchase, refund: Refund, reverse: int) -> None:
        """Take back spend and points from the member, once; never below a zero balance."""
        mark = f"r{refund_key(p.id + ':' + refund.id)}"
        source = pts.entry_source(pts.EntryReason.REFUND, f"{p.id}:{refund.id}")
        change = spending.refund_change(p, refund, reverse, source)
        now = datetime.now(UTC)

        def decide(member: Document) -> Document | None:
            if mark in (member.get("_applied") or {}):
                return None  # applied before
            outcome = spending.judge(spending_mongo.standing(member), change, self._ladder, now)
            return spending_mongo.judged_update(
                change,
                outcome,
                topic=self._topic,
                tenant_id=p.tenant_id,
                member_id=p.member_id,
                at=now,
                marks={f"_applied.{mark}": -outcome.points},  # the points taken back
            )

        member = await update_versioned(self._members, {"_id": p.member_id, "tenant_id": p.tenant_id}, decide)
        if member is None:
            return
        self._outbox.wake()
        taken = (member.get("_applied") or {}).get(mark)
        if type(taken) is int and taken > 0:  # True: applied before the marker kept the amount
            await insert_once(
                self._entries,
                {
                    "_id": f"{p.tenant_id}:{source}",
                    "tenant_id": p.tenant_id,
                    "member_id": p.member_id,
                    "delta": -taken,
                    "reason": pts.EntryReason.REFUND.value,
                    "source": source,
                    "at": refund.occurred_at,
                },
            )

    async def get_refund(
        self, tenant_id: str, purchase_id: str, refund_id: str
    ) -> tuple[Purchase, Refund, int] | None:
        doc = await find_for_tenant(self._purchases, tenant_id, purchase_id)
        if doc is None:
            return None
        found = doc.get("refunds", {}).get(refund_key(refund_id))
        if found is None:
            return None
        return (
            recorded_from_doc(doc).purchase,
            _refund_from(purchase_id, found),
            int(found["points_reversed"]),
        )


def _stored(purchase_id: str, doc: Document, key: str) -> tuple[Refund, int]:
    found = doc["refunds"][key]
    return _refund_from(purchase_id, found), int(found["points_reversed"])
