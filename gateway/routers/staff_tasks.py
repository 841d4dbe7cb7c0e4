"""Staff tasks: the assistant's to-do list. A message sent by the staff_task channel becomes a task
for the member's assistant (call or message them 1-to-1, with a script); the assistant's app
lists theirs (due, overdue) and completes one with an outcome; a manager reads the store's tasks
and each assistant's on-time rate beside the revenue attributed to them.

Who may see what: a staff session of an assistant sees only the tasks they hold (another's is
a 404, as another tenant's is); a manager's session sees its store's; an API key sees its
tenant's (a key restricted to a store: that store's). The store-wide routes (`tasks:manage`)
take a manager's session of that store or a key; an assistant's session is a 403 there even
though staff sessions carry the scope (the role decides). Who completes is the staff session
itself; an API key says whom in the body, or completes as a manager.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from gateway.clients.staff_tasks import StaffTasksClient
from gateway.deps import MembersDep, require, side_client
from gateway.errors import Problem
from gateway.identity import Caller
from gateway.schemas.common import UtcTimestamp
from gateway.schemas.problems import responses
from gateway.schemas.staff_tasks import (
    REF_MAX,
    CompleteStaffTaskBody,
    ListingName,
    StaffTaskOut,
    StaffTaskPage,
    StaffTaskStatsOut,
)

router = APIRouter(prefix="/v1", tags=["staff tasks"])


async def _staff_tasks(request: Request) -> StaffTasksClient:
    return side_client(request, "staff_tasks", "messaging", StaffTasksClient.over)


StaffTasksDep = Annotated[StaffTasksClient, Depends(_staff_tasks)]
WorkTasks = Annotated[Caller, Depends(require("tasks:work"))]
ManageTasks = Annotated[Caller, Depends(require("tasks:manage"))]
TaskId = Annotated[str, Path(min_length=1, max_length=64, description="The task's id")]
StaffId = Annotated[str, Path(min_length=1, max_length=REF_MAX, description="The assistant's staff id")]
StoreId = Annotated[str, Path(min_length=1, max_length=REF_MAX, description="The store's id (its code)")]
State = Annotated[
    ListingName | None,
    Query(description="due: open, not yet past due; overdue: open, past due; open; done; all when left out"),
]
PageSize = Annotated[int, Query(ge=1, le=200, description="Items per page")]
PageToken = Annotated[str, Query(max_length=256, description="next_page_token of the previous page")]
_LIST_ERRORS = responses(400, 401, 403, 404, 422, 429, 503)


def _forbidden(detail: str, field: str | None = None) -> Problem:
    return Problem(403, "forbidden", "Forbidden", detail, field=field)


def _hidden(what: str) -> Problem:
    return Problem(404, "not-found", "Not found", f"{what} not found")


def _ensure_manages(caller: Caller, store_id: str) -> None:
    """A store-wide read: a manager's session of that store, or a key (restricted: its store)."""
    if caller.kind == "staff" and caller.role != "manager":
        raise _forbidden("only a store manager reads the store's tasks and statistics")
    if caller.store_id and caller.store_id != store_id:
        raise _forbidden(f"this credential is restricted to store {caller.store_id}", "store_id")


def _may_see(caller: Caller, task: StaffTaskOut) -> bool:
    if caller.kind == "staff" and caller.role != "manager":
        return task.staff_id == caller.subject
    return not caller.store_id or task.store_id == caller.store_id


async def _readable(tasks: StaffTasksClient, caller: Caller, task_id: str) -> StaffTaskOut:
    task = await tasks.get(caller.tenant_id, task_id)
    if not _may_see(caller, task):
        raise _hidden(f"staff task {task_id}")
    return task


@router.get(
    "/staff/me/tasks",
    summary="My tasks",
    description=(
        "The signed-in assistant's own tasks (a staff session), soonest due first: `state=due` for what "
        "is still on time, `overdue` for what is late, `open`, `done`, or all. Scope `tasks:work`."
    ),
    responses=_LIST_ERRORS,
)
async def my_tasks(
    caller: WorkTasks,
    tasks: StaffTasksDep,
    state: State = None,
    page_size: PageSize = 50,
    page_token: PageToken = "",
) -> StaffTaskPage:
    if caller.kind != "staff":
        raise _forbidden(
            "only a staff session has tasks of its own; a key asks for /v1/staff/{staff_id}/tasks"
        )
    return await tasks.list(
        caller.tenant_id, staff_id=caller.subject, state=state, page_size=page_size, page_token=page_token
    )


@router.get(
    "/staff/{staff_id}/tasks",
    summary="An assistant's tasks",
    description=(
        "One assistant's tasks, soonest due first, by `state` as for /v1/staff/me/tasks. A key with "
        "`tasks:work` reads anyone's (a key restricted to a store: in that store); a manager's session "
        "its store's assistants'; an assistant's session only its own (another's is a 404)."
    ),
    responses=_LIST_ERRORS,
)
async def staff_tasks(
    staff_id: StaffId,
    caller: WorkTasks,
    tasks: StaffTasksDep,
    members: MembersDep,
    state: State = None,
    page_size: PageSize = 50,
    page_token: PageToken = "",
) -> StaffTaskPage:
    if caller.kind == "staff" and staff_id != caller.subject:
        if caller.role != "manager":
            raise _hidden(f"staff {staff_id}")
        staff = await members.get_staff(caller.tenant_id, staff_id)
        if staff.store_code != caller.store_id:
            raise _hidden(f"staff {staff_id}")
    return await tasks.list(
        caller.tenant_id,
        staff_id=staff_id,
        store_id=caller.store_id or "",
        state=state,
        page_size=page_size,
        page_token=page_token,
    )


@router.get(
    "/stores/{store_id}/staff-tasks",
    summary="A store's tasks",
    description=(
        "Every task of the store (an assistant's, or the store's own while no assistant holds it), "
        "soonest due first, by `state`, optionally of one assistant (`staff_id`). A manager's session "
        "of that store, or a key. Scope `tasks:manage`."
    ),
    responses=_LIST_ERRORS,
)
async def store_tasks(
    store_id: StoreId,
    caller: ManageTasks,
    tasks: StaffTasksDep,
    state: State = None,
    staff_id: Annotated[str, Query(max_length=REF_MAX, description="Only this assistant's")] = "",
    page_size: PageSize = 50,
    page_token: PageToken = "",
) -> StaffTaskPage:
    _ensure_manages(caller, store_id)
    return await tasks.list(
        caller.tenant_id,
        staff_id=staff_id,
        store_id=store_id,
        state=state,
        page_size=page_size,
        page_token=page_token,
    )


@router.get(
    "/staff-tasks/{task_id}",
    summary="Read a task",
    description=(
        "The task with its script, due time and, once done, its outcome and whether it was on time. "
        "An assistant's session reads the tasks it holds; a manager's its store's. Scope `tasks:work`."
    ),
    responses=_LIST_ERRORS,
)
async def get_task(task_id: TaskId, caller: WorkTasks, tasks: StaffTasksDep) -> StaffTaskOut:
    return await _readable(tasks, caller, task_id)


@router.post(
    "/staff-tasks/{task_id}/complete",
    summary="Complete a task",
    description=(
        "Done with an `outcome` (contacted, no_answer, declined, wrong_number) and optional notes; "
        "messaging announces staff_task_completed, with whether it was on time. Completing it again with "
        "the same outcome returns it; another outcome is a 409. A staff session completes as itself "
        "(an assistant the tasks it holds, a manager any of its store's); a key names the assistant "
        "(`staff_id`) or sets `by_manager`. Scope `tasks:work`."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def complete_task(
    task_id: TaskId, body: CompleteStaffTaskBody, caller: WorkTasks, tasks: StaffTasksDep
) -> StaffTaskOut:
    staff_id, by_manager = body.staff_id.strip(), body.by_manager
    if caller.kind == "staff":
        if staff_id not in ("", caller.subject):
            raise _forbidden("a staff session completes tasks as itself", "staff_id")
        if by_manager and caller.role != "manager":
            raise _forbidden("only a manager completes others' tasks", "by_manager")
        staff_id, by_manager = caller.subject, caller.role == "manager"
    if caller.kind == "staff" or caller.store_id:
        await _readable(tasks, caller, task_id)
    return await tasks.complete(
        caller.tenant_id,
        task_id,
        outcome=body.outcome,
        notes=body.notes,
        staff_id=staff_id,
        by_manager=by_manager,
    )


@router.get(
    "/stores/{store_id}/staff-task-stats",
    summary="Each assistant's tasks and on-time rate",
    description=(
        "Per assistant, the store's tasks opened in [`since`, `until`) (by default the 30 days to now): "
        "open and overdue now, done, done on time and the on-time rate, with the conversions and revenue "
        "attributed to their messages. A manager's session of that store, or a key. Scope `tasks:manage`."
    ),
    responses=_LIST_ERRORS,
)
async def store_task_stats(
    store_id: StoreId,
    caller: ManageTasks,
    tasks: StaffTasksDep,
    since: Annotated[UtcTimestamp | None, Query(description="From (inclusive), with a time zone")] = None,
    until: Annotated[UtcTimestamp | None, Query(description="To (exclusive), with a time zone")] = None,
) -> StaffTaskStatsOut:
    _ensure_manages(caller, store_id)
    return await tasks.stats(caller.tenant_id, store_id, since, until)
