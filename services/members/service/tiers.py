"""The nightly tier review: old spend leaves the tenant's window (12 months by default), a grace
period ends, or the ladder changed, so tiers can move overnight.

Purchases and refunds re-evaluate the tier as they happen; this catches the members nobody
bought for. Only members above the lowest tier can drop, so only they are read. Each member is
judged like a purchase with nothing bought (domain.spending.NO_CHANGE) and written in one
guarded write (ports.MemberSpending) only when something changes: two replicas reviewing at
once, or a purchase landing meanwhile, make the second writer judge the member again as it now
is, so the tier changes once and member_tier_changed is announced once.
"""

from __future__ import annotations

from datetime import datetime

from services.members.domain import programme_versions as pv
from services.members.domain import spending
from services.members.domain.programme import DEFAULT_PROGRAMME, Programme
from services.members.domain.programme_versions import Tenants
from services.members.service.ports import MemberSpending, ProgrammeStore


class TierReview:
    def __init__(self, members: MemberSpending, programmes: ProgrammeStore) -> None:
        self._members = members
        self._programmes = programmes

    async def review_all(self, now: datetime, within: Tenants = pv.EVERY_TENANT) -> int:
        """Re-evaluate every member (of the tenants `within`) who could change tier (above their
        tenant's lowest, or on a tier their tenant's ladder no longer has); how many changed
        tier now."""
        changed = 0
        customised = await self._programmes.customised()
        programmes = {v.tenant_id: v.programme for v in customised}
        for lowest, group in pv.grouped(customised, lambda p: p.ladder.names[0]):
            if (tenants := group & within).none:
                continue
            async for tenant_id, member_id in self._members.above(lowest, tenants):
                rules = programmes.get(tenant_id, DEFAULT_PROGRAMME)
                changed += await self.review(tenant_id, member_id, now, rules)
        return changed

    async def review(
        self, tenant_id: str, member_id: str, now: datetime, rules: Programme | None = None
    ) -> int:
        """1 when this call changed the member's tier, else 0 (under the programme `rules`, by
        default the tenant's current one: its ladder, and its zone for the spend months)."""
        rules = rules or (await self._programmes.current(tenant_id)).programme

        def judge(before: spending.Standing) -> spending.Outcome | None:
            outcome = spending.judge(before, spending.NO_CHANGE, rules.ladder, now, rules.zone)
            return outcome if outcome.changes(before) else None

        applied = await self._members.apply(tenant_id, member_id, spending.NO_CHANGE, judge)
        return int(bool(applied and applied.outcome and applied.outcome.tier_changed))
