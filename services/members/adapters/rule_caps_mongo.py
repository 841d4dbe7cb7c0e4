"""Reservations of capped earning-rule shares on member documents (domain/rule_caps.py says
why and when; the use case is service/rule_caps.py).

- `cap_holds.<purchase key>`: a hold (its id, the points per rule, when), set by the
  reservation in the same update as the `$inc` of the rules' counters (`rule_points.<rule>`),
  conditional on the hold being absent and on every counter leaving room for its share: one
  atomic write, so the store itself keeps the cap;
- a hold leaves with the purchase's member step (adapters/spending_mongo.py), or is freed by the
  reconciler (`$inc -points` and `$unset`, in a versioned update conditional on the hold's id:
  freed once however many replicas try);
- `cap_holds_since` (indexed) is the time of the member's oldest hold, absent without one:
  every write that adds, refreshes or drops a hold keeps it exact, so the reconciler finds the
  holds due by a range on the index.
Every write here bumps the member's `_v`, so a judgement made on a read from before it is made
again (chassis.mongo.update_versioned).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from chassis.mongo import VERSION, Document, find_for_tenant, update_versioned
from services.members.adapters.mongo import MEMBERS, marker_key, rule_points
from services.members.domain.rule_caps import CapHold, Reserved

HOLDS = "cap_holds"
SINCE = "cap_holds_since"  # indexed: adapters/mongo.py INDEXES
_DUE_BATCH = 100


def hold_doc(h: CapHold) -> Document:
    return {
        "purchase_id": h.purchase_id,
        "hold_id": h.hold_id,
        "points": [{"rule_id": r, "points": n} for r, n in sorted(h.points.items())],
        "at": h.at,
    }


def hold_from(d: Document) -> CapHold:
    return CapHold(
        purchase_id=d["purchase_id"],
        hold_id=d["hold_id"],
        points={p["rule_id"]: int(p["points"]) for p in d.get("points") or ()},
        at=d["at"],
    )


def held(member: Document, purchase_id: str) -> CapHold | None:
    found = (member.get(HOLDS) or {}).get(marker_key(purchase_id))
    return hold_from(found) if found else None


def dropping(member: Document, hold: CapHold, counted: Mapping[str, int] | None = None) -> Document:
    """The update parts that drop `hold` from the member as read (and `$inc` its counters by
    `counted`), keeping `cap_holds_since` the oldest remaining hold's time."""
    key = marker_key(hold.purchase_id)
    rest = [hold_from(d).at for k, d in (member.get(HOLDS) or {}).items() if k != key]
    update: Document = {"$unset": {f"{HOLDS}.{key}": ""}}
    if rest:
        update["$set"] = {SINCE: min(rest)}
    else:
        update["$unset"][SINCE] = ""
    if counted:
        update["$inc"] = {f"rule_points.{marker_key(r)}.points": n for r, n in counted.items()}
    return update


class MongoCapHolds:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._members = db[MEMBERS]

    async def reserve(
        self, tenant_id: str, member_id: str, hold: CapHold, caps: Mapping[str, int]
    ) -> Reserved | None:
        if hold.points and await self._take(tenant_id, member_id, hold, caps):
            return Reserved(hold, taken_now=True)
        doc = await find_for_tenant(self._members, tenant_id, member_id, {HOLDS: 1, "rule_points": 1})
        if doc is None:
            return None
        mine = held(doc, hold.purchase_id)
        return Reserved(mine) if mine else Reserved(None, given=rule_points(doc))

    async def _take(self, tenant_id: str, member_id: str, hold: CapHold, caps: Mapping[str, int]) -> bool:
        key = f"{HOLDS}.{marker_key(hold.purchase_id)}"
        room: list[Document] = []
        counters: dict[str, Any] = {}
        names: dict[str, Any] = {}
        for rule, n in hold.points.items():
            counter = f"rule_points.{marker_key(rule)}.points"
            room.append({"$or": [{counter: {"$exists": False}}, {counter: {"$lte": caps[rule] - n}}]})
            counters[counter] = n
            names[f"rule_points.{marker_key(rule)}.rule_id"] = rule
        taken = await self._members.update_one(
            {"_id": member_id, "tenant_id": tenant_id, key: {"$exists": False}, "$and": room},
            {
                "$inc": counters | {VERSION: 1},
                "$set": names | {key: hold_doc(hold)},
                "$min": {SINCE: hold.at},
            },
        )
        return taken.modified_count == 1

    async def refresh(self, tenant_id: str, member_id: str, hold: CapHold, at: datetime) -> CapHold | None:
        key = marker_key(hold.purchase_id)
        refreshed: CapHold | None = None

        def write(member: Document) -> Document | None:
            nonlocal refreshed
            found = held(member, hold.purchase_id)
            refreshed = None
            if found is None or found.hold_id != hold.hold_id:
                return None  # freed meanwhile
            refreshed = CapHold(found.purchase_id, found.hold_id, found.points, at)
            others = [hold_from(d).at for k, d in (member.get(HOLDS) or {}).items() if k != key]
            return {"$set": {f"{HOLDS}.{key}.at": at, SINCE: min([at, *others])}}

        await update_versioned(self._members, {"_id": member_id, "tenant_id": tenant_id}, write)
        return refreshed

    async def free(self, tenant_id: str, member_id: str, hold: CapHold) -> bool:
        return await self._drop(tenant_id, member_id, hold, give_back=True)

    async def forget(self, tenant_id: str, member_id: str, hold: CapHold) -> bool:
        return await self._drop(tenant_id, member_id, hold, give_back=False)

    async def _drop(self, tenant_id: str, member_id: str, hold: CapHold, give_back: bool) -> bool:
        dropped = False

        def write(member: Document) -> Document | None:
            nonlocal dropped
            found = held(member, hold.purchase_id)
            dropped = found is not None and found.hold_id == hold.hold_id
            if not dropped:
                return None
            return dropping(member, hold, {r: -n for r, n in hold.points.items()} if give_back else None)

        await update_versioned(self._members, {"_id": member_id, "tenant_id": tenant_id}, write)
        return dropped

    async def older_than(self, before: datetime) -> list[tuple[str, str, CapHold]]:
        """Across tenants on purpose, like the pending purchases: a range on the holds' index."""
        docs = (
            await self._members.find({SINCE: {"$lte": before}}, {"tenant_id": 1, HOLDS: 1})
            .sort(SINCE, ASCENDING)
            .limit(_DUE_BATCH)
            .to_list()
        )
        return [
            (d["tenant_id"], d["_id"], h)
            for d in docs
            for h in map(hold_from, (d.get(HOLDS) or {}).values())
            if h.at <= before
        ]
