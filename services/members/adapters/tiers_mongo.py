"""The nightly tier review: old spend leaves the 12-month window, so tiers can go down overnight.

Purchases and refunds re-evaluate the tier as they happen; this catches the members nobody
bought for. Only members above the lowest tier can drop, so only they are read.
"""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.mongo import Document
from services.members.adapters import events
from services.members.adapters.mongo import MEMBERS
from services.members.domain import tiers


class MongoTierReview:
    def __init__(
        self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox, ladder: tiers.TierLadder
    ) -> None:
        self._members = db[MEMBERS]
        self._topic = topic
        self._outbox = out
        self._ladder = ladder

    async def review_all(self, now: datetime) -> int:
        """Re-evaluate every member above the lowest tier; how many changed."""
        query = {"tier": {"$nin": ["", self._ladder.names[0]]}, "merged_into": {"$exists": False}}
        changed = 0
        async for m in self._members.find(query, {"_id": 1}):
            changed += await self.review(m["_id"], now)
        return changed

    async def review(self, member_id: str, now: datetime) -> int:
        async with self._outbox.locks.hold(outbox.lock_key(MEMBERS, member_id)):
            m = await self._members.find_one({"_id": member_id}, {"tenant_id": 1, "tier": 1, "stats": 1})
            if m is None:
                return 0
            trailing = tiers.trailing_12m_spend(m.get("stats", {}).get("spend_by_month", {}), now)
            current = m.get("tier") or self._ladder.names[0]
            new_tier = tiers.tier_change(self._ladder, current, trailing)
            if new_tier is None:
                return 0
            event = events.member_tier_changed(
                tenant_id=m["tenant_id"],
                member_id=member_id,
                previous=current,
                tier=new_tier,
                trailing=trailing,
                at=now,
            )
            await self._members.update_one(
                {"_id": member_id, "tier": current},
                {
                    "$set": {"tier": new_tier, "stats.trailing_12m_spend": trailing}
                    | outbox.embed_set(self._topic, event)
                },
            )
        await self._outbox.track(MEMBERS, member_id)
        return 1
