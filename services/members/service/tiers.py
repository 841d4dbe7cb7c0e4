"""The nightly tier review: old spend leaves the 12-month window, so tiers can go down overnight.

Purchases and refunds re-evaluate the tier as they happen; this catches the members nobody
bought for. Only members above the lowest tier can drop, so only they are read. Each member is
judged like a purchase with nothing bought (domain.spending.NO_CHANGE) and written in one
guarded write (ports.MemberSpending) only when something changes: two replicas reviewing at
once, or a purchase landing meanwhile, make the second writer judge the member again as it now
is, so the tier changes once and member_tier_changed is announced once.
"""

from __future__ import annotations

from datetime import datetime

from services.members.domain import spending, tiers
from services.members.service.ports import MemberSpending


class TierReview:
    def __init__(self, members: MemberSpending, ladder: tiers.TierLadder) -> None:
        self._members = members
        self._ladder = ladder

    async def review_all(self, now: datetime) -> int:
        """Re-evaluate every member above the lowest tier; how many changed tier now."""
        changed = 0
        async for tenant_id, member_id in self._members.above(self._ladder.names[0]):
            changed += await self.review(tenant_id, member_id, now)
        return changed

    async def review(self, tenant_id: str, member_id: str, now: datetime) -> int:
        """1 when this call changed the member's tier, else 0."""

        def judge(before: spending.Standing) -> spending.Outcome | None:
            outcome = spending.judge(before, spending.NO_CHANGE, self._ladder, now)
            return outcome if outcome.changes(before) else None

        applied = await self._members.apply(tenant_id, member_id, spending.NO_CHANGE, judge)
        return int(bool(applied and applied.outcome and applied.outcome.tier_changed))
