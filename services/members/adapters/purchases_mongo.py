"""Purchases and the points ledger in MongoDB (the use case is service/purchases.py).

A purchase document, `_id` = receipt key, is inserted with `pending: True`: the unique `_id`
makes 50 simultaneous retries of one receipt record one. `pending` (indexed with
`pending_since`) is unset once its effects on the member are stored; purchase_made goes out with
those effects, in the member's write (service/purchases.py). Refunds embed their events here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from chassis.mongo import Document, find_for_tenant, insert_once
from services.members.adapters.rule_caps_mongo import hold_doc, hold_from
from services.members.domain.points import PointsShare
from services.members.domain.purchases import Line, Payment, Purchase, RecordedPurchase
from services.members.domain.tiers import month_key

PURCHASES = "purchases"
POINTS_ENTRIES = "points_entries"
# Purchases whose member step has not run yet, oldest first (the completer's query).
PENDING_INDEX = IndexModel([("pending", ASCENDING), ("pending_since", ASCENDING)], name="pending_purchases")


def _to_doc(r: RecordedPurchase) -> Document:
    p = r.purchase
    return {
        "_id": p.id,
        "tenant_id": p.tenant_id,
        "member_id": p.member_id,
        "store_id": p.store_id,
        "receipt_no": p.receipt_no,
        "served_by_staff_id": p.served_by_staff_id,
        "credited_staff_id": p.credited_staff_id,
        "lines": [
            {
                "sku": ln.sku,
                "brand": ln.brand,
                "category": ln.category,
                "quantity": ln.quantity,
                "list_price": ln.list_price,
                "paid_price": ln.paid_price,
            }
            for ln in p.lines
        ],
        "coupon_codes": list(p.coupon_codes),
        "occurred_at": p.occurred_at,
        "currency": p.currency,
        "total_paid": p.total_paid,
        "total_list": p.total_list,
        "points_awarded": r.points_awarded,
        "programme_version": r.programme_version,
        "points_shares": [{"source": s.source, "rule_id": s.rule_id, "points": s.points} for s in r.shares],
        "payments": [{"type": pay.type, "amount": pay.amount} for pay in p.payments],
        "spend_month": r.spend_month or month_key(p.occurred_at),
        **({"cap_hold": hold_doc(r.cap_hold)} if r.cap_hold is not None else {}),
        "pending": True,
        "pending_since": datetime.now(UTC),
    }


def recorded_from_doc(d: Document) -> RecordedPurchase:
    purchase = Purchase(
        id=d["_id"],
        tenant_id=d["tenant_id"],
        member_id=d["member_id"],
        store_id=d["store_id"],
        receipt_no=d["receipt_no"],
        served_by_staff_id=d.get("served_by_staff_id", ""),
        credited_staff_id=d.get("credited_staff_id", ""),
        lines=tuple(Line(**ln) for ln in d["lines"]),
        coupon_codes=tuple(d.get("coupon_codes", ())),
        occurred_at=d["occurred_at"],
        currency=d["currency"],
        payments=tuple(Payment(pay["type"], int(pay["amount"])) for pay in d.get("payments") or ()),
    )
    return RecordedPurchase(
        purchase,
        int(d.get("points_awarded", 0)),
        bool(d.get("pending")),
        programme_version=int(d.get("programme_version", 0)),
        shares=tuple(
            PointsShare(s["source"], s.get("rule_id", ""), int(s["points"]))
            for s in d.get("points_shares") or ()
        ),
        # Purchases recorded before tenants' zones counted in UTC months.
        spend_month=d.get("spend_month") or month_key(purchase.occurred_at),
        cap_hold=hold_from(d["cap_hold"]) if d.get("cap_hold") else None,
    )


class MongoPurchaseRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._purchases = db[PURCHASES]

    async def add(self, recorded: RecordedPurchase) -> tuple[RecordedPurchase, bool]:
        """Record it (pending), or return the purchase already recorded for this receipt."""
        if await insert_once(self._purchases, _to_doc(recorded)):
            return recorded, True
        purchase = recorded.purchase
        existing = await self.get(purchase.tenant_id, purchase.id)
        assert existing is not None
        return existing, False

    async def get(self, tenant_id: str, purchase_id: str) -> RecordedPurchase | None:
        d = await find_for_tenant(self._purchases, tenant_id, purchase_id)
        return recorded_from_doc(d) if d else None

    async def pending(self, recorded_before: datetime, limit: int) -> list[RecordedPurchase]:
        """Purchases recorded before then whose member step has not run (every tenant's: the
        completer finishes them all)."""
        query = {"pending": True, "pending_since": {"$lte": recorded_before}}
        docs = await self._purchases.find(query).sort("pending_since", 1).limit(limit).to_list()
        return [recorded_from_doc(d) for d in docs]

    async def applied(self, tenant_id: str, purchase_id: str) -> None:
        await self._purchases.update_one(
            {"_id": purchase_id, "tenant_id": tenant_id, "pending": True},
            {"$unset": {"pending": "", "pending_since": ""}},
        )
