"""Purchases, the points ledger and the member statistics they feed, in MongoDB.

Without transactions a purchase touches three documents, each change idempotent on its own:
1. the purchase, `_id` = receipt key, inserted with its purchase_made event (outbox): the
   unique `_id` makes 50 simultaneous retries of one receipt record one purchase;
2. the ledger entry, `_id` = its source ("purchase:<id>"): counted once whatever happens;
3. the member: statistics, balance and tier, guarded by `_applied.<purchase id>` so a replay
   (members also consumes its own purchase_made, to finish work a crash interrupted) changes
   nothing twice; points_changed / member_tier_changed go out with that same update.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.mongo import Document, find_for_tenant, insert_once
from services.members.adapters import events
from services.members.adapters.mongo import MEMBERS
from services.members.domain import points as pts
from services.members.domain import tiers
from services.members.domain.purchases import Line, Purchase, RecordedPurchase, brand_key, category_key

PURCHASES = "purchases"
POINTS_ENTRIES = "points_entries"


def _to_doc(p: Purchase, points_awarded: int) -> Document:
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
        "points_awarded": points_awarded,
        "refund_seq": 0,
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
    )
    return RecordedPurchase(purchase, int(d.get("points_awarded", 0)))


class MongoPurchaseRepository:
    def __init__(
        self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox, ladder: tiers.TierLadder
    ) -> None:
        self._purchases = db[PURCHASES]
        self._entries = db[POINTS_ENTRIES]
        self._members = db[MEMBERS]
        self._topic = topic
        self._outbox = out
        self._ladder = ladder
        self._locks = out.locks  # one writer per member document, the outbox relay included

    async def add(self, purchase: Purchase, points_awarded: int) -> tuple[RecordedPurchase, bool]:
        """Record it, or return the purchase already recorded for this receipt."""
        made = events.purchase_made(purchase, points_awarded)
        if await insert_once(
            self._purchases, _to_doc(purchase, points_awarded) | outbox.embed(self._topic, made)
        ):
            await self._outbox.track(PURCHASES, purchase.id)
            return RecordedPurchase(purchase, points_awarded), True
        existing = await self.get(purchase.tenant_id, purchase.id)
        assert existing is not None
        return existing, False

    async def get(self, tenant_id: str, purchase_id: str) -> RecordedPurchase | None:
        d = await find_for_tenant(self._purchases, tenant_id, purchase_id)
        return recorded_from_doc(d) if d else None

    def member_lock(self, member_id: str) -> AbstractAsyncContextManager[None]:
        return self._locks.hold(outbox.lock_key(MEMBERS, member_id))

    async def apply(self, recorded: RecordedPurchase) -> None:
        """Ledger entry, then statistics, balance and tier of the member: each exactly once."""
        async with self.member_lock(recorded.purchase.member_id):
            await self._apply(recorded)

    async def _apply(self, recorded: RecordedPurchase) -> None:
        p, awarded = recorded.purchase, recorded.points_awarded
        source = pts.entry_source(pts.EntryReason.PURCHASE, p.id)
        if awarded:
            await insert_once(
                self._entries,
                {
                    "_id": f"{p.tenant_id}:{source}",
                    "tenant_id": p.tenant_id,
                    "member_id": p.member_id,
                    "delta": awarded,
                    "reason": pts.EntryReason.PURCHASE.value,
                    "source": source,
                    "at": p.occurred_at,
                    "expires_at": pts.expires_at(p.occurred_at),
                },
            )
        month = tiers.month_key(p.occurred_at)
        inc: dict[str, Any] = {
            "points_balance": awarded,
            "stats.purchase_count": 1,
            "stats.total_spend": p.total_paid,
            "stats.discounted_count": 1 if p.discounted else 0,
            f"stats.spend_by_month.{month}": p.total_paid,
        }
        for key, spend in p.spend_by_brand().items():
            inc[f"stats.brands.{key}.spend"] = spend
        for key, spend in p.spend_by_category().items():
            inc[f"stats.categories.{key}.spend"] = spend
        latest: dict[str, Any] = {"stats.last_purchase_at": p.occurred_at}
        latest |= {f"stats.brands.{brand_key(ln.brand)}.last_at": p.occurred_at for ln in p.lines}
        latest |= {f"stats.categories.{category_key(ln.category)}.last_at": p.occurred_at for ln in p.lines}
        after = await self._members.find_one_and_update(
            {"_id": p.member_id, f"_applied.{p.id}": {"$exists": False}},
            {
                "$inc": inc,
                "$max": latest,
                "$min": {"stats.first_purchase_at": p.occurred_at},
                "$set": {f"_applied.{p.id}": True},
            },
            return_document=ReturnDocument.AFTER,
        )
        if after is None:
            return  # applied before (a replay)
        await self.announce_change(p, awarded, pts.EntryReason.PURCHASE.value, source, after)

    async def announce_change(
        self, p: Purchase, delta: int, reason: str, source: str, member: Document
    ) -> None:
        """Derived fields (trailing spend, discount share, tier) and the events of a change."""
        now = datetime.now(UTC)
        stats = member.get("stats", {})
        count = int(stats.get("purchase_count", 0))
        trailing = tiers.trailing_12m_spend(stats.get("spend_by_month", {}), now)
        current = member.get("tier", "") or self._ladder.names[0]
        new_tier = tiers.tier_change(self._ladder, current, trailing)
        fields: dict[str, Any] = {
            "stats.trailing_12m_spend": trailing,
            "stats.discount_share": (int(stats.get("discounted_count", 0)) / count) if count else 0.0,
        }
        announced = []
        if delta:
            announced.append(
                events.points_changed(
                    tenant_id=p.tenant_id,
                    member_id=p.member_id,
                    delta=delta,
                    balance=int(member.get("points_balance", 0)),
                    reason=reason,
                    source=source,
                    at=now,
                )
            )
        if new_tier is not None:
            fields["tier"] = new_tier
            announced.append(
                events.member_tier_changed(
                    tenant_id=p.tenant_id,
                    member_id=p.member_id,
                    previous=current,
                    tier=new_tier,
                    trailing=trailing,
                    at=now,
                )
            )
        referrer = member.get("referred_by")
        if referrer and reason == pts.EntryReason.PURCHASE.value and not member.get("referral_converted_at"):
            fields["referral_converted_at"] = now  # the first purchase converts the referral, once
            announced.append(
                events.referral_converted(
                    tenant_id=p.tenant_id,
                    member_id=p.member_id,
                    referrer_kind=referrer["kind"],
                    referrer_id=referrer["id"],
                    purchase_id=p.id,
                    at=now,
                )
            )
        if announced:
            fields |= outbox.embed_set(self._topic, *announced)
        await self._members.update_one({"_id": p.member_id}, {"$set": fields})
        if announced:
            await self._outbox.track(MEMBERS, p.member_id)

    async def points(
        self, tenant_id: str, member_id: str, limit: int = 20
    ) -> tuple[int, str, list[Document]]:
        member = await find_for_tenant(self._members, tenant_id, member_id, {"points_balance": 1, "tier": 1})
        if member is None:
            return -1, "", []
        entries = (
            await self._entries.find({"tenant_id": tenant_id, "member_id": member_id})
            .sort("at", -1)
            .limit(limit)
            .to_list()
        )
        return int(member.get("points_balance", 0)), member.get("tier", "") or self._ladder.names[0], entries
