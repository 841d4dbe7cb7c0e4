"""Stores, staff, staff codes and handovers in MongoDB.

Staff codes live in their own collection keyed by `<tenant>:<code>`, so resolving a badge QR
code is one `_id` lookup and a code can never belong to two people.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.mongo import Document, find_for_tenant, insert_once
from services.members.adapters import events
from services.members.adapters.mongo import MEMBERS
from services.members.domain.directory import Handover, Role, Staff, StaffStatus, Store

STORES = "stores"
STAFF = "staff"
STAFF_CODES = "staff_codes"
HANDOVERS = "handovers"
HANDOVER_BATCHES = "handover_batches"


def _store_from(d: Document) -> Store:
    return Store(
        tenant_id=d["tenant_id"],
        code=d["code"],
        name=d["name"],
        city=d.get("city", ""),
        created_at=d["created_at"],
    )


def _staff_from(d: Document) -> Staff:
    return Staff(
        id=d["_id"],
        tenant_id=d["tenant_id"],
        store_code=d["store_code"],
        name=d["name"],
        role=Role(d["role"]),
        status=StaffStatus(d["status"]),
        referral_codes=tuple(d.get("referral_codes", ())),
        successor_id=d.get("successor_id", ""),
    )


def _handover_from(d: Document) -> Handover:
    return Handover(
        id=d["_id"],
        tenant_id=d["tenant_id"],
        from_staff_id=d["from_staff_id"],
        to_staff_id=d["to_staff_id"],
        requested_by=d.get("requested_by", ""),
        done=d["state"] == "done",
        members_moved=d.get("members_moved", 0),
        started_at=d["started_at"],
        finished_at=d.get("finished_at"),
    )


class MongoDirectoryRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._stores = db[STORES]
        self._staff = db[STAFF]
        self._codes = db[STAFF_CODES]

    async def add_store(self, store: Store) -> Store:
        doc = {
            "_id": f"{store.tenant_id}:{store.code}",
            "tenant_id": store.tenant_id,
            "code": store.code,
            "name": store.name,
            "city": store.city,
            "created_at": store.created_at,
        }
        await insert_once(self._stores, doc)
        existing = await find_for_tenant(self._stores, store.tenant_id, doc["_id"])
        return _store_from(existing or doc)

    async def list_stores(self, tenant_id: str) -> list[Store]:
        return [
            _store_from(d) for d in await self._stores.find({"tenant_id": tenant_id}).sort("_id", 1).to_list()
        ]

    async def get_store(self, tenant_id: str, code: str) -> Store | None:
        d = await find_for_tenant(self._stores, tenant_id, f"{tenant_id}:{code}")
        return _store_from(d) if d else None

    async def add_staff(self, staff: Staff) -> Staff:
        # The code first: if it is taken (vanishingly rare), the insert fails loudly instead of
        # two badges sharing one code.
        for code in staff.referral_codes:
            await self._codes.insert_one(
                {"_id": f"{staff.tenant_id}:{code}", "tenant_id": staff.tenant_id, "staff_id": staff.id}
            )
        await self._staff.insert_one(
            {
                "_id": staff.id,
                "tenant_id": staff.tenant_id,
                "store_code": staff.store_code,
                "name": staff.name,
                "role": staff.role.value,
                "status": staff.status.value,
                "referral_codes": list(staff.referral_codes),
                "successor_id": staff.successor_id,
                "created_at": datetime.now(UTC),
            }
        )
        return staff

    async def get_staff(self, tenant_id: str, staff_id: str) -> Staff | None:
        d = await find_for_tenant(self._staff, tenant_id, staff_id)
        return _staff_from(d) if d else None

    async def resolve_owner(self, tenant_id: str, staff_id: str) -> str:
        """Follow successors from the assigned assistant to the one looking after the member now."""
        seen: set[str] = set()
        while staff_id and staff_id not in seen and len(seen) < 50:
            seen.add(staff_id)
            d = await find_for_tenant(self._staff, tenant_id, staff_id, {"successor_id": 1, "status": 1})
            if d is None or d.get("status") != "left" or not d.get("successor_id"):
                return staff_id
            staff_id = d["successor_id"]
        return staff_id

    async def staff_by_code(self, tenant_id: str, code: str) -> Staff | None:
        link = await find_for_tenant(self._codes, tenant_id, f"{tenant_id}:{code}")
        return await self.get_staff(tenant_id, link["staff_id"]) if link else None

    async def list_staff(self, tenant_id: str, store_code: str) -> list[Staff]:
        query: dict[str, Any] = {"tenant_id": tenant_id}
        if store_code:
            query["store_code"] = store_code
        return [_staff_from(d) for d in await self._staff.find(query).sort("_id", 1).to_list()]

    async def predecessors(self, tenant_id: str, staff_id: str) -> set[str]:
        """`staff_id` and everyone whose chain of successors leads to them."""
        left = await self._staff.find(
            {"tenant_id": tenant_id, "status": "left"}, {"successor_id": 1}
        ).to_list()
        successor_of = {d["_id"]: d.get("successor_id", "") for d in left}
        found = {staff_id}
        changed = True
        while changed:
            changed = False
            for leaver, successor in successor_of.items():
                if successor in found and leaver not in found:
                    found.add(leaver)
                    changed = True
        return found


class MongoHandoverRepository:
    def __init__(self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox) -> None:
        self._db = db
        self._handovers = db[HANDOVERS]
        self._batches = db[HANDOVER_BATCHES]
        self._members = db[MEMBERS]
        self._staff = db[STAFF]
        self._codes = db[STAFF_CODES]
        self._directory = MongoDirectoryRepository(db)
        self._topic = topic
        self._outbox = out

    async def create_or_get(self, handover: Handover) -> Handover:
        await insert_once(
            self._handovers,
            {
                "_id": handover.id,
                "tenant_id": handover.tenant_id,
                "from_staff_id": handover.from_staff_id,
                "to_staff_id": handover.to_staff_id,
                "requested_by": handover.requested_by,
                "state": "running",
                "members_moved": 0,
                "cursor": "",
                "started_at": handover.started_at,
            },
        )
        found = await self.get(handover.tenant_id, handover.id)
        assert found is not None
        return found

    async def get(self, tenant_id: str, handover_id: str) -> Handover | None:
        d = await find_for_tenant(self._handovers, tenant_id, handover_id)
        return _handover_from(d) if d else None

    async def running(self) -> list[Handover]:
        # Cross-tenant on purpose: the worker resumes every tenant's handovers.
        return [_handover_from(d) for d in await self._handovers.find({"state": "running"}).to_list()]

    async def transfer(self, handover: Handover) -> None:
        leaving = await find_for_tenant(self._staff, handover.tenant_id, handover.from_staff_id)
        codes = list((leaving or {}).get("referral_codes", []))
        await self._staff.update_one(
            {"_id": handover.from_staff_id, "tenant_id": handover.tenant_id},
            {"$set": {"status": "left", "successor_id": handover.to_staff_id, "referral_codes": []}},
        )
        if codes:
            await self._staff.update_one(
                {"_id": handover.to_staff_id, "tenant_id": handover.tenant_id},
                {"$addToSet": {"referral_codes": {"$each": codes}}},
            )
        for code in codes:
            await self._codes.update_one(
                {"_id": f"{handover.tenant_id}:{code}", "tenant_id": handover.tenant_id},
                {"$set": {"staff_id": handover.to_staff_id}},
            )

    async def cursor(self, handover: Handover) -> str:
        d = await find_for_tenant(self._handovers, handover.tenant_id, handover.id, {"cursor": 1})
        return str((d or {}).get("cursor", ""))

    async def members_after(self, handover: Handover, after_id: str, limit: int) -> list[str]:
        owners = await self._directory.predecessors(handover.tenant_id, handover.from_staff_id)
        query: dict[str, Any] = {"tenant_id": handover.tenant_id, "owner_staff_id": {"$in": sorted(owners)}}
        if after_id:
            query["_id"] = {"$gt": after_id}
        cursor = self._members.find(query, {"_id": 1}).sort("_id", 1).limit(limit)
        return [d["_id"] for d in await cursor.to_list()]

    async def announce(self, handover: Handover, member_ids: list[str]) -> None:
        batch_id = f"{handover.id}:{member_ids[0]}"
        now = datetime.now(UTC)
        assigned = [
            events.member_staff_assigned(
                tenant_id=handover.tenant_id,
                member_id=m,
                staff_id=handover.to_staff_id,
                previous_staff_id=handover.from_staff_id,
                handover_id=handover.id,
                at=now,
            )
            for m in member_ids
        ]
        doc = {
            "_id": batch_id,
            "tenant_id": handover.tenant_id,
            "handover_id": handover.id,
            "member_ids": member_ids,
            "created_at": now,
        } | outbox.embed(self._topic, *assigned)
        if await insert_once(self._batches, doc):
            self._outbox.wake()
        # Forward only (`_id`s order as strings): a second runner behind this one cannot move
        # the cursor back to batches already announced.
        await self._handovers.update_one(
            {"_id": handover.id, "tenant_id": handover.tenant_id}, {"$max": {"cursor": member_ids[-1]}}
        )

    async def finish(self, handover: Handover) -> None:
        batches = await self._batches.find(
            {"tenant_id": handover.tenant_id, "handover_id": handover.id}, {"member_ids": 1}
        ).to_list()
        moved = len({m for b in batches for m in b["member_ids"]})
        await self._handovers.update_one(
            {"_id": handover.id, "tenant_id": handover.tenant_id},
            {"$set": {"state": "done", "members_moved": moved, "finished_at": datetime.now(UTC)}},
        )
