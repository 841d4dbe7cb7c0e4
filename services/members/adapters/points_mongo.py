"""The points ledger in MongoDB: the balance on the member, the entries in `points_entries`
(the use cases are service/points.py).

An adjustment is one versioned update of the member (chassis.mongo.update_versioned): the
balance moves by `$inc`, a `_points.<key>` marker records it (with its ledger entry's fields)
and points_changed goes out in the same write (outbox). The update applies only if the member
is still as read, so the service's decision (domain.points.adjusted) is made on the balance at
that moment, and a source sent twice at once counts once. The ledger entry follows, written
from the marker, and is the lasting proof: a source whose entry exists is not applied again.
So a marker only has to bridge the moment between the member's write and the entry's insert;
markers older than MARKER_RETENTION are dropped by the member's next adjustment once their
entries are surely written, which keeps the member document bounded by a day's adjustments.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.mongo import Document, find_for_tenant, insert_once, update_versioned
from services.members.adapters import events
from services.members.adapters.mongo import MEMBERS, in_tenants, marker_key
from services.members.adapters.purchases_mongo import POINTS_ENTRIES
from services.members.domain import points as pts
from services.members.domain.programme_versions import Tenants
from services.members.service.ports import DecideAdjustment

MARKER_RETENTION = timedelta(days=1)  # far past any call's deadline: the entry is written by then


class MongoPointsLedger:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        topic: str,
        out: outbox.Outbox,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._clock = clock
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
        shares: tuple[pts.PointsShare, ...] = (),
    ) -> None:
        """Keyed by tenant and source (a receipt, a refund, a merge is one member's)."""
        entry_id = f"{tenant_id}:{source}"
        entry = _entry(entry_id, tenant_id, member_id, delta, reason, source, at, expires_at)
        if shares:
            entry["shares"] = [{"source": s.source, "rule_id": s.rule_id, "points": s.points} for s in shares]
        await insert_once(self._entries, entry)

    async def adjust(
        self, tenant_id: str, member_id: str, reason: pts.EntryReason, source: str, decide: DecideAdjustment
    ) -> tuple[int, bool] | None:
        entry_id = _entry_id(tenant_id, member_id, source)
        if await self._entries.find_one({"_id": entry_id, "tenant_id": tenant_id}, {"_id": 1}):
            balance = await self.balance(tenant_id, member_id)
            return None if balance is None else (balance, False)  # applied before, long ago or now
        mark = marker_key(source)
        applied_now = False

        def write(member: Document) -> Document | None:
            nonlocal applied_now
            applied_now = mark not in (member.get("_points") or {})
            if not applied_now:
                return None
            moved = decide(int(member.get("points_balance", 0)))
            changed = events.points_adjusted(tenant_id, member_id, moved)
            marker = {"delta": moved.delta, "at": moved.at, "reason": reason.value, "source": source}
            return {
                "$inc": {"points_balance": moved.delta},
                "$set": {f"_points.{mark}": marker} | outbox.embed_set(self._topic, changed),
            }

        member = await update_versioned(self._members, {"_id": member_id, "tenant_id": tenant_id}, write)
        if member is None:
            return None
        if applied_now:
            self._outbox.wake()
        markers: Document = member.get("_points") or {}
        recorded = markers.get(mark)
        if isinstance(recorded, dict):  # True: recorded before markers kept the entry (it exists)
            await self._write_entry(entry_id, tenant_id, member_id, recorded, reason, source)
        await self._prune(tenant_id, member_id, markers)
        return int(member.get("points_balance", 0)), applied_now

    async def _write_entry(
        self,
        entry_id: str,
        tenant_id: str,
        member_id: str,
        marker: Document,
        reason: pts.EntryReason,
        source: str,
    ) -> None:
        delta, at = int(marker["delta"]), marker["at"]
        expires = pts.expires_at(at) if delta > 0 else None
        await insert_once(
            self._entries, _entry(entry_id, tenant_id, member_id, delta, reason, source, at, expires)
        )

    async def _prune(self, tenant_id: str, member_id: str, markers: Document) -> None:
        """Drop markers older than MARKER_RETENTION, writing their entries first (a crash may
        have stopped a call between its member write and its entry), so none is lost."""
        cutoff = self._clock() - MARKER_RETENTION
        stale = {k: v for k, v in markers.items() if _prunable(v, cutoff)}
        for marker in stale.values():
            source = str(marker["source"])
            entry_id = _entry_id(tenant_id, member_id, source)
            await self._write_entry(
                entry_id, tenant_id, member_id, marker, pts.EntryReason(marker["reason"]), source
            )
        if stale:
            await self._members.update_one(
                {"_id": member_id, "tenant_id": tenant_id}, {"$unset": {f"_points.{k}": "" for k in stale}}
            )

    async def balance(self, tenant_id: str, member_id: str) -> int | None:
        member = await find_for_tenant(self._members, tenant_id, member_id, {"points_balance": 1})
        return int(member.get("points_balance", 0)) if member else None

    async def earnings(self, tenant_id: str, member_id: str) -> list[tuple[datetime, int]]:
        ledger = self._entries.find({"tenant_id": tenant_id, "member_id": member_id}, {"at": 1, "delta": 1})
        return [(e["at"], int(e["delta"])) async for e in ledger]

    async def holders(self, tenants: Tenants) -> AsyncIterator[tuple[str, str]]:
        holding = {"points_balance": {"$gt": 0}, "merged_into": {"$exists": False}} | in_tenants(tenants)
        async for m in self._members.find(holding, {"tenant_id": 1}):
            yield m["tenant_id"], m["_id"]

    async def statement(self, tenant_id: str, member_id: str, limit: int) -> pts.Statement | None:
        member = await find_for_tenant(self._members, tenant_id, member_id, {"points_balance": 1, "tier": 1})
        if member is None:
            return None
        mine = {"tenant_id": tenant_id, "member_id": member_id}
        latest = await self._entries.find(mine).sort("at", -1).limit(limit).to_list()
        return pts.Statement(
            balance=int(member.get("points_balance", 0)),
            tier=member.get("tier", "") or "",
            entries=tuple(
                pts.LedgerEntry(
                    e["_id"],
                    e["delta"],
                    e["reason"],
                    e["source"],
                    e["at"],
                    tuple(
                        pts.PointsShare(s["source"], s["rule_id"], int(s["points"]))
                        for s in e.get("shares") or ()
                    ),
                )
                for e in latest
            ),
        )


def _entry_id(tenant_id: str, member_id: str, source: str) -> str:
    """A ledger entry's key for an adjustment: a sign-in day is a source of every member."""
    return f"{tenant_id}:{member_id}:{source}"


def _prunable(marker: Any, cutoff: datetime) -> bool:
    """A marker that names its entry (reason and source) and is older than `cutoff`; the
    markers written before they did stay, their entries having been written with them."""
    return (
        isinstance(marker, dict)
        and isinstance(marker.get("at"), datetime)
        and marker["at"] < cutoff
        and "reason" in marker
        and "source" in marker
    )


def _entry(
    entry_id: str,
    tenant_id: str,
    member_id: str,
    delta: int,
    reason: pts.EntryReason,
    source: str,
    at: datetime,
    expires_at: datetime | None,
) -> Document:
    """A ledger entry as stored (unique on its id, so writing it again changes nothing)."""
    entry: Document = {
        "_id": entry_id,
        "tenant_id": tenant_id,
        "member_id": member_id,
        "delta": delta,
        "reason": reason.value,
        "source": source,
        "at": at,
    }
    return entry | ({"expires_at": expires_at} if expires_at else {})
