"""Points that do not come from a purchase (sign-ins, reviews, gifts, adjustments, expiry).

Each change is one ledger entry keyed by its source (`_id = "<tenant>:<reason>:<source id>"`),
so a source counts once however often it is sent, and a guarded update of the member
(`_points.<entry>` marker, and for a debit `points_balance >= amount`) moves the balance with its
points_changed event in the same write (outbox). Both writes happen under the member's lock
(one writer per member document on FerretDB, which updates without isolation). A crash between
them leaves an entry the balance does not show yet: repeating the request finishes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.mongo import Document, find_for_tenant, insert_once
from services.members.adapters import events
from services.members.adapters.mongo import MEMBERS
from services.members.adapters.purchases_mongo import POINTS_ENTRIES
from services.members.domain import points as pts


class MongoPointsLedger:
    def __init__(self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox) -> None:
        self._members = db[MEMBERS]
        self._entries = db[POINTS_ENTRIES]
        self._topic = topic
        self._outbox = out

    async def adjust(
        self,
        tenant_id: str,
        member_id: str,
        delta: int,
        reason: pts.EntryReason,
        source_id: str,
        at: datetime,
    ) -> tuple[int, bool] | None:
        """(balance, applied now) or None when no such member; InsufficientPoints for a debit too big."""
        source = pts.entry_source(reason, source_id)
        entry_id = f"{tenant_id}:{source}"
        mark = source.replace(".", "_")  # a field name: no dots
        marker = f"_points.{mark}"
        async with self._outbox.locks.hold(outbox.lock_key(MEMBERS, member_id)):
            member = await find_for_tenant(
                self._members, tenant_id, member_id, {"points_balance": 1, marker: 1}
            )
            if member is None:
                return None
            balance = int(member.get("points_balance", 0))
            if member.get("_points", {}).get(mark):
                return balance, False
            pts.apply_delta(balance, delta)  # refuses a debit the balance cannot cover
            entry = {
                "_id": entry_id,
                "tenant_id": tenant_id,
                "member_id": member_id,
                "delta": delta,
                "reason": reason.value,
                "source": source,
                "at": at,
            } | ({"expires_at": pts.expires_at(at)} if delta > 0 else {})
            inserted = await insert_once(self._entries, entry)
            changed = events.points_changed(
                tenant_id=tenant_id,
                member_id=member_id,
                delta=delta,
                balance=balance + delta,
                reason=reason.value,
                source=source,
                at=at,
            )
            guard: dict[str, Any] = {"_id": member_id, marker: {"$exists": False}}
            if delta < 0:
                guard["points_balance"] = {"$gte": -delta}
            after = await self._members.find_one_and_update(
                guard,
                {
                    "$inc": {"points_balance": delta},
                    "$set": {marker: True} | outbox.embed_set(self._topic, changed),
                },
                return_document=ReturnDocument.AFTER,
            )
            if after is None:  # the balance moved under us (another replica): undo our entry
                if inserted:
                    await self._entries.delete_one({"_id": entry_id})
                raise pts.InsufficientPoints("not enough points")
        await self._outbox.track(MEMBERS, member_id)
        return int(after.get("points_balance", 0)), True

    async def expire(self, tenant_id: str, member_id: str, now: datetime) -> int:
        """Lapse what is left of points whose expiry has passed; the number of points expired."""
        member = await find_for_tenant(self._members, tenant_id, member_id, {"points_balance": 1})
        balance = int(member.get("points_balance", 0)) if member else 0
        if balance <= 0:
            return 0
        ledger = self._entries.find({"tenant_id": tenant_id, "member_id": member_id}, {"at": 1, "delta": 1})
        entries = [(e["at"], int(e["delta"])) async for e in ledger]
        due = pts.expiring_amount(entries, balance, now)
        if due <= 0:
            return 0
        result = await self.adjust(tenant_id, member_id, -due, pts.EntryReason.EXPIRY, f"{now:%Y-%m-%d}", now)
        return due if result and result[1] else 0
