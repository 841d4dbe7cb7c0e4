"""A merge's steps in MongoDB, each one guarded single-document write (the use case, and why
each step is safe to repeat, is service/merge.py).

- the claim is `merging_into` on the duplicate, set by one conditional update;
- the fold is ONE versioned update of the survivor (adapters/spending_mongo.py) guarded by
  `_applied.merge_<duplicate>`, which keeps the points moved; the duplicate's own `_applied`
  markers come along in the same update;
- the duplicate is retired (`merged_into`, balance lowered) by an update that applies only while
  this survivor's claim holds, so a rerun does nothing more.
"""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.errors import FailedPrecondition, NotFound
from chassis.mongo import VERSION, Document, find_for_tenant, update_versioned
from services.members.adapters import events, spending_mongo
from services.members.adapters.mongo import MEMBERS, rule_points
from services.members.adapters.purchases_mongo import PURCHASES
from services.members.domain import spending
from services.members.domain.merge import Duplicate, Merged, Refused, Survivor
from services.members.service.ports import JudgeFold


class MongoMerge:
    def __init__(self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox) -> None:
        self._members = db[MEMBERS]
        self._purchases = db[PURCHASES]
        self._topic = topic
        self._outbox = out

    async def closed(self, tenant_id: str, member_id: str) -> bool | None:
        member = await find_for_tenant(self._members, tenant_id, member_id, {"merged_into": 1, "erased": 1})
        return None if member is None else bool(member.get("merged_into") or member.get("erased"))

    async def claim(self, tenant_id: str, survivor_id: str, duplicate_id: str) -> Duplicate | None:
        claimed: Document | None = await self._members.find_one_and_update(
            {
                "_id": duplicate_id,
                "tenant_id": tenant_id,
                "merged_into": {"$exists": False},
                "erased": {"$exists": False},
                "$or": [{"merging_into": {"$exists": False}}, {"merging_into": survivor_id}],
            },
            {"$set": {"merging_into": survivor_id}, "$inc": {VERSION: 1}},
            return_document=ReturnDocument.AFTER,
        )
        if claimed is not None:
            return _duplicate(claimed)
        found = await find_for_tenant(
            self._members, tenant_id, duplicate_id, {"merged_into": 1, "merging_into": 1}
        )
        if found is None:
            raise NotFound(f"member {duplicate_id} not found")
        if found.get("merged_into") == survivor_id:
            return None
        if found.get("merging_into"):
            raise FailedPrecondition("duplicate_id is being merged into another member; try again")
        raise FailedPrecondition("duplicate_id is already merged or erased")

    async def release(self, tenant_id: str, survivor_id: str, duplicate_id: str) -> None:
        await self._members.update_one(
            {"_id": duplicate_id, "tenant_id": tenant_id, "merging_into": survivor_id},
            {"$unset": {"merging_into": ""}, "$inc": {VERSION: 1}},
        )

    async def fold(
        self, tenant_id: str, survivor_id: str, duplicate: Duplicate, judge: JudgeFold
    ) -> int | Refused | None:
        mark = f"merge_{duplicate.id}"
        refused: Refused | None = None

        def write(survivor: Document) -> Document | None:
            nonlocal refused
            refused = None
            if mark in (survivor.get("_applied") or {}):
                return None
            folded = judge(_survivor(survivor))
            if isinstance(folded, Refused):
                refused = folded
                return None
            marks: dict[str, Any] = {f"_applied.{mark}": duplicate.brings.points} | {
                f"_applied.{k}": v for k, v in duplicate.applied.items()
            }
            if folded.owner_staff_id:
                marks["owner_staff_id"] = folded.owner_staff_id
            if folded.birthday:
                month, day, year = folded.birthday
                marks["birthday"] = {"month": month, "day": day, "year": year}
            update = spending_mongo.judged_update(
                duplicate.brings,
                folded.outcome,
                topic=self._topic,
                tenant_id=tenant_id,
                member_id=survivor_id,
                at=folded.at,
                marks=marks,
            )
            update["$addToSet"] = {"tags": {"$each": list(folded.tags)}}
            return update

        after = await update_versioned(self._members, {"_id": survivor_id, "tenant_id": tenant_id}, write)
        if after is None:
            return None
        if refused is not None:
            return refused
        recorded = (after.get("_applied") or {}).get(mark)
        # True: merged before markers kept the amount
        return recorded if type(recorded) is int else duplicate.brings.points

    async def repoint_purchases(self, tenant_id: str, duplicate_id: str, survivor_id: str) -> None:
        await self._purchases.update_many(
            {"tenant_id": tenant_id, "member_id": duplicate_id},
            {"$set": {"member_id": survivor_id, "merged_from": duplicate_id}},
        )

    async def retire(self, tenant_id: str, merged: Merged) -> None:
        announced = events.member_merged(tenant_id, merged)
        await self._members.update_one(
            {
                "_id": merged.duplicate_id,
                "tenant_id": tenant_id,
                "merging_into": merged.survivor_id,
                "merged_into": {"$exists": False},
            },
            {
                "$set": {"merged_into": merged.survivor_id, "merged_at": merged.at}
                | outbox.embed_set(self._topic, announced),
                "$unset": {"merging_into": ""},
                "$inc": {"points_balance": -merged.points_moved, VERSION: 1},
            },
        )
        self._outbox.wake()


def _survivor(doc: Document) -> Survivor:
    return Survivor(
        standing=spending_mongo.standing(doc),
        owner_staff_id=doc.get("owner_staff_id", "") or "",
        has_birthday=bool(doc.get("birthday")),
        closed=bool(doc.get("merged_into") or doc.get("erased")),
        merging=bool(doc.get("merging_into")),
    )


def _duplicate(doc: Document) -> Duplicate:
    """The duplicate as claimed: everything it brings to the survivor."""
    b = doc.get("birthday")
    return Duplicate(
        id=doc["_id"],
        brings=_merged_change(doc, int(doc.get("points_balance", 0))),
        tags=tuple(doc.get("tags") or ()),
        owner_staff_id=doc.get("owner_staff_id", "") or "",
        birthday=(b["month"], b["day"], b.get("year")) if b else None,
        applied=dict(doc.get("_applied") or {}),
    )


def _merged_change(duplicate: Document, points: int) -> spending.SpendChange:
    """All of the duplicate's spending, and `points` (announced by member_merged, not
    points_changed), with its per-store purchase counts ("first purchase in a store") and the
    points each earning rule gave it (caps per member count the person, not the record).

    The counters are read as stored: store keys are already `marker_key`s, which map to
    themselves, and the rule counters include any cap reservation the duplicate holds for a
    purchase in flight (conservative: a cap is never exceeded)."""
    stats: Document = duplicate.get("stats") or {}
    brands: Document = stats.get("brands") or {}
    categories: Document = stats.get("categories") or {}
    return spending.SpendChange(
        reason="merge",
        points=points,
        announce_points=False,
        purchases=int(stats.get("purchase_count", 0)),
        discounted=int(stats.get("discounted_count", 0)),
        spend=int(stats.get("total_spend", 0)),
        spend_by_month={k: int(v) for k, v in (stats.get("spend_by_month") or {}).items() if v},
        spend_by_brand={k: int(v["spend"]) for k, v in brands.items() if v.get("spend")},
        spend_by_category={k: int(v["spend"]) for k, v in categories.items() if v.get("spend")},
        first_at=stats.get("first_purchase_at"),
        last_at=stats.get("last_purchase_at"),
        brand_last_at={k: v["last_at"] for k, v in brands.items() if v.get("last_at")},
        category_last_at={k: v["last_at"] for k, v in categories.items() if v.get("last_at")},
        store_purchases={k: int(v) for k, v in (stats.get("stores") or {}).items() if v},
        rule_points={k: v for k, v in rule_points(duplicate).items() if v},
    )
