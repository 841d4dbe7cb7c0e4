"""Merging two records of one person, step by step, each step safe to repeat after a crash.

1. the duplicate is claimed for the survivor (`merging_into`, one conditional update): two
   merges of one duplicate into different survivors, on two replicas, cannot both move it;
2. the survivor takes the duplicate's statistics, balance, tags and applied-markers in ONE
   versioned update (adapters/spending_mongo.py) guarded by `_applied.merge_<duplicate>`, which
   keeps the points moved; trailing spend, discount share and tier are judged again as for a
   purchase (member_tier_changed when the combined spend reaches another tier);
3. the ledger gets the two moves (out of the duplicate, into the survivor), unique on source;
4. the duplicate's purchases are re-pointed to the survivor;
5. the duplicate is marked `merged_into`, its balance lowered by what moved, with member_merged.
A rerun after a crash skips what is done: the duplicate's data stays unchanged until step 5.
Left as it was: a purchase recorded for the duplicate while it is being merged stays with the
duplicate (its points and spend are not lost, nor moved).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.errors import FailedPrecondition, InvalidArgument, NotFound
from chassis.mongo import VERSION, Document, find_for_tenant, insert_once, update_versioned
from services.members.adapters import events, spending_mongo
from services.members.adapters.mongo import MEMBERS
from services.members.adapters.purchases_mongo import POINTS_ENTRIES, PURCHASES
from services.members.domain import points as pts
from services.members.domain import spending, tiers


class MongoMerge:
    def __init__(
        self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox, ladder: tiers.TierLadder
    ) -> None:
        self._db = db
        self._members = db[MEMBERS]
        self._topic = topic
        self._outbox = out
        self._ladder = ladder

    async def merge(self, tenant_id: str, survivor_id: str, duplicate_id: str) -> None:
        if survivor_id == duplicate_id:
            raise InvalidArgument("duplicate_id", "a member cannot be merged into itself")
        survivor = await find_for_tenant(
            self._members, tenant_id, survivor_id, {"merged_into": 1, "erased": 1}
        )
        if survivor is None:
            raise NotFound(f"member {survivor_id} not found")
        duplicate = await self._claim(tenant_id, survivor_id, duplicate_id)
        if duplicate is None:
            return  # done before
        if survivor.get("merged_into") or survivor.get("erased"):
            await self._release(tenant_id, survivor_id, duplicate_id)
            raise FailedPrecondition("survivor_id is already merged or erased")
        now = datetime.now(UTC)
        try:
            moved = await self._fold_into_survivor(tenant_id, survivor_id, duplicate, now)
        except FailedPrecondition:
            await self._release(tenant_id, survivor_id, duplicate_id)
            raise
        if moved:
            for member_id, delta, reason in (
                (duplicate_id, -moved, "merge_out"),
                (survivor_id, moved, "merge_in"),
            ):
                source = pts.entry_source(pts.EntryReason.MANUAL_ADJUSTMENT, f"{reason}:{duplicate_id}")
                await insert_once(
                    self._db[POINTS_ENTRIES],
                    {
                        "_id": f"{tenant_id}:{source}",
                        "tenant_id": tenant_id,
                        "member_id": member_id,
                        "delta": delta,
                        "reason": pts.EntryReason.MANUAL_ADJUSTMENT.value,
                        "source": source,
                        "at": now,
                    },
                )
        await self._db[PURCHASES].update_many(
            {"tenant_id": tenant_id, "member_id": duplicate_id},
            {"$set": {"member_id": survivor_id, "merged_from": duplicate_id}},
        )
        merged = events.member_merged(
            tenant_id=tenant_id, member_id=survivor_id, duplicate_id=duplicate_id, points_moved=moved, at=now
        )
        await self._members.update_one(
            {
                "_id": duplicate_id,
                "tenant_id": tenant_id,
                "merging_into": survivor_id,
                "merged_into": {"$exists": False},
            },
            {
                "$set": {"merged_into": survivor_id, "merged_at": now}
                | outbox.embed_set(self._topic, merged),
                "$unset": {"merging_into": ""},
                "$inc": {"points_balance": -moved, VERSION: 1},
            },
        )
        self._outbox.wake()

    async def _claim(self, tenant_id: str, survivor_id: str, duplicate_id: str) -> Document | None:
        """The duplicate, claimed for this survivor (again, on a rerun); None when merged into it
        before. Another merge's claim, or a merged or erased duplicate, is refused."""
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
            return claimed
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

    async def _release(self, tenant_id: str, survivor_id: str, duplicate_id: str) -> None:
        await self._members.update_one(
            {"_id": duplicate_id, "tenant_id": tenant_id, "merging_into": survivor_id},
            {"$unset": {"merging_into": ""}, "$inc": {VERSION: 1}},
        )

    async def _fold_into_survivor(
        self, tenant_id: str, survivor_id: str, duplicate: Document, now: datetime
    ) -> int:
        """Step 2; the points moved (as recorded by the first run, on a rerun)."""
        duplicate_id = duplicate["_id"]
        mark = f"merge_{duplicate_id}"
        balance = int(duplicate.get("points_balance", 0))
        change = spending_mongo.merged_change(duplicate, balance)
        # The duplicate's applied-markers come along: its purchases now point at the survivor, and
        # a replayed purchase_made must not count them a second time.
        inherited = {f"_applied.{k}": v for k, v in (duplicate.get("_applied") or {}).items()}

        def decide(survivor: Document) -> Document | None:
            if mark in (survivor.get("_applied") or {}):
                return None
            if survivor.get("merged_into") or survivor.get("erased") or survivor.get("merging_into"):
                raise FailedPrecondition("survivor_id is already merged, erased or being merged")
            marks: dict[str, Any] = {f"_applied.{mark}": balance} | inherited
            # Ownership: the survivor keeps its assistant; without one it takes the duplicate's.
            if not survivor.get("owner_staff_id") and duplicate.get("owner_staff_id"):
                marks["owner_staff_id"] = duplicate["owner_staff_id"]
            if not survivor.get("birthday") and duplicate.get("birthday"):
                marks["birthday"] = duplicate["birthday"]
            outcome = spending.judge(spending_mongo.standing(survivor), change, self._ladder, now)
            update = spending_mongo.judged_update(
                change,
                outcome,
                topic=self._topic,
                tenant_id=tenant_id,
                member_id=survivor_id,
                at=now,
                marks=marks,
            )
            update["$addToSet"] = {"tags": {"$each": list(duplicate.get("tags") or [])}}
            return update

        after = await update_versioned(self._members, {"_id": survivor_id, "tenant_id": tenant_id}, decide)
        if after is None:
            raise NotFound(f"member {survivor_id} not found")
        recorded = (after.get("_applied") or {}).get(mark)
        return recorded if type(recorded) is int else balance  # True: merged before it kept the amount
