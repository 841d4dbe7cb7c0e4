"""The nightly tier review: old spend leaves the 12-month window, so tiers can go down overnight.

Purchases and refunds re-evaluate the tier as they happen; this catches the members nobody
bought for. Only members above the lowest tier can drop, so only they are read. Each member is
judged like a purchase with nothing bought (domain.spending.NO_CHANGE) and written in one
versioned update (adapters/spending_mongo.py), only when something changes: two replicas
reviewing at once, or a purchase landing meanwhile, make the second writer judge the member
again as it now is, so the tier changes once and member_tier_changed is announced once.
"""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.mongo import Document, update_versioned
from services.members.adapters import spending_mongo
from services.members.adapters.mongo import MEMBERS
from services.members.domain import spending, tiers


class MongoTierReview:
    def __init__(
        self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox, ladder: tiers.TierLadder
    ) -> None:
        self._members = db[MEMBERS]
        self._topic = topic
        self._outbox = out
        self._ladder = ladder

    async def review_all(self, now: datetime) -> int:
        """Re-evaluate every member above the lowest tier; how many changed tier now."""
        query = {"tier": {"$nin": ["", self._ladder.names[0]]}, "merged_into": {"$exists": False}}
        changed = 0
        async for m in self._members.find(query, {"tenant_id": 1}):
            changed += await self.review(m["tenant_id"], m["_id"], now)
        return changed

    async def review(self, tenant_id: str, member_id: str, now: datetime) -> int:
        """1 when this call changed the member's tier, else 0."""
        moved = 0

        def decide(member: Document) -> Document | None:
            nonlocal moved
            before = spending_mongo.standing(member)
            outcome = spending.judge(before, spending.NO_CHANGE, self._ladder, now)
            moved = int(outcome.tier_changed)
            if not outcome.changes(before):
                return None
            return spending_mongo.judged_update(
                spending.NO_CHANGE,
                outcome,
                topic=self._topic,
                tenant_id=tenant_id,
                member_id=member_id,
                at=now,
                marks={},
            )

        await update_versioned(self._members, {"_id": member_id, "tenant_id": tenant_id}, decide)
        if moved:
            self._outbox.wake()
        return moved
