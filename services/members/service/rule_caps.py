"""Earning-rule caps per member, held exact: a purchase's capped shares are reserved on the
member before the purchase is written, and reservations no purchase took are freed
(domain/rule_caps.py says how and why it is safe without a lock or a transaction).

Nothing here is given back in an error path: a reservation left by a failure is either found
and used by the purchase's retry, or freed by the reconciler once it is provably abandoned.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from ulid import ULID

from chassis.errors import NotFound, Unavailable
from services.members.domain import earning, rule_caps
from services.members.domain.programme_versions import ProgrammeVersion
from services.members.domain.purchases import Line, Payment, Purchase, RecordedPurchase
from services.members.domain.rule_caps import CapHold
from services.members.service.ports import CapHolds, PurchaseRepository
from services.members.service.programme import score_cart

ATTEMPTS = 30  # reservations that find the room taken meanwhile before answering UNAVAILABLE


class RuleCaps:
    def __init__(
        self,
        holds: CapHolds,
        purchases: PurchaseRepository,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._holds = holds
        self._purchases = purchases
        self._clock = clock

    async def score(
        self, version: ProgrammeVersion, facts: earning.MemberFacts, p: Purchase
    ) -> tuple[earning.Scored, CapHold | None]:
        """What the purchase earns, its capped shares reserved on the member (or, for a retry,
        as its own earlier reservation holds them), and that reservation."""
        caps = rule_caps.caps(version.rules)
        if not caps:
            return score_cart(version, facts, *_cart(p)), None
        # Only capped rules read what they gave before: when none earns on this cart even
        # without its cap, the cart scores the same with the member's counters, and holds nothing.
        uncapped = score_cart(version, replace(facts, rule_points_given={}), *_cart(p))
        if not rule_caps.to_reserve(uncapped, version.rules):
            return uncapped, None
        for attempt in range(ATTEMPTS):
            if attempt:  # the room went to another purchase: let it through, then score again
                await asyncio.sleep(random.uniform(0, 0.002 * min(attempt, 10)))
            scored = score_cart(version, facts, *_cart(p))
            # Nothing left to take still asks: a retry finds its own hold in the counters it read.
            wanted = rule_caps.to_reserve(scored, version.rules)
            now = self._clock()
            got = await self._holds.reserve(
                p.tenant_id, p.member_id, CapHold(p.id, str(ULID()), wanted, now), caps
            )
            if got is None:
                raise NotFound(f"member {p.member_id} not found")
            hold = got.hold
            if hold is not None and not got.taken_now and not hold.fresh(now):
                hold = await self._holds.refresh(p.tenant_id, p.member_id, hold, now)
            if hold is not None:
                return (
                    scored if got.taken_now else rule_caps.with_held(scored, version.rules, hold.points)
                ), hold
            if got.hold is None:
                if not wanted:
                    return scored, None
                facts = replace(facts, rule_points_given=got.given)
        raise Unavailable("many purchases of this member are competing for a capped rule; try again")

    def check_fresh(self, hold: CapHold | None) -> None:
        """Just before the purchase is written on the strength of its hold."""
        if hold is not None and not hold.fresh(self._clock()):
            raise Unavailable("the purchase took too long to record; try again")

    async def settle(self, recorded: RecordedPurchase, hold: CapHold | None) -> None:
        """After the insert: a hold the stored purchase was not recorded under (it was recorded
        before, under another) is provably no purchase's, and is freed now."""
        if hold is not None and (recorded.cap_hold is None or recorded.cap_hold.hold_id != hold.hold_id):
            await self._holds.free(recorded.purchase.tenant_id, recorded.purchase.member_id, hold)

    async def free_abandoned(self, now: datetime) -> int:
        """The reconciler: holds older than GRACE whose purchase was never recorded under them
        are freed; those whose purchase was are dropped once it is applied (its member step
        takes them over itself while it is pending). How many were freed."""
        freed = 0
        for tenant_id, member_id, hold in await self._holds.older_than(now - rule_caps.GRACE):
            recorded = await self._purchases.get(tenant_id, hold.purchase_id)
            if recorded is None or recorded.cap_hold is None or recorded.cap_hold.hold_id != hold.hold_id:
                freed += await self._holds.free(tenant_id, member_id, hold)
            elif not recorded.pending:
                await self._holds.forget(tenant_id, member_id, hold)
        return freed


def _cart(p: Purchase) -> tuple[str, tuple[Line, ...], tuple[Payment, ...], datetime]:
    return p.store_id, p.lines, p.payments, p.occurred_at
