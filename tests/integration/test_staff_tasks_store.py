"""Staff tasks on the real store (a database of its own): a task reads back exactly as written; a
message's task is inserted once with one staff_task_created; a completion is guarded on the
version read and embeds staff_task_completed, a reassignment embeds nothing; listings split
due and overdue at `now`, page without skipping, and never cross tenants; racing completions
with different outcomes leave exactly one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from regulars.messaging.v1 import events_pb2

from chassis import mongo, outbox
from chassis.errors import FailedPrecondition
from services.messaging.adapters import tasks_mongo
from services.messaging.adapters.tasks_mongo import STAFF_TASKS, MongoStaffTasks
from services.messaging.domain import tasks as model
from services.messaging.domain.tasks import Listing, Outcome, StaffTask, TaskState
from services.messaging.service.tasks import StaffTasks
from tests.support import fresh_namespace, server_urls

pytestmark = pytest.mark.servers

Doc = dict[str, Any]
TOPIC = "staff-tasks-store-topic"
T0 = datetime(2026, 5, 4, 9, 30, 12, 345000, tzinfo=UTC)  # milliseconds: what BSON keeps
HOUR = timedelta(hours=1)


class _Relay:
    """Stands in for the outbox relay: counts wake-ups, never publishes."""

    def __init__(self) -> None:
        self.woken = 0

    def wake(self) -> None:
        self.woken += 1


@dataclass
class Store:
    db: AsyncDatabase[Doc]
    tasks: MongoStaffTasks
    relay: _Relay

    async def events(self, task_id: str) -> list[tuple[str, bytes]]:
        doc = await self.db[STAFF_TASKS].find_one({"_id": task_id})
        assert doc is not None
        return [(e["type"], bytes(e["data"])) for _, e in sorted((doc.get("_outbox") or {}).items())]


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    mongodb, _ = server_urls()
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongodb, tz_aware=True)
    db = client[f"{fresh_namespace()}messaging"]
    await mongo.ensure_indexes(db, tasks_mongo.INDEXES)
    counting = _Relay()
    try:
        yield Store(db, MongoStaffTasks(db, TOPIC, cast(outbox.Outbox, counting)), counting)
    finally:
        await client.drop_database(db.name)
        await client.close()


def a_task(message_id: str = "msg-1", tenant_id: str = "t1", **changes: Any) -> StaffTask:
    task = model.open_task(
        tenant_id=tenant_id,
        member_id="m1",
        message_id=message_id,
        template_id="day3-call",
        staff_id="wang",
        store_id="s1",
        title="Call Ms Li",
        script="Hello Ms Li, how is the ring?",
        due_at=T0 + 24 * HOUR,
        now=T0,
    )
    return replace(task, **changes)


async def test_a_task_reads_back_exactly_as_written(store: Store) -> None:
    task = replace(
        a_task(),
        state=TaskState.DONE,
        outcome=Outcome.WRONG_NUMBER,
        notes="number\nchanged",
        completed_at=T0 + HOUR,
        on_time=True,
        previous_staff_ids=("chen", "zhao"),
        assigned_at=T0 + 2 * HOUR,
    )
    await store.tasks.insert(task)
    assert await store.tasks.get("t1", task.id) == task
    assert await store.tasks.get("t2", task.id) is None


async def test_a_messages_task_is_inserted_once_with_one_created_event(store: Store) -> None:
    first, created = await store.tasks.insert(a_task())
    again, created_again = await store.tasks.insert(a_task(title="another title"))
    assert (created, created_again, again) == (True, False, first)
    events = await store.events(first.id)
    assert [t for t, _ in events] == ["regulars.messaging.v1.staff_task_created"]
    assert events_pb2.StaffTaskCreated.FromString(events[0][1]).task.title == "Call Ms Li"
    assert store.relay.woken == 1


async def test_a_completion_is_guarded_on_the_version_and_embeds_its_event(store: Store) -> None:
    task, _ = await store.tasks.insert(a_task())
    done = model.complete(task, "contacted", "liked it", "wang", False, T0 + HOUR)
    assert await store.tasks.complete(done, 0)
    assert not await store.tasks.complete(model.complete(task, "declined", "", "wang", False, T0), 0)  # stale
    stored = await store.tasks.get("t1", task.id)
    assert stored == replace(done, version=1)
    events = await store.events(task.id)
    assert [t for t, _ in events] == [
        "regulars.messaging.v1.staff_task_created",
        "regulars.messaging.v1.staff_task_completed",
    ]
    completed = events_pb2.StaffTaskCompleted.FromString(events[1][1]).task
    assert (completed.outcome, completed.on_time, completed.notes) == ("contacted", True, "liked it")


async def test_a_reassignment_is_guarded_and_announces_nothing(store: Store) -> None:
    task, _ = await store.tasks.insert(a_task())
    moved = model.reassign(task, "zhao", T0 + HOUR)
    assert await store.tasks.reassign(moved, 0)
    assert not await store.tasks.reassign(model.reassign(task, "chen", T0 + HOUR), 0)
    assert await store.tasks.get("t1", task.id) == replace(moved, version=1)
    assert len(await store.events(task.id)) == 1  # staff_task_created only


async def test_listings_split_at_now_filter_by_holder_or_store_and_never_cross_tenants(store: Store) -> None:
    late, _ = await store.tasks.insert(a_task("a", due_at=T0 + HOUR))
    soon, _ = await store.tasks.insert(a_task("b", due_at=T0 + 5 * HOUR))
    stores, _ = await store.tasks.insert(a_task("c", staff_id="", due_at=T0 + 3 * HOUR))
    other_store, _ = await store.tasks.insert(a_task("d", store_id="s2", due_at=T0 + 4 * HOUR))
    done, _ = await store.tasks.insert(a_task("e", due_at=T0 + 6 * HOUR))
    assert await store.tasks.complete(model.complete(done, "contacted", "", "wang", False, T0), 0)
    await store.tasks.insert(a_task("a", tenant_id="t2", due_at=T0))
    now = T0 + 2 * HOUR

    async def ids(listing: Listing, staff_id: str = "", store_id: str = "") -> list[str]:
        found = await store.tasks.find(
            "t1", staff_id=staff_id, store_id=store_id, listing=listing, now=now, after=None, limit=50
        )
        return [t.id for t in found]

    assert await ids(Listing.DUE, staff_id="wang") == [other_store.id, soon.id]
    assert await ids(Listing.OVERDUE, staff_id="wang") == [late.id]
    assert await ids(Listing.OPEN, store_id="s1") == [late.id, stores.id, soon.id]
    assert await ids(Listing.DONE, store_id="s1") == [done.id]
    assert await ids(Listing.ALL, staff_id="wang", store_id="s1") == [late.id, soon.id, done.id]


async def test_a_cursor_pages_past_tasks_due_at_the_same_moment(store: Store) -> None:
    opened = sorted(
        [(await store.tasks.insert(a_task(str(i), due_at=T0 + (i // 3) * HOUR)))[0] for i in range(7)],
        key=lambda t: (t.due_at, t.id),
    )
    seen: list[str] = []
    after: tuple[datetime, str] | None = None
    while True:
        page = await store.tasks.find(
            "t1", staff_id="wang", store_id="", listing=Listing.ALL, now=T0, after=after, limit=2
        )
        if not page:
            break
        seen += [t.id for t in page]
        after = (page[-1].due_at, page[-1].id)
    assert seen == [t.id for t in opened]


async def test_a_members_open_tasks_a_stores_period_and_erasure(store: Store) -> None:
    open_one, _ = await store.tasks.insert(a_task("a"))
    done, _ = await store.tasks.insert(a_task("b", created_at=T0 + 48 * HOUR))
    assert await store.tasks.complete(model.complete(done, "declined", "", "wang", False, T0), 0)
    other, _ = await store.tasks.insert(a_task("c", member_id="m2", created_at=T0 + 100 * HOUR))
    assert [t.id for t in await store.tasks.open_of_member("t1", "m1")] == [open_one.id]
    assert {t.id for t in await store.tasks.opened_in("t1", "s1", T0, T0 + 48 * HOUR)} == {open_one.id}
    assert {t.id for t in await store.tasks.opened_in("t1", "s1", T0, T0 + 101 * HOUR)} == {
        open_one.id,
        done.id,
        other.id,
    }
    assert await store.tasks.opened_in("t2", "s1", T0, T0 + 101 * HOUR) == []
    assert await store.tasks.forget_member("t2", "m1") == 0
    assert await store.tasks.forget_member("t1", "m1") == 2
    assert [t.id for t in await store.tasks.opened_in("t1", "s1", T0, T0 + 101 * HOUR)] == [other.id]


async def test_racing_completions_with_different_outcomes_leave_exactly_one(store: Store) -> None:
    desk = StaffTasks(store.tasks, clock=lambda: T0)
    task, _ = await store.tasks.insert(a_task())
    outcomes = [o.value for o in Outcome] * 3

    async def attempt(outcome: str) -> str:
        try:
            done = await desk.complete("t1", task.id, outcome, "", "wang", False, T0 + HOUR)
        except FailedPrecondition:
            return "refused"
        return done.outcome.value if done.outcome else ""

    results = await asyncio.gather(*(attempt(o) for o in outcomes))
    stored = await store.tasks.get("t1", task.id)
    assert stored is not None
    assert stored.outcome is not None
    winner = stored.outcome.value
    assert sorted(results) == sorted([winner] * 3 + ["refused"] * (len(outcomes) - 3))
    assert stored.version == 1
    assert [t for t, _ in await store.events(task.id)].count(
        "regulars.messaging.v1.staff_task_completed"
    ) == 1
