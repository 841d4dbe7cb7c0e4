"""A member's effect markers on the real store: one guards each purchase or refund against a
replay, whatever its id holds (a till's refund id may hold a dot), and markers older than the
retention leave with the member's next update, so the document does not grow for a lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.kafka import EventPublisher
from services.members.adapters.mongo import marker_key
from services.members.adapters.spending_mongo import MARKER_RETENTION, MongoMemberSpending
from services.members.domain import spending, tiers
from tests.support import fresh_namespace, server_urls

pytestmark = pytest.mark.servers

Doc = dict[str, Any]
T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def members() -> AsyncIterator[tuple[MongoMemberSpending, AsyncDatabase[Doc], Clock]]:
    mongodb, kafka = server_urls()
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongodb, tz_aware=True)
    db = client[f"{fresh_namespace()}markers"]
    await db["members"].insert_one({"_id": "m1", "tenant_id": "t1", "points_balance": 0, "stats": {}})
    clock = Clock()
    relay = outbox.Outbox(db, EventPublisher(kafka), ["members"])  # never run: only woken
    try:
        yield MongoMemberSpending(db, "markers-topic", relay, clock=clock), db, clock
    finally:
        await client.drop_database(db.name)
        await client.close()


def earning(points: int) -> spending.SpendChange:
    return spending.SpendChange(reason="purchase", source=f"purchase:{points}", points=points, purchases=1)


async def apply(
    store: MongoMemberSpending, clock: Clock, effect_id: str, points: int = 10
) -> spending.Outcome | None:
    change = earning(points)
    applied = await store.apply(
        "t1",
        "m1",
        change,
        lambda standing: spending.judge(standing, change, tiers.DEFAULT_LADDER, clock.now),
        effect_id=effect_id,
    )
    assert applied is not None
    return applied.outcome


async def test_an_effect_applied_twice_counts_once_even_with_a_dot_in_its_id(
    members: tuple[MongoMemberSpending, AsyncDatabase[Doc], Clock],
) -> None:
    store, db, clock = members

    first = await apply(store, clock, "refund:p1:R.2026.1")
    again = await apply(store, clock, "refund:p1:R.2026.1")

    doc = await db["members"].find_one({"_id": "m1"})
    assert doc is not None
    assert (first is not None, again) == (True, None)
    assert doc["points_balance"] == 10
    assert list(doc["_applied"]) == [marker_key("refund:p1:R.2026.1")]  # one flat key, no nesting


async def test_markers_older_than_the_retention_leave_with_the_next_update(
    members: tuple[MongoMemberSpending, AsyncDatabase[Doc], Clock],
) -> None:
    store, db, clock = members
    await apply(store, clock, "purchase-old")
    clock.now = T0 + timedelta(days=1)
    await apply(store, clock, "purchase-recent")

    clock.now = T0 + MARKER_RETENTION + timedelta(hours=1)
    await apply(store, clock, "purchase-new")
    replay = await apply(store, clock, "purchase-recent")  # still within the retention

    doc = await db["members"].find_one({"_id": "m1"})
    assert doc is not None
    assert sorted(doc["_applied"]) == ["purchase-new", "purchase-recent"]
    assert replay is None
    assert doc["points_balance"] == 30
