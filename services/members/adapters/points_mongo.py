"""Points that do not come from a purchase (sign-ins, reviews, gifts, adjustments, expiry).

Each change is one versioned update of the member (chassis.mongo.update_versioned): the balance
moves by `$inc`, a `_points.<source>` marker records the change (and its ledger entry's fields)
and points_changed goes out in the same write (outbox), with the balance after it. The update
applies only if the member is still as read, so a debit is refused exactly when the balance at
that moment cannot cover it — concurrent takes on several replicas never overdraw, and a source
sent twice at once counts once. The ledger entry follows, keyed by member and source, and any
later request for the same source writes it again from the marker, so a crash between the two
is finished by repeating the request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.mongo import Document, find_for_tenant, insert_once, update_versioned
from services.members.adapters import events
from services.members.adapters.mongo import MEMBERS
from services.members.adapters.purchases_mongo import POINTS_ENTRIES
from services.members.domain import points as pts

EXPIRY_ATTEMPTS = 3


class MongoPointsLedger:
    def __init__(self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox) -> None:
        self._members = db[MEMBERS]
        self._entries = db[POINTS_ENTRIES]
        self._topic = topic
        self._outbox = out

    async def enter(
        self,
        tenant_id: str,
        member_id: str,
        delta: int,
        reason: pts.EntryReason,
        source: str,
        at: datetime,
        expires_at: datetime | None = None,
    ) -> None:
        """A purchase's or refund's entry: keyed by tenant and source (a receipt is one member's)."""
        entry: Document = {
            "_id": f"{tenant_id}:{source}",
            "tenant_id": tenant_id,
            "member_id": member_id,
            "delta": delta,
            "reason": reason.value,
            "source": source,
            "at": at,
        }
        await insert_once(self._entries, entry | ({"expires_at": expires_at} if expires_at else {}))

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
        mark = source.replace(".", "_")  # a field name: no dots
        applied_now = False

        def decide(member: Document) -> Document | None:
            nonlocal applied_now
            applied_now = mark not in (member.get("_points") or {})
            if not applied_now:
                return None
            balance = pts.apply_delta(int(member.get("points_balance", 0)), delta)  # refuses an overdraft
            changed = events.points_changed(
                tenant_id=tenant_id,
                member_id=member_id,
                delta=delta,
                balance=balance,
                reason=reason.value,
                source=source,
                at=at,
            )
            return {
                "$inc": {"points_balance": delta},
                "$set": {f"_points.{mark}": {"delta": delta, "at": at}}
                | outbox.embed_set(self._topic, changed),
            }

        member = await update_versioned(self._members, {"_id": member_id, "tenant_id": tenant_id}, decide)
        if member is None:
            return None
        if applied_now:
            self._outbox.wake()
        recorded = (member.get("_points") or {}).get(mark)
        if isinstance(recorded, dict):  # True: recorded before markers kept the entry (it exists)
            await insert_once(self._entries, self._entry(tenant_id, member_id, reason, source, recorded))
        return int(member.get("points_balance", 0)), applied_now

    @staticmethod
    def _entry(
        tenant_id: str, member_id: str, reason: pts.EntryReason, source: str, recorded: dict[str, Any]
    ) -> Document:
        delta, at = int(recorded["delta"]), recorded["at"]
        return {
            "_id": f"{tenant_id}:{member_id}:{source}",  # a sign-in day is a source of every member
            "tenant_id": tenant_id,
            "member_id": member_id,
            "delta": delta,
            "reason": reason.value,
            "source": source,
            "at": at,
        } | ({"expires_at": pts.expires_at(at)} if delta > 0 else {})

    async def expire(self, tenant_id: str, member_id: str, now: datetime) -> int:
        """Lapse what is left of points whose expiry has passed; the number of points expired now.

        Keyed by the day (`expiry:<date>`), so a second run or a second replica expires nothing
        more; a balance spent meanwhile is read again and the amount recomputed.
        """
        for _ in range(EXPIRY_ATTEMPTS):
            member = await find_for_tenant(self._members, tenant_id, member_id, {"points_balance": 1})
            balance = int(member.get("points_balance", 0)) if member else 0
            if balance <= 0:
                return 0
            ledger = self._entries.find(
                {"tenant_id": tenant_id, "member_id": member_id}, {"at": 1, "delta": 1}
            )
            entries = [(e["at"], int(e["delta"])) async for e in ledger]
            due = pts.expiring_amount(entries, balance, now)
            if due <= 0:
                return 0
            try:
                result = await self.adjust(
                    tenant_id, member_id, -due, pts.EntryReason.EXPIRY, f"{now:%Y-%m-%d}", now
                )
            except pts.InsufficientPoints:
                continue  # spent between the read and the write: judge again
            return due if result and result[1] else 0
        return 0
