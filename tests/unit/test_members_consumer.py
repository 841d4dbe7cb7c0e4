"""Members consumes its own purchase_made only to finish what a cut-off request left: a purchase
no longer pending is not applied a second time (in-memory fake of the repository port)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from regulars.members.v1 import events_pb2, members_pb2

from chassis.cloudevents import new_event
from chassis.consumer import PermanentError
from services.members.domain.purchases import Line, RecordedPurchase, parse_purchase
from services.members.entrypoints.consumer import subscriptions

AT = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def recorded(pending: bool) -> RecordedPurchase:
    purchase = parse_purchase(
        tenant_id="t1",
        member_id="m1",
        store_id="s1",
        receipt_no="R1",
        served_by_staff_id="",
        owner_staff_id="",
        lines=[Line("A", "brand", "category", 1, 1000, 1000)],
        coupon_codes=[],
        occurred_at=AT,
        currency="CNY",
    )
    return RecordedPurchase(purchase, 10, pending=pending)


class FakePurchases:
    def __init__(self, stored: RecordedPurchase | None) -> None:
        self.stored = stored
        self.applied: list[RecordedPurchase] = []

    async def get(self, tenant_id: str, purchase_id: str) -> RecordedPurchase | None:
        s = self.stored
        return s if s and (s.purchase.tenant_id, s.purchase.id) == (tenant_id, purchase_id) else None

    async def apply(self, r: RecordedPurchase) -> None:
        self.applied.append(r)


def made(r: RecordedPurchase) -> Any:
    payload = events_pb2.PurchaseMade(purchase=members_pb2.Purchase(id=r.purchase.id, tenant_id="t1"))
    return new_event(source="test", tenant_id="t1", subject="m1", payload=payload, time=AT)


@pytest.mark.parametrize(("pending", "applies"), [(True, 1), (False, 0)])
async def test_purchase_made_applies_the_purchase_only_while_it_is_pending(
    pending: bool, applies: int
) -> None:
    r = recorded(pending)
    purchases = FakePurchases(r)
    env = made(r)

    await subscriptions(purchases, refunds=None)[env.type](env)  # type: ignore[arg-type]

    assert purchases.applied == [r] * applies


async def test_purchase_made_for_a_purchase_not_recorded_is_permanent() -> None:
    env = made(recorded(True))
    with pytest.raises(PermanentError, match="not recorded"):
        await subscriptions(FakePurchases(None), refunds=None)[env.type](env)  # type: ignore[arg-type]
