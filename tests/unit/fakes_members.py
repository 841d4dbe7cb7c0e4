"""In-memory fakes of members' own ports (never of Mongo or Kafka), for service-layer tests:
each keeps the promise its port documents (an effect id applied once, a ledger entry once per
source, a refund id recorded once), so the use cases can be tested without servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.members.domain import spending
from services.members.domain.points import EntryReason
from services.members.domain.purchases import Purchase, RecordedPurchase
from services.members.domain.refunds import RecordedRefund
from services.members.service.ports import Applied, DecideRefund, Judge


class FakePurchases:
    def __init__(self) -> None:
        self.stored: dict[tuple[str, str], RecordedPurchase] = {}

    async def add(self, purchase: Purchase, points_awarded: int) -> tuple[RecordedPurchase, bool]:
        key = (purchase.tenant_id, purchase.id)
        if key in self.stored:
            return self.stored[key], False
        self.stored[key] = RecordedPurchase(purchase, points_awarded, pending=True)
        return self.stored[key], True

    async def get(self, tenant_id: str, purchase_id: str) -> RecordedPurchase | None:
        return self.stored.get((tenant_id, purchase_id))

    async def applied(self, tenant_id: str, purchase_id: str) -> None:
        r = self.stored[(tenant_id, purchase_id)]
        self.stored[(tenant_id, purchase_id)] = replace(r, pending=False)

    async def pending(self, recorded_before: datetime, limit: int) -> list[RecordedPurchase]:
        return [r for r in self.stored.values() if r.pending][:limit]

    async def points(self, tenant_id: str, member_id: str, limit: int = 20) -> tuple[int, str, list[Any]]:
        raise NotImplementedError("a read of the gRPC edge; no use case here needs it")


class FakeSpending:
    """Members' standings; `apply` judges the standing as stored now, once per effect id."""

    def __init__(self, *member_ids: str, tenant_id: str = "t1") -> None:
        self.standings = {(tenant_id, m): spending.Standing() for m in member_ids}
        self.moved: dict[tuple[str, str, str], int] = {}
        self.writes = 0
        self.announced: list[spending.Fact] = []  # the facts of every write, in order

    async def apply(
        self,
        tenant_id: str,
        member_id: str,
        change: spending.SpendChange,
        judge: Judge,
        effect_id: str | None = None,
    ) -> Applied | None:
        key = (tenant_id, member_id)
        if key not in self.standings:
            return None
        if effect_id is not None and (*key, effect_id) in self.moved:
            return Applied(None, self.moved[(*key, effect_id)])
        before = self.standings[key]
        outcome = judge(before)
        if outcome is None:
            return Applied(None, None)
        self.writes += 1
        self.announced.extend(outcome.facts)
        self.standings[key] = replace(
            before, tier=outcome.tier, points_balance=outcome.balance, stats=outcome.stats
        )
        if effect_id is not None:
            self.moved[(*key, effect_id)] = outcome.points
        return Applied(outcome, outcome.points if effect_id is not None else None)

    async def above(self, lowest_tier: str) -> AsyncIterator[tuple[str, str]]:
        for (tenant_id, member_id), s in list(self.standings.items()):
            if s.tier not in ("", lowest_tier):
                yield tenant_id, member_id


class FakeLedger:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], dict[str, Any]] = {}

    async def enter(
        self,
        tenant_id: str,
        member_id: str,
        delta: int,
        reason: EntryReason,
        source: str,
        at: datetime,
        expires_at: datetime | None = None,
    ) -> None:
        self.entries.setdefault(
            (tenant_id, source), {"member_id": member_id, "delta": delta, "reason": reason}
        )

    async def adjust(self, *args: Any, **kwargs: Any) -> tuple[int, bool] | None:
        raise NotImplementedError


class FakeRefunds:
    def __init__(self, purchases: FakePurchases) -> None:
        self._purchases = purchases
        self.recorded: dict[tuple[str, str], list[RecordedRefund]] = {}

    async def add(
        self, tenant_id: str, purchase_id: str, refund_id: str, decide: DecideRefund
    ) -> tuple[Purchase, RecordedRefund, bool]:
        bought = self._purchases.stored[(tenant_id, purchase_id)]
        earlier = self.recorded.setdefault((tenant_id, purchase_id), [])
        for r in earlier:
            if r.refund.id == refund_id:
                return bought.purchase, r, False
        decision = decide(bought, list(earlier))
        earlier.append(RecordedRefund(decision.refund, decision.points_reversed))
        return bought.purchase, earlier[-1], True

    async def get_refund(
        self, tenant_id: str, purchase_id: str, refund_id: str
    ) -> tuple[Purchase, RecordedRefund] | None:
        for r in self.recorded.get((tenant_id, purchase_id), []):
            if r.refund.id == refund_id:
                return self._purchases.stored[(tenant_id, purchase_id)].purchase, r
        return None
