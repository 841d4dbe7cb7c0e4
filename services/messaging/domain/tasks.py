"""Staff tasks: a message that goes by the staff_task channel becomes a to-do for the member's
owning assistant (call or message them 1-to-1, with a suggested script). Pure rules, no I/O.

A task is one per (tenant, message): its id derives from them (`task_id`), so a message
dispatched twice is still one task. It is `open` until its holder (or a manager) completes it
with an outcome; it was on time when completed by its due time. Completing it again with the
same outcome is a retry and changes nothing; another outcome is refused, so the recorded
outcome is never silently rewritten. A handover moves the member's open tasks to the new
assistant (`reassign`), remembering who held them; a task with no assistant is the store's
(staff_id "") until a manager gives it to someone.
"""

from __future__ import annotations

import hashlib
from base64 import b32encode
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from chassis import fields
from chassis.errors import FailedPrecondition, InvalidArgument

NOTES_MAX = 2000


class TaskState(StrEnum):
    OPEN = "open"
    DONE = "done"


class Outcome(StrEnum):
    CONTACTED = "contacted"
    NO_ANSWER = "no_answer"
    DECLINED = "declined"
    WRONG_NUMBER = "wrong_number"


class Listing(StrEnum):
    """Which tasks a list shows: "due" and "overdue" split the open ones at `now`."""

    ALL = ""
    DUE = "due"  # open and not yet past due
    OVERDUE = "overdue"  # open and past due
    OPEN = "open"
    DONE = "done"


@dataclass(frozen=True)
class StaffTask:
    id: str
    tenant_id: str
    member_id: str
    staff_id: str  # "" while it is the store's (no assistant yet)
    store_id: str
    message_id: str
    template_id: str
    title: str
    script: str
    due_at: datetime
    created_at: datetime
    assigned_at: datetime  # when the current holder got it: an older handover cannot move it
    state: TaskState = TaskState.OPEN
    outcome: Outcome | None = None
    notes: str = ""
    completed_at: datetime | None = None
    on_time: bool = False
    previous_staff_ids: tuple[str, ...] = ()  # oldest first
    version: int = 0

    def overdue(self, now: datetime) -> bool:
        return self.state is TaskState.OPEN and self.due_at < now

    def shown_state(self, now: datetime) -> str:
        """The state a listing shows: "overdue" for an open task past due at `now`."""
        return Listing.OVERDUE.value if self.overdue(now) else self.state.value


def task_id(tenant_id: str, message_id: str) -> str:
    """26 base32 characters of sha256(tenant, message): the same message, the same task."""
    digest = hashlib.sha256(f"{tenant_id}\x1fstaff_task\x1f{message_id}".encode()).digest()
    return b32encode(digest).decode()[:26]


def open_task(
    *,
    tenant_id: str,
    member_id: str,
    message_id: str,
    template_id: str,
    staff_id: str,
    store_id: str,
    title: str,
    script: str,
    due_at: datetime,
    now: datetime,
) -> StaffTask:
    if due_at.tzinfo is None or now.tzinfo is None:
        raise InvalidArgument("due_at", "times must carry a time zone")
    return StaffTask(
        id=task_id(tenant_id, message_id),
        tenant_id=tenant_id,
        member_id=member_id,
        staff_id=staff_id,
        store_id=store_id,
        message_id=message_id,
        template_id=template_id,
        title=title,
        script=script,
        due_at=due_at,
        created_at=now,
        assigned_at=now,
    )


def listing(state: str) -> Listing:
    return fields.choice("state", state, Listing)


def complete(
    task: StaffTask, outcome: str, notes: str, by_staff_id: str, by_manager: bool, now: datetime
) -> StaffTask:
    """Done with `outcome` by its holder or a manager; a retry with the same outcome is the task
    as it is."""
    result = fields.choice("outcome", outcome, Outcome)
    text = fields.text("notes", notes, NOTES_MAX, multiline=True)
    if not by_manager:
        if not by_staff_id:
            raise InvalidArgument("staff_id", "say who did it (staff_id), or act as a manager")
        if by_staff_id != task.staff_id:
            held = f"assistant {task.staff_id}" if task.staff_id else "the store (a manager assigns it)"
            raise FailedPrecondition(
                f"task {task.id} is held by {held}; only its holder or a manager completes it"
            )
    if task.state is TaskState.DONE:
        if task.outcome is result:
            return task
        raise FailedPrecondition(
            f"task {task.id} is already done with outcome {task.outcome}; it cannot become {result}"
        )
    return replace(
        task, state=TaskState.DONE, outcome=result, notes=text, completed_at=now, on_time=now <= task.due_at
    )


def reassign(task: StaffTask, to_staff_id: str, now: datetime) -> StaffTask:
    """The open task to `to_staff_id` ("" : the store's), its holder remembered. Unchanged when
    it already is theirs, or when it was (re)assigned after `now` (an older handover, replayed)."""
    if task.state is not TaskState.OPEN:
        raise FailedPrecondition(f"task {task.id} is done; only open tasks change hands")
    if task.staff_id == to_staff_id or now < task.assigned_at:
        return task
    previous = (*task.previous_staff_ids, task.staff_id) if task.staff_id else task.previous_staff_ids
    return replace(task, staff_id=to_staff_id, assigned_at=now, previous_staff_ids=previous)


@dataclass(frozen=True)
class StaffStat:
    """One assistant's tasks in a period (open and overdue as at `now`) and the revenue
    attributed to them."""

    staff_id: str
    open: int = 0
    overdue: int = 0
    done: int = 0
    done_on_time: int = 0
    conversions: int = 0
    revenue_minor: int = 0
    currency: str = ""

    @property
    def on_time_rate(self) -> float:
        return self.done_on_time / self.done if self.done else 0.0


def stats(
    tasks: Iterable[StaffTask], now: datetime, revenue: Mapping[str, tuple[int, int, str]]
) -> list[StaffStat]:
    """Per holder (staff_id "" for the store's unassigned tasks), by staff id; an assistant with
    revenue but no task in the period has a row too. `revenue`: staff id -> (conversions,
    revenue in minor units, currency)."""
    rows: dict[str, StaffStat] = {}
    for t in tasks:
        row = rows.get(t.staff_id) or StaffStat(t.staff_id)
        if t.state is TaskState.DONE:
            row = replace(row, done=row.done + 1, done_on_time=row.done_on_time + int(t.on_time))
        else:
            row = replace(row, open=row.open + 1, overdue=row.overdue + int(t.overdue(now)))
        rows[t.staff_id] = row
    for staff_id, (conversions, minor, currency) in revenue.items():
        row = rows.get(staff_id) or StaffStat(staff_id)
        rows[staff_id] = replace(row, conversions=conversions, revenue_minor=minor, currency=currency)
    return [rows[k] for k in sorted(rows)]
