"""Merging two records of one person, step by step, each step safe to repeat after a crash.

1. the survivor takes the duplicate's statistics, balance, tags and applied-markers in one
   update guarded by `_applied.merge_<duplicate>`;
2. the ledger gets the two moves (out of the duplicate, into the survivor), unique on source;
3. the duplicate's purchases are re-pointed to the survivor;
4. the duplicate is marked `merged_into` with its balance at zero, with member_merged.
A rerun after a crash skips what is done: the duplicate stays unchanged until step 4.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.errors import FailedPrecondition, InvalidArgument, NotFound
from chassis.mongo import Document, find_for_tenant, insert_once
from services.members.adapters import events
from services.members.adapters.mongo import MEMBERS
from services.members.adapters.purchases_mongo import POINTS_ENTRIES, PURCHASES
from services.members.domain import points as pts

_SUMMED = ("purchase_count", "total_spend", "discounted_count")
_MAPS = ("spend_by_month",)
_NESTED = ("brands", "categories")


def stats_increments(stats: Document) -> dict[str, Any]:
    """`$inc` fields that add one member's statistics to another's."""
    inc: dict[str, Any] = {f"stats.{k}": stats[k] for k in _SUMMED if stats.get(k)}
    for group in _MAPS:
        for key, value in (stats.get(group) or {}).items():
            inc[f"stats.{group}.{key}"] = value
    for group in _NESTED:
        for key, value in (stats.get(group) or {}).items():
            if value.get("spend"):
                inc[f"stats.{group}.{key}.spend"] = value["spend"]
    return inc


class MongoMerge:
    def __init__(self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox) -> None:
        self._db = db
        self._members = db[MEMBERS]
        self._topic = topic
        self._outbox = out

    async def merge(self, tenant_id: str, survivor_id: str, duplicate_id: str) -> None:
        if survivor_id == duplicate_id:
            raise InvalidArgument("duplicate_id", "a member cannot be merged into itself")
        survivor = await find_for_tenant(self._members, tenant_id, survivor_id)
        duplicate = await find_for_tenant(self._members, tenant_id, duplicate_id)
        if survivor is None:
            raise NotFound(f"member {survivor_id} not found")
        if duplicate is None:
            raise NotFound(f"member {duplicate_id} not found")
        if duplicate.get("merged_into") == survivor_id:
            return  # done before
        for doc, field in ((survivor, "survivor_id"), (duplicate, "duplicate_id")):
            if doc.get("merged_into") or doc.get("erased"):
                raise FailedPrecondition(f"{field} is already merged or erased")
        moved = int(duplicate.get("points_balance", 0))
        stats: Document = duplicate.get("stats") or {}
        marker = f"_applied.merge_{duplicate_id}"
        # The duplicate's applied-markers come along: its purchases now point at the survivor, and
        # a replayed purchase_made must not count them a second time.
        inherited = {f"_applied.{k}": True for k in (duplicate.get("_applied") or {})}
        change: dict[str, Any] = {
            "$inc": stats_increments(stats) | {"points_balance": moved},
            "$set": {marker: True} | inherited,
            "$addToSet": {"tags": {"$each": list(duplicate.get("tags") or [])}},
        }
        latest = {f"stats.{k}": stats[k] for k in ("last_purchase_at",) if stats.get(k)}
        latest |= {
            f"stats.{g}.{k}.last_at": v["last_at"]
            for g in _NESTED
            for k, v in (stats.get(g) or {}).items()
            if v.get("last_at")
        }
        if latest:
            change["$max"] = latest
        if stats.get("first_purchase_at"):
            change["$min"] = {"stats.first_purchase_at": stats["first_purchase_at"]}
        # Ownership: the survivor keeps its assistant; without one it takes the duplicate's.
        if not survivor.get("owner_staff_id") and duplicate.get("owner_staff_id"):
            change["$set"]["owner_staff_id"] = duplicate["owner_staff_id"]
        if not survivor.get("birthday") and duplicate.get("birthday"):
            change["$set"]["birthday"] = duplicate["birthday"]
        async with self._outbox.locks.hold(outbox.lock_key(MEMBERS, survivor_id)):
            await self._members.update_one({"_id": survivor_id, marker: {"$exists": False}}, change)
        now = datetime.now(UTC)
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
        async with self._outbox.locks.hold(outbox.lock_key(MEMBERS, duplicate_id)):
            await self._members.update_one(
                {"_id": duplicate_id, "merged_into": {"$exists": False}},
                {
                    "$set": {"merged_into": survivor_id, "points_balance": 0, "merged_at": now}
                    | outbox.embed_set(self._topic, merged)
                },
            )
        await self._outbox.track(MEMBERS, duplicate_id)
