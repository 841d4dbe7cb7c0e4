"""Staff tasks: the rules (complete, reassign, listings, statistics), the use case on an in-memory
fake of its store port, the gRPC commands' mapping and the events' envelopes. No servers."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from regulars.common.v1 import paging_pb2
from regulars.messaging.v1 import events_pb2, messaging_pb2

from chassis.errors import FailedPrecondition, InvalidArgument, NotFound
from services.messaging.adapters import task_events
from services.messaging.domain import tasks as model
from services.messaging.domain.channels import Channel, MessageClass
from services.messaging.domain.messages import Message
from services.messaging.domain.tasks import Listing, Outcome, StaffStat, StaffTask, TaskState
from services.messaging.entrypoints.task_commands import TaskCommands
from services.messaging.service.tasks import StaffTasks

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def a_task(**changes: Any) -> StaffTask:
    task = model.open_task(
        tenant_id="t1",
        member_id="m1",
        message_id="msg-1",
        template_id="day3-call",
        staff_id="wang",
        store_id="s1",
        title="Call Ms Li",
        script="Hello Ms Li, how is the ring?",
        due_at=T0 + 24 * HOUR,
        now=T0,
    )
    return replace(task, **changes)


def a_message(message_id: str = "msg-1", tenant_id: str = "t1", member_id: str = "m1") -> Message:
    return Message(
        id=message_id,
        tenant_id=tenant_id,
        member_id=member_id,
        key=f"day3:{message_id}",
        template_id="day3-call",
        message_class=MessageClass.CARE,
        channels=(Channel.STAFF_TASK,),
        due_at=T0,
        created_at=T0,
    )


# --- The rules -----------------------------------------------------------------------------


def test_a_message_is_one_task_per_tenant() -> None:
    assert model.task_id("t1", "msg-1") == model.task_id("t1", "msg-1") == a_task().id
    assert model.task_id("t2", "msg-1") != model.task_id("t1", "msg-1")
    assert len(a_task().id) == 26


def test_the_holder_completes_a_task_on_time_or_late() -> None:
    on_time = model.complete(a_task(), "contacted", " liked it ", "wang", False, T0 + 2 * HOUR)
    assert (on_time.state, on_time.outcome, on_time.notes) == (TaskState.DONE, Outcome.CONTACTED, "liked it")
    assert (on_time.completed_at, on_time.on_time) == (T0 + 2 * HOUR, True)
    late = model.complete(a_task(), "no_answer", "", "wang", False, T0 + 25 * HOUR)
    assert (late.outcome, late.on_time) == (Outcome.NO_ANSWER, False)


def test_a_manager_completes_anyones_task_and_the_stores_own() -> None:
    assert model.complete(a_task(), "declined", "", "boss", True, T0).state is TaskState.DONE
    assert model.complete(a_task(staff_id=""), "declined", "", "", True, T0).state is TaskState.DONE


def test_another_assistant_cannot_complete_a_task_nor_the_stores() -> None:
    with pytest.raises(FailedPrecondition, match="held by assistant wang"):
        model.complete(a_task(), "contacted", "", "zhao", False, T0)
    with pytest.raises(FailedPrecondition, match="the store"):
        model.complete(a_task(staff_id=""), "contacted", "", "zhao", False, T0)
    with pytest.raises(InvalidArgument) as missing:
        model.complete(a_task(), "contacted", "", "", False, T0)
    assert missing.value.field == "staff_id"


def test_completing_again_with_the_same_outcome_changes_nothing_and_another_is_refused() -> None:
    done = model.complete(a_task(), "contacted", "ok", "wang", False, T0)
    assert model.complete(done, "contacted", "other notes", "wang", False, T0 + HOUR) is done
    with pytest.raises(FailedPrecondition, match="already done with outcome contacted"):
        model.complete(done, "wrong_number", "", "wang", False, T0 + HOUR)


@pytest.mark.parametrize(
    ("outcome", "notes", "field"),
    [("called", "", "outcome"), ("", "", "outcome"), ("contacted", "x" * 2001, "notes")],
)
def test_a_bad_outcome_or_notes_name_the_field(outcome: str, notes: str, field: str) -> None:
    with pytest.raises(InvalidArgument) as bad:
        model.complete(a_task(), outcome, notes, "wang", False, T0)
    assert bad.value.field == field


def test_a_handover_moves_an_open_task_and_remembers_who_held_it() -> None:
    moved = model.reassign(model.reassign(a_task(), "zhao", T0 + HOUR), "chen", T0 + 2 * HOUR)
    assert (moved.staff_id, moved.previous_staff_ids, moved.assigned_at) == (
        "chen",
        ("wang", "zhao"),
        T0 + 2 * HOUR,
    )
    from_store = model.reassign(a_task(staff_id=""), "zhao", T0 + HOUR)
    assert (from_store.staff_id, from_store.previous_staff_ids) == ("zhao", ())


def test_a_handover_already_applied_or_older_than_the_holders_changes_nothing() -> None:
    moved = model.reassign(a_task(), "zhao", T0 + 2 * HOUR)
    assert model.reassign(moved, "zhao", T0 + 3 * HOUR) is moved
    assert model.reassign(moved, "chen", T0 + HOUR) is moved  # replayed after the later handover
    with pytest.raises(FailedPrecondition, match="only open tasks"):
        model.reassign(model.complete(a_task(), "contacted", "", "wang", False, T0), "zhao", T0 + HOUR)


def test_a_listing_says_overdue_for_an_open_task_past_due() -> None:
    task = a_task()
    assert (task.shown_state(T0), task.shown_state(T0 + 25 * HOUR)) == ("open", "overdue")
    done = model.complete(task, "contacted", "", "wang", False, T0 + 30 * HOUR)
    assert done.shown_state(T0 + 40 * HOUR) == "done"
    assert model.listing(" Overdue ") is Listing.OVERDUE
    with pytest.raises(InvalidArgument) as bad:
        model.listing("late")
    assert bad.value.field == "state"


def test_stats_count_each_holders_tasks_and_their_on_time_rate() -> None:
    now = T0 + 30 * HOUR
    tasks = [
        model.complete(a_task(message_id="1"), "contacted", "", "wang", False, T0 + HOUR),
        model.complete(a_task(message_id="2"), "contacted", "", "wang", False, T0 + 26 * HOUR),
        a_task(message_id="3"),  # overdue at now
        a_task(message_id="4", due_at=now + HOUR),
        a_task(message_id="5", staff_id=""),
    ]
    rows = model.stats(tasks, now, {"wang": (2, 5000, "CNY"), "zhao": (1, 900, "CNY")})
    assert rows == [
        StaffStat("", open=1, overdue=1),
        StaffStat(
            "wang",
            open=2,
            overdue=1,
            done=2,
            done_on_time=1,
            conversions=2,
            revenue_minor=5000,
            currency="CNY",
        ),
        StaffStat("zhao", conversions=1, revenue_minor=900, currency="CNY"),
    ]
    assert (rows[1].on_time_rate, rows[2].on_time_rate) == (0.5, 0.0)


# --- The use case, on a fake of its store ----------------------------------------------------


class FakeTaskStore:
    """Keeps the port's promises: an insert once per id, a save only on top of the version read."""

    def __init__(self) -> None:
        self.stored: dict[tuple[str, str], StaffTask] = {}
        self.announced: list[tuple[str, str]] = []  # (event, task id)
        self.before_save: list[StaffTask] = []  # another writer's saves, applied before the next save

    async def insert(self, task: StaffTask) -> tuple[StaffTask, bool]:
        key = (task.tenant_id, task.id)
        if key in self.stored:
            return self.stored[key], False
        self.stored[key] = task
        self.announced.append(("staff_task_created", task.id))
        return task, True

    async def get(self, tenant_id: str, task_id: str) -> StaffTask | None:
        return self.stored.get((tenant_id, task_id))

    def _save(self, task: StaffTask, expected_version: int) -> bool:
        while self.before_save:
            other = self.before_save.pop(0)
            self.stored[(other.tenant_id, other.id)] = other
        key = (task.tenant_id, task.id)
        if self.stored[key].version != expected_version:
            return False
        self.stored[key] = replace(task, version=expected_version + 1)
        return True

    async def complete(self, task: StaffTask, expected_version: int) -> bool:
        saved = self._save(task, expected_version)
        if saved:
            self.announced.append(("staff_task_completed", task.id))
        return saved

    async def reassign(self, task: StaffTask, expected_version: int) -> bool:
        return self._save(task, expected_version)

    async def find(
        self,
        tenant_id: str,
        *,
        staff_id: str,
        store_id: str,
        listing: Listing,
        now: datetime,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[StaffTask]:
        def shown(t: StaffTask) -> bool:
            if listing is Listing.DUE:
                return t.state is TaskState.OPEN and not t.overdue(now)
            if listing is Listing.OVERDUE:
                return t.overdue(now)
            return listing is Listing.ALL or t.state.value == listing.value

        found = sorted(
            (
                t
                for (tenant, _), t in self.stored.items()
                if tenant == tenant_id
                and (not staff_id or t.staff_id == staff_id)
                and (not store_id or t.store_id == store_id)
                and shown(t)
                and (after is None or (t.due_at, t.id) > after)
            ),
            key=lambda t: (t.due_at, t.id),
        )
        return found[:limit]

    async def open_of_member(self, tenant_id: str, member_id: str) -> list[StaffTask]:
        return [
            t
            for (tenant, _), t in self.stored.items()
            if tenant == tenant_id and t.member_id == member_id and t.state is TaskState.OPEN
        ]

    async def opened_in(
        self, tenant_id: str, store_id: str, since: datetime, until: datetime
    ) -> list[StaffTask]:
        return [
            t
            for (tenant, _), t in self.stored.items()
            if tenant == tenant_id and t.store_id == store_id and since <= t.created_at < until
        ]

    async def forget_member(self, tenant_id: str, member_id: str) -> int:
        gone = [k for k, t in self.stored.items() if k[0] == tenant_id and t.member_id == member_id]
        for k in gone:
            del self.stored[k]
        return len(gone)


class FakeRevenue:
    def __init__(self, rows: dict[str, tuple[int, int, str]]) -> None:
        self.rows = rows
        self.asked: list[tuple[str, str, datetime, datetime]] = []

    async def revenue_by_staff(
        self, tenant_id: str, store_id: str, since: datetime, until: datetime
    ) -> dict[str, tuple[int, int, str]]:
        self.asked.append((tenant_id, store_id, since, until))
        return self.rows


@pytest.fixture
def store() -> FakeTaskStore:
    return FakeTaskStore()


@pytest.fixture
def desk(store: FakeTaskStore) -> StaffTasks:
    return StaffTasks(store, clock=lambda: T0 + 10 * HOUR)


async def _open(
    desk: StaffTasks,
    message_id: str,
    staff_id: str = "wang",
    due: datetime = T0 + 24 * HOUR,
    at: datetime = T0,
    **kw: Any,
) -> str:
    return await desk.open_for(a_message(message_id, **kw), staff_id, "s1", "Call", "Hello", due, at)


async def test_a_message_dispatched_twice_opens_one_task_announced_once(
    desk: StaffTasks, store: FakeTaskStore
) -> None:
    first = await _open(desk, "msg-1")
    assert await _open(desk, "msg-1") == first
    assert store.announced == [("staff_task_created", first)]
    task = await desk.get("t1", first)
    assert (task.member_id, task.message_id, task.template_id, task.staff_id) == (
        "m1",
        "msg-1",
        "day3-call",
        "wang",
    )
    with pytest.raises(NotFound):
        await desk.get("t2", first)


async def test_an_assistant_lists_theirs_due_and_overdue_split_by_now(desk: StaffTasks) -> None:
    late = await _open(desk, "a", due=T0 + HOUR)
    soon = await _open(desk, "b", due=T0 + 5 * HOUR)
    await _open(desk, "c", staff_id="zhao")
    now = T0 + 2 * HOUR

    async def ids(state: str) -> list[str]:
        found, _ = await desk.list("t1", staff_id="wang", state=state, now=now, limit=0, page_token="")
        return [t.id for t in found]

    assert (await ids("due"), await ids("overdue"), await ids("")) == ([soon], [late], [late, soon])


async def test_a_store_task_is_listed_by_its_store(desk: StaffTasks) -> None:
    task_id = await _open(desk, "a", staff_id="")
    found, _ = await desk.list("t1", store_id="s1", state="open", now=T0, limit=10, page_token="")
    assert [(t.id, t.staff_id) for t in found] == [(task_id, "")]


async def test_a_list_pages_with_tokens_until_the_last(desk: StaffTasks) -> None:
    opened = [await _open(desk, str(i), due=T0 + i * HOUR) for i in range(5)]
    seen, token, pages = [], "", 0
    while True:
        page, token = await desk.list("t1", staff_id="wang", now=T0, limit=2, page_token=token)
        seen += [t.id for t in page]
        pages += 1
        if not token:
            break
    assert (seen, pages) == (opened, 3)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"staff_id": "", "store_id": ""}, "staff_id"),
        ({"page_token": "not a token"}, "page_token"),
        ({"limit": -1}, "page_size"),
        ({"state": "soon"}, "state"),
    ],
)
async def test_a_bad_list_request_names_the_field(
    desk: StaffTasks, changes: dict[str, Any], field: str
) -> None:
    request: dict[str, Any] = {"staff_id": "wang", "store_id": "", "state": "", "limit": 10, "page_token": ""}
    with pytest.raises(InvalidArgument) as bad:
        await desk.list("t1", now=T0, **(request | changes))
    assert bad.value.field == field


async def test_completing_announces_once_and_a_second_outcome_is_refused(
    desk: StaffTasks, store: FakeTaskStore
) -> None:
    task_id = await _open(desk, "a")
    done = await desk.complete("t1", task_id, "contacted", "", "wang", False, T0 + HOUR)
    assert (done.on_time, done.version) == (True, 1)
    assert await desk.complete("t1", task_id, "contacted", "", "wang", False, T0 + 2 * HOUR) == done
    with pytest.raises(FailedPrecondition):
        await desk.complete("t1", task_id, "declined", "", "wang", False, T0 + 2 * HOUR)
    assert [e for e, _ in store.announced] == ["staff_task_created", "staff_task_completed"]
    with pytest.raises(NotFound):
        await desk.complete("t2", task_id, "contacted", "", "wang", False, T0)


async def test_a_completion_that_lost_the_race_is_judged_again_on_the_winner(
    desk: StaffTasks, store: FakeTaskStore
) -> None:
    task_id = await _open(desk, "a")
    winner = model.complete(store.stored[("t1", task_id)], "no_answer", "", "boss", True, T0)
    store.before_save.append(replace(winner, version=1))
    with pytest.raises(FailedPrecondition, match="already done with outcome no_answer"):
        await desk.complete("t1", task_id, "contacted", "", "wang", False, T0 + HOUR)
    assert store.stored[("t1", task_id)].outcome is Outcome.NO_ANSWER


async def test_a_handover_moves_the_members_open_tasks_once_and_done_ones_stay(desk: StaffTasks) -> None:
    open_one = await _open(desk, "a")
    store_one = await _open(desk, "b", staff_id="")
    done_one = await _open(desk, "c")
    other_member = await _open(desk, "d", member_id="m2")
    await desk.complete("t1", done_one, "contacted", "", "wang", False, T0 + HOUR)

    assert await desk.member_reassigned("t1", "m1", "zhao", "wang", T0 + 2 * HOUR) == 2
    assert await desk.member_reassigned("t1", "m1", "zhao", "wang", T0 + 2 * HOUR) == 0  # redelivered
    assert await desk.member_reassigned("t1", "m1", "chen", "wang", T0 + HOUR) == 0  # an older one, late
    held = {i: (await desk.get("t1", i)).staff_id for i in (open_one, store_one, done_one, other_member)}
    assert held == {open_one: "zhao", store_one: "zhao", done_one: "wang", other_member: "wang"}
    assert (await desk.get("t1", open_one)).previous_staff_ids == ("wang",)


async def test_a_handover_that_lost_the_race_to_a_completion_moves_nothing(
    desk: StaffTasks, store: FakeTaskStore
) -> None:
    task_id = await _open(desk, "a")
    done = model.complete(store.stored[("t1", task_id)], "contacted", "", "wang", False, T0 + HOUR)
    store.before_save.append(replace(done, version=1))
    assert await desk.member_reassigned("t1", "m1", "zhao", "wang", T0 + 2 * HOUR) == 0
    assert store.stored[("t1", task_id)].staff_id == "wang"


async def test_stats_join_the_revenue_attributed_to_each_assistant(store: FakeTaskStore) -> None:
    revenue = FakeRevenue({"wang": (3, 12_000, "CNY")})
    desk = StaffTasks(store, revenue, clock=lambda: T0)
    task_id = await _open(desk, "a")
    await desk.complete("t1", task_id, "contacted", "", "wang", False, T0 + HOUR)
    await _open(desk, "b", due=T0 + 2 * HOUR)
    await _open(desk, "c", at=T0 - HOUR)  # opened before the default 30 days
    await _open(desk, "d", due=T0 + 60 * 24 * HOUR, at=T0 + 29 * 24 * HOUR)  # not yet due: counted
    rows = await desk.stats("t1", "s1", None, None, T0 + 30 * 24 * HOUR)
    assert rows == [
        StaffStat(
            "wang",
            open=2,
            overdue=1,
            done=1,
            done_on_time=1,
            conversions=3,
            revenue_minor=12_000,
            currency="CNY",
        )
    ]
    assert revenue.asked == [("t1", "s1", T0 + 30 * 24 * HOUR - timedelta(days=30), T0 + 30 * 24 * HOUR)]


async def test_stats_without_attribution_have_no_revenue_and_refuse_an_empty_period(desk: StaffTasks) -> None:
    await _open(desk, "a")
    rows = await desk.stats("t1", "s1", T0, T0 + 48 * HOUR, T0)
    assert rows == [StaffStat("wang", open=1)]
    with pytest.raises(InvalidArgument) as bad:
        await desk.stats("t1", "s1", T0, T0, T0)
    assert bad.value.field == "since"
    with pytest.raises(InvalidArgument) as no_store:
        await desk.stats("t1", " ", None, None, T0)
    assert no_store.value.field == "store_id"


async def test_forgetting_a_member_deletes_their_tasks(desk: StaffTasks) -> None:
    gone = await _open(desk, "a")
    kept = await _open(desk, "b", member_id="m2")
    assert await desk.forget_member("t1", "m1") == 1
    with pytest.raises(NotFound):
        await desk.get("t1", gone)
    assert (await desk.get("t1", kept)).member_id == "m2"


# --- The gRPC commands and the events ---------------------------------------------------------


def _ts(at: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(at)
    return ts


@pytest.fixture
def commands(store: FakeTaskStore) -> TaskCommands:
    served = TaskCommands()
    served.serve_tasks(
        StaffTasks(store, FakeRevenue({"wang": (1, 500, "CNY")}), clock=lambda: T0 + 30 * HOUR)
    )
    return served


CTX = cast(Any, None)


async def test_a_listing_judges_overdue_at_the_requests_now_else_the_clock(
    commands: TaskCommands, desk: StaffTasks
) -> None:
    await _open(desk, "a")
    at = messaging_pb2.ListStaffTasksRequest(tenant_id="t1", staff_id="wang", now=_ts(T0 + HOUR))
    assert [t.state for t in (await commands.ListStaffTasks(at, CTX)).tasks] == ["open"]
    clock = messaging_pb2.ListStaffTasksRequest(
        tenant_id="t1", staff_id="wang", page=paging_pb2.PageRequest(page_size=1)
    )
    reply = await commands.ListStaffTasks(clock, CTX)
    assert ([t.state for t in reply.tasks], reply.page.next_page_token) == (["overdue"], "")


async def test_complete_get_and_stats_map_to_protobuf(commands: TaskCommands, desk: StaffTasks) -> None:
    task_id = await _open(desk, "a")
    done = await commands.CompleteStaffTask(
        messaging_pb2.CompleteStaffTaskRequest(
            tenant_id="t1", task_id=task_id, outcome="no_answer", staff_id="wang"
        ),
        CTX,
    )
    assert (done.state, done.outcome, done.on_time) == ("done", "no_answer", False)  # the clock: 30 h, late
    assert done.completed_at.ToDatetime(tzinfo=UTC) == T0 + 30 * HOUR
    got = await commands.GetStaffTask(messaging_pb2.GetStaffTaskRequest(tenant_id="t1", task_id=task_id), CTX)
    assert (got.id, got.member_id, got.due_at.ToDatetime(tzinfo=UTC)) == (task_id, "m1", T0 + 24 * HOUR)
    stats = await commands.GetStaffTaskStats(
        messaging_pb2.GetStaffTaskStatsRequest(
            tenant_id="t1", store_id="s1", since=_ts(T0), until=_ts(T0 + 48 * HOUR)
        ),
        CTX,
    )
    row = stats.staff[0]
    assert (stats.store_id, row.staff_id, row.done, row.on_time_rate) == ("s1", "wang", 1, 0.0)
    assert (row.attributed_revenue.minor_units, row.attributed_revenue.currency, row.conversions) == (
        500,
        "CNY",
        1,
    )


def test_the_events_carry_the_task_with_the_member_as_subject() -> None:
    task = a_task()
    created = task_events.created(task)
    assert (created.type, created.source, created.subject, created.tenant_id, created.time) == (
        "regulars.messaging.v1.staff_task_created",
        "regulars/messaging",
        "m1",
        "t1",
        T0,
    )
    assert events_pb2.StaffTaskCreated.FromString(created.data).task.id == task.id
    done = model.complete(task, "contacted", "", "wang", False, T0 + HOUR)
    completed = task_events.completed(done)
    assert (completed.type, completed.time) == ("regulars.messaging.v1.staff_task_completed", T0 + HOUR)
    payload = events_pb2.StaffTaskCompleted.FromString(completed.data).task
    assert (payload.state, payload.outcome, payload.on_time) == ("done", "contacted", True)
    assert task_events.TOPIC == "regulars.messaging.v1"


@pytest.mark.parametrize(
    "raw", ["2026-05-04T09:00:00|", "2026-05-04T09:00:00|X", "0001-01-01T00:00:00+05:00|X", "no separator"]
)
async def test_a_forged_page_token_is_refused_naming_it(desk: StaffTasks, raw: str) -> None:
    token = base64.urlsafe_b64encode(raw.encode()).decode()
    with pytest.raises(InvalidArgument) as bad:
        await desk.list("t1", staff_id="wang", now=T0, limit=10, page_token=token)
    assert bad.value.field == "page_token"


async def test_times_are_kept_to_the_millisecond_so_an_answer_equals_a_later_read(desk: StaffTasks) -> None:
    fine = T0 + timedelta(microseconds=123_456)
    task_id = await desk.open_for(a_message("a"), "wang", "s1", "Call", "Hello", fine + HOUR, fine)
    opened = await desk.get("t1", task_id)
    assert (opened.created_at, opened.due_at) == (
        T0 + timedelta(milliseconds=123),
        T0 + HOUR + timedelta(milliseconds=123),
    )
    done = await desk.complete("t1", task_id, "contacted", "", "wang", False, fine + 2 * HOUR)
    assert done.completed_at == T0 + 2 * HOUR + timedelta(milliseconds=123)
