"""Refund use case: record a refund on its purchase, then take back spend and points from the
member, each exactly once.

The refund is written into its purchase with its purchase_refunded event in one write guarded
by the purchase's version, so two tills refunding the same purchase at once cannot both give
back the last yuan, and a refund id seen before returns the first answer. The member's side is
one guarded write of the member (ports.MemberSpending) under the refund's effect id, which keeps
the points actually taken back; the ledger entry follows, unique on its source, and is written
again by any later apply, so a crash between the two does not lose it. The points taken back
are the refund's share of what the purchase earned as recorded (its programme version's
score), so a programme changed since does not change what a refund reverses. Members consumes its own
purchase_refunded to finish a refund a crash interrupted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from services.members.domain import points as pts
from services.members.domain import spending
from services.members.domain.purchases import Purchase, RefundLine
from services.members.domain.refunds import RecordedRefund, decide_refund
from services.members.service.ports import MemberSpending, PointsLedger, ProgrammeBook, RefundRepository


class Refunds:
    def __init__(
        self,
        refunds: RefundRepository,
        members: MemberSpending,
        ledger: PointsLedger,
        programmes: ProgrammeBook,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._refunds = refunds
        self._members = members
        self._ledger = ledger
        self._programmes = programmes
        self._clock = clock

    async def refund(
        self, tenant_id: str, purchase_id: str, refund_id: str, lines: list[RefundLine] | None, at: datetime
    ) -> tuple[Purchase, RecordedRefund, bool]:
        """(purchase, the refund as recorded, created now); idempotent on refund_id."""
        purchase, recorded, created = await self._refunds.add(
            tenant_id,
            purchase_id,
            refund_id,
            lambda bought, earlier: decide_refund(bought, earlier, lines, refund_id, at),
        )
        if created:
            await self.take_back(purchase, recorded)
        return purchase, recorded, created

    async def complete(self, tenant_id: str, purchase_id: str, refund_id: str) -> bool:
        """Finish a recorded refund's member side (idempotent); False when it is not recorded."""
        found = await self._refunds.get_refund(tenant_id, purchase_id, refund_id)
        if found is None:
            return False
        purchase, recorded = found
        await self.take_back(purchase, recorded)
        return True

    async def take_back(self, p: Purchase, recorded: RecordedRefund) -> None:
        """Take back spend (in the month the purchase was counted in), points (never below a
        zero balance) and the rule points reversed from the member's rule counters, once."""
        refund = recorded.refund
        source = pts.entry_source(pts.EntryReason.REFUND, f"{p.id}:{refund.id}")
        change = spending.refund_change(
            p, refund, recorded.points_reversed, source, recorded.spend_month, recorded.rule_points
        )
        now = self._clock()
        rules = (await self._programmes.current(p.tenant_id)).programme  # today's, for the tier
        applied = await self._members.apply(
            p.tenant_id,
            p.member_id,
            change,
            lambda standing: spending.judge(standing, change, rules.ladder, now, rules.zone),
            effect_id=f"refund:{p.id}:{refund.id}",
        )
        moved = applied.points_moved if applied else None
        if moved is not None and moved < 0:
            await self._ledger.enter(
                p.tenant_id, p.member_id, moved, pts.EntryReason.REFUND, source, refund.occurred_at
            )
