"""Refunds of recorded purchases, and their effects on the member, each exactly once.

The refund is written into its purchase document (`refunds.<key>`) with its
purchase_refunded event, guarded by a refund sequence number so two tills refunding the same
purchase at once cannot both give back the last yuan. The member's side (spend, balance,
ledger entry, tier) is guarded by `_applied.<key>` like a purchase, and members consumes its
own purchase_refunded to finish it after a crash.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.errors import FailedPrecondition, NotFound
from chassis.mongo import Document, find_for_tenant, insert_once
from services.members.adapters import events
from services.members.adapters.mongo import MEMBERS
from services.members.adapters.purchases_mongo import (
    POINTS_ENTRIES,
    PURCHASES,
    MongoPurchaseRepository,
    recorded_from_doc,
)
from services.members.domain import points as pts
from services.members.domain import tiers
from services.members.domain.purchases import (
    Purchase,
    Refund,
    RefundLine,
    brand_key,
    category_key,
    parse_refund,
)

ATTEMPTS = 5


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
        self,
        db: AsyncDatabase[Document],
        topic: str,
        out: outbox.Outbox,
        purchases: MongoPurchaseRepository,
        ladder: tiers.TierLadder,
    ) -> None:
        self._purchases = db[PURCHASES]
        self._members = db[MEMBERS]
        self._entries = db[POINTS_ENTRIES]
        self._topic = topic
        self._outbox = out
        self._purchase_repo = purchases
        self._ladder = ladder

    async def refund(
        self, tenant_id: str, purchase_id: str, refund_id: str, lines: list[RefundLine] | None, at: datetime
    ) -> tuple[Purchase, Refund, int, bool]:
        """(purchase, refund, points reversed, created); a known refund id returns the first."""
        async with self._outbox.locks.hold(outbox.lock_key(PURCHASES, purchase_id)):
            return await self._refund(tenant_id, purchase_id, refund_id, lines, at)

    async def _refund(
        self, tenant_id: str, purchase_id: str, refund_id: str, lines: list[RefundLine] | None, at: datetime
    ) -> tuple[Purchase, Refund, int, bool]:
        key = refund_key(refund_id)
        for _ in range(ATTEMPTS):
            doc = await find_for_tenant(self._purchases, tenant_id, purchase_id)
            if doc is None:
                raise NotFound(f"purchase {purchase_id} not found")
            recorded = recorded_from_doc(doc)
            done = doc.get("refunds", {})
            if key in done:
                return (
                    recorded.purchase,
                    _refund_from(purchase_id, done[key]),
                    done[key]["points_reversed"],
                    False,
                )
            refunded_by_sku: dict[str, int] = {}
            for earlier in done.values():
                for ln in earlier["lines"]:
                    refunded_by_sku[ln["sku"]] = refunded_by_sku.get(ln["sku"], 0) + ln["amount"]
            refund = parse_refund(recorded.purchase, refunded_by_sku, lines, refund_id, at)
            refunded_total = sum(refunded_by_sku.values())
            reversed_total = sum(int(r["points_reversed"]) for r in done.values())
            reverse = pts.points_to_reverse(
                recorded.points_awarded,
                recorded.purchase.total_paid,
                refund.amount,
                already_refunded=refunded_total,
                already_reversed=reversed_total,
            )
            complete = refunded_total + refund.amount >= recorded.purchase.total_paid
            event = events.purchase_refunded(recorded.purchase, refund, reverse, complete)
            entry = {
                "id": refund_id,
                "lines": [
                    {"sku": ln.sku, "quantity": ln.quantity, "amount": ln.amount} for ln in refund.lines
                ],
                "amount": refund.amount,
                "points_reversed": reverse,
                "at": refund.occurred_at,
            }
            written = await self._purchases.update_one(
                {"_id": purchase_id, "refund_seq": doc.get("refund_seq", 0)},
                {
                    "$set": {f"refunds.{key}": entry, "refund_seq": doc.get("refund_seq", 0) + 1}
                    | outbox.embed_set(self._topic, event)
                },
            )
            if written.modified_count == 1:
                await self._outbox.track(PURCHASES, purchase_id)
                break
        else:
            raise FailedPrecondition("the purchase is being refunded by someone else; try again")
        await self.apply(recorded.purchase, refund, reverse)
        return recorded.purchase, refund, reverse, True
        raise FailedPrecondition("the purchase is being refunded by someone else; try again")

    async def apply(self, p: Purchase, refund: Refund, reverse: int) -> None:
        """Take back spend and points from the member, once; never below a zero balance."""
        async with self._purchase_repo.member_lock(p.member_id):
            await self._apply(p, refund, reverse)

    async def _apply(self, p: Purchase, refund: Refund, reverse: int) -> None:
        marker = f"_applied.r{refund_key(p.id + ':' + refund.id)}"
        by_sku = {ln.sku: ln for ln in p.lines}
        inc: dict[str, Any] = {
            "stats.total_spend": -refund.amount,
            f"stats.spend_by_month.{tiers.month_key(p.occurred_at)}": -refund.amount,
        }
        for ln in refund.lines:
            line = by_sku[ln.sku]
            inc[f"stats.brands.{brand_key(line.brand)}.spend"] = (
                inc.get(f"stats.brands.{brand_key(line.brand)}.spend", 0) - ln.amount
            )
            cat = f"stats.categories.{category_key(line.category)}.spend"
            inc[cat] = inc.get(cat, 0) - ln.amount
        for _ in range(ATTEMPTS):
            member = await self._members.find_one({"_id": p.member_id}, {"points_balance": 1, "_applied": 1})
            if member is None or member.get("_applied", {}).get(marker.split(".", 1)[1]):
                return
            balance = int(member.get("points_balance", 0))
            taken = min(reverse, balance)
            after = await self._members.find_one_and_update(
                {"_id": p.member_id, marker: {"$exists": False}, "points_balance": balance},
                {"$inc": inc | {"points_balance": -taken}, "$set": {marker: True}},
                return_document=ReturnDocument.AFTER,
            )
            if after is not None:
                break
        else:
            raise FailedPrecondition(
                "the member's balance kept changing; the refund will be applied on retry"
            )
        source = pts.entry_source(pts.EntryReason.REFUND, f"{p.id}:{refund.id}")
        if taken:
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
        await self._purchase_repo.announce_change(p, -taken, pts.EntryReason.REFUND.value, source, after)

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
