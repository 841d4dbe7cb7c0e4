"""Staff tasks: the assistant's to-do list. A message the pipeline sends by the staff_task
channel opens one task (`open_for`, the TaskDesk port); the assistant lists theirs (due,
overdue), a manager the store's, and either completes one with an outcome; a handover moves a
member's open tasks to the new assistant; a manager reads each assistant's on-time rate beside
the revenue attributed to them.

Every change is ONE write of the task guarded by the version read (the store embeds the event
it announces); when another writer got there first the task is read and the change judged
again, so two completions with different outcomes cannot both win.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from chassis.errors import InvalidArgument, NotFound, Unavailable
from services.messaging.domain import tasks as model
from services.messaging.domain.messages import Message
from services.messaging.domain.tasks import Listing, StaffStat, StaffTask, TaskState

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
SAVE_ATTEMPTS = 5
STATS_PERIOD = timedelta(days=30)  # when the caller names no period: the last 30 days
Clock = Callable[[], datetime]
TaskList = list[StaffTask]
StatList = list[StaffStat]  # (aliases: a method of StaffTasks is named `list`)


def utc_now() -> datetime:
    return datetime.now(UTC)


def _stored(at: datetime) -> datetime:
    """To the millisecond, as BSON keeps it: what a change answers is what a read returns."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


class TaskStore(Protocol):
    async def insert(self, task: StaffTask) -> tuple[StaffTask, bool]:
        """(the stored task, inserted now): once per id, announcing staff_task_created."""

    async def get(self, tenant_id: str, task_id: str) -> StaffTask | None: ...

    async def complete(self, task: StaffTask, expected_version: int) -> bool:
        """Saves the done task with staff_task_completed unless it changed since read."""

    async def reassign(self, task: StaffTask, expected_version: int) -> bool:
        """Saves the task's new holder unless it changed since read."""

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
    ) -> TaskList:
        """Soonest due first, then by id; strictly after the (due_at, id) cursor when given."""

    async def open_of_member(self, tenant_id: str, member_id: str) -> TaskList: ...

    async def opened_in(
        self, tenant_id: str, store_id: str, since: datetime, until: datetime
    ) -> TaskList: ...

    async def forget_member(self, tenant_id: str, member_id: str) -> int: ...


class RevenueByStaff(Protocol):
    """Attribution: what the messages of each assistant brought in (another module's answer)."""

    async def revenue_by_staff(
        self, tenant_id: str, store_id: str, since: datetime, until: datetime
    ) -> dict[str, tuple[int, int, str]]:
        """Staff id -> (conversions, revenue in minor units, currency) in [since, until)."""


def _token(task: StaffTask) -> str:
    raw = f"{task.due_at.isoformat()}|{task.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor(token: str) -> tuple[datetime, str] | None:
    """The (due_at, id) a page token carries; anything else is the caller's mistake, never a 500
    (a far-off offset that cannot be converted to UTC included)."""
    if not token:
        return None
    bad = InvalidArgument("page_token", "page_token is not one this service issued")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        due, task_id = raw.split("|", 1)
        at = datetime.fromisoformat(due)
        if at.tzinfo is None or not task_id:
            raise bad
        return at.astimezone(UTC), task_id
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise bad from None


def _page_size(limit: int) -> int:
    if limit < 0:
        raise InvalidArgument("page_size", "page_size must not be negative")
    return min(limit or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


class StaffTasks:
    def __init__(
        self, tasks: TaskStore, revenue: RevenueByStaff | None = None, clock: Clock = utc_now
    ) -> None:
        self._tasks = tasks
        self._revenue = revenue
        self.clock = clock  # the gRPC edge's `now` when a request names none

    async def open_for(
        self,
        message: Message,
        staff_id: str,
        store_id: str,
        title: str,
        script: str,
        due_at: datetime,
        now: datetime,
    ) -> str:
        """The task of `message` (TaskDesk): opened once, announced with staff_task_created; again
        for the same message, the same task. No assistant (staff_id ""): the store's task."""
        task = model.open_task(
            tenant_id=message.tenant_id,
            member_id=message.member_id,
            message_id=message.id,
            template_id=message.template_id,
            staff_id=staff_id,
            store_id=store_id,
            title=title,
            script=script,
            due_at=_stored(due_at),
            now=_stored(now),
        )
        if await self._tasks.get(task.tenant_id, task.id) is not None:
            return task.id
        stored, _ = await self._tasks.insert(task)
        return stored.id

    async def list(
        self,
        tenant_id: str,
        *,
        staff_id: str = "",
        store_id: str = "",
        state: str = "",
        now: datetime,
        limit: int,
        page_token: str,
    ) -> tuple[TaskList, str]:
        """A page of one assistant's tasks or a store's (or an assistant's in a store), soonest due
        first, and the token of the next page ("" after the last)."""
        staff, store = staff_id.strip(), store_id.strip()
        if not staff and not store:
            raise InvalidArgument("staff_id", "name an assistant (staff_id) or a store (store_id)")
        listing = model.listing(state)
        size = _page_size(limit)
        found = await self._tasks.find(
            tenant_id,
            staff_id=staff,
            store_id=store,
            listing=listing,
            now=now,
            after=_cursor(page_token),
            limit=size + 1,
        )
        if len(found) > size:
            return found[:size], _token(found[size - 1])
        return found, ""

    async def get(self, tenant_id: str, task_id: str) -> StaffTask:
        found = await self._tasks.get(tenant_id, task_id)
        if found is None:
            raise NotFound(f"staff task {task_id} not found")
        return found

    async def complete(
        self,
        tenant_id: str,
        task_id: str,
        outcome: str,
        notes: str,
        staff_id: str,
        by_manager: bool,
        now: datetime,
    ) -> StaffTask:
        """Done with `outcome` (staff_task_completed, once); the same outcome again returns it."""
        for _ in range(SAVE_ATTEMPTS):
            task = await self.get(tenant_id, task_id)
            done = model.complete(task, outcome, notes, staff_id.strip(), by_manager, _stored(now))
            if done is task:
                return task
            if await self._tasks.complete(done, task.version):
                return replace(done, version=task.version + 1)
        raise Unavailable(f"staff task {task_id} is changing; try again")

    async def stats(
        self, tenant_id: str, store_id: str, since: datetime | None, until: datetime | None, now: datetime
    ) -> StatList:
        """Per assistant, the store's tasks opened in [since, until) (by default the 30 days to
        `now`): open and overdue at `now`, done, done on time, with the revenue attributed to
        them in the same period. By opening, not due time: the tasks given out lately count at
        once, those not yet due included."""
        store = store_id.strip()
        if not store:
            raise InvalidArgument("store_id", "store_id is required")
        return await self._stats(tenant_id, store, since, until, now)

    async def tenant_stats(
        self, tenant_id: str, since: datetime | None, until: datetime | None, now: datetime
    ) -> StatList:
        """The same per assistant over every store of the tenant (the messaging report)."""
        return await self._stats(tenant_id, "", since, until, now)

    async def _stats(
        self, tenant_id: str, store: str, since: datetime | None, until: datetime | None, now: datetime
    ) -> StatList:
        end = until or now
        start = since or end - STATS_PERIOD
        if start >= end:
            raise InvalidArgument("since", "since must be before until")
        found = await self._tasks.opened_in(tenant_id, store, start, end)
        revenue = await self._revenue.revenue_by_staff(tenant_id, store, start, end) if self._revenue else {}
        return model.stats(found, now, revenue)

    async def member_reassigned(
        self, tenant_id: str, member_id: str, staff_id: str, previous_staff_id: str, at: datetime
    ) -> int:
        """members' member_staff_assigned: every open task of the member follows them to
        `staff_id`, whoever held it (`previous_staff_id` is not needed: a task opened for an
        owner before an earlier handover must follow too). Done tasks stay with who did them.
        Redelivered, or replayed after a later handover, it moves nothing. Returns how many moved."""
        moved = 0
        for task in await self._tasks.open_of_member(tenant_id, member_id):
            moved += await self._move(task, staff_id.strip(), _stored(at))
        return moved

    async def _move(self, task: StaffTask | None, staff_id: str, at: datetime) -> int:
        for _ in range(SAVE_ATTEMPTS):
            if task is None or task.state is not TaskState.OPEN:
                return 0
            after = model.reassign(task, staff_id, at)
            if after is task:
                return 0
            if await self._tasks.reassign(after, task.version):
                return 1
            task = await self._tasks.get(task.tenant_id, task.id)
        raise Unavailable(f"staff task {task.id if task else ''} is changing; try again")

    async def forget_member(self, tenant_id: str, member_id: str) -> int:
        """Erasure: the member's tasks are deleted (their titles and scripts name the member)."""
        return await self._tasks.forget_member(tenant_id, member_id)
