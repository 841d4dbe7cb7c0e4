"""A member's points markers on the real store: each adjustment's source counts once, whatever
it holds (a dot included), and its marker leaves the member document once its ledger entry is
surely written — so the document is bounded by a day's adjustments, and a source replayed after
its marker is gone still counts once (the entry is the lasting proof)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.kafka import EventPublisher
from services.members.adapters.mongo import marker_key
from services.members.adapters.points_mongo import MARKER_RETENTION, MongoPointsLedger
from services.members.domain import points as pts
from tests.support import fresh_namespace, server_urls

pytestmark = pytest.mark.servers

Doc = dict[str, Any]
T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
SIGN_IN = pts.EntryReason.SIGN_IN


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def ledger() -> AsyncIterator[tuple[MongoPointsLedger, AsyncDatabase[Doc], Clock]]:
    mongodb, kafka = server_urls()
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongodb, tz_aware=True)
    db = client[f"{fresh_namespace()}pointmarks"]
    await db["members"].insert_one({"_id": "m1", "tenant_id": "t1", "points_balance": 0})
    clock = Clock()
    relay = outbox.Outbox(db, EventPublisher(kafka), ["members"])  # never run: only woken
    try:
        yield MongoPointsLedger(db, "pointmarks-topic", relay, clock=clock), db, clock
    finally:
        await client.drop_database(db.name)
        await client.close()


async def adjust(store: MongoPointsLedger, clock: Clock, source: str, delta: int = 5) -> tuple[int, bool]:
    decide = partial(pts.adjusted, delta=delta, reason=SIGN_IN, source=source, at=clock.now)
    result = await store.adjust("t1", "m1", SIGN_IN, source, decide)
    assert result is not None
    return result


async def test_a_source_with_a_dot_counts_once_under_one_flat_marker(
    ledger: tuple[MongoPointsLedger, AsyncDatabase[Doc], Clock],
) -> None:
    store, db, clock = ledger

    first = await adjust(store, clock, "sign_in:2026.11.01")
    again = await adjust(store, clock, "sign_in:2026.11.01")

    doc = await db["members"].find_one({"_id": "m1"})
    assert doc is not None
    assert (first, again) == ((5, True), (5, False))
    assert list(doc["_points"]) == [marker_key("sign_in:2026.11.01")]  # one flat key, no nesting
    assert await db["points_entries"].count_documents({"member_id": "m1"}) == 1


async def test_markers_older_than_a_day_leave_and_their_sources_still_count_once(
    ledger: tuple[MongoPointsLedger, AsyncDatabase[Doc], Clock],
) -> None:
    store, db, clock = ledger
    for day in range(5):
        clock.now = T0 + timedelta(days=day)
        await adjust(store, clock, f"sign_in:day{day}")
    clock.now = T0 + timedelta(days=4) + MARKER_RETENTION + timedelta(hours=1)
    await adjust(store, clock, "sign_in:day9")

    replayed = [await adjust(store, clock, f"sign_in:day{day}") for day in range(5)]

    doc = await db["members"].find_one({"_id": "m1"})
    assert doc is not None
    assert sorted(doc["_points"]) == ["sign_in:day9"]  # the five older markers left
    assert all(not applied_now for _, applied_now in replayed)
    assert doc["points_balance"] == 30
    assert await db["points_entries"].count_documents({"member_id": "m1"}) == 6


async def test_a_marker_whose_entry_a_crash_left_unwritten_gets_its_entry_before_it_leaves(
    ledger: tuple[MongoPointsLedger, AsyncDatabase[Doc], Clock],
) -> None:
    store, db, clock = ledger
    await adjust(store, clock, "sign_in:crashed", delta=7)
    await db["points_entries"].delete_many({"member_id": "m1"})  # as if the call died before it

    clock.now = T0 + MARKER_RETENTION + timedelta(hours=1)
    await adjust(store, clock, "sign_in:later")

    entries = {e["source"]: e["delta"] async for e in db["points_entries"].find({"member_id": "m1"})}
    doc = await db["members"].find_one({"_id": "m1"})
    assert doc is not None
    assert entries == {"sign_in:crashed": 7, "sign_in:later": 5}
    assert sorted(doc["_points"]) == ["sign_in:later"]
    assert doc["points_balance"] == 12
