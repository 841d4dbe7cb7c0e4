"""Staff tasks in MongoDB: one document per task, `_id` = the task's id (derived from the
tenant and the message, domain.tasks.task_id), so a message dispatched twice inserts once.

The insert embeds staff_task_created (outbox); completing is one update guarded on the version
read that embeds staff_task_completed, so a stale write changes and announces nothing; a
reassignment is the same guarded update without an event. Every filter names the tenant.
Documents map to the domain here only.
"""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from chassis import outbox
from chassis.cloudevents import Envelope
from chassis.errors import Unavailable
from chassis.mongo import Document, find_for_tenant, retry_busy
from services.messaging.adapters import task_events
from services.messaging.domain.tasks import Listing, Outcome, StaffTask, TaskState

STAFF_TASKS = "staff_tasks"
_ORDER = [("due_at", ASCENDING), ("_id", ASCENDING)]
INDEXES = {
    STAFF_TASKS: [
        IndexModel(
            [("tenant_id", ASCENDING), ("staff_id", ASCENDING), ("state", ASCENDING), ("due_at", ASCENDING)],
            name="staff_tasks_by_staff",
        ),
        IndexModel(
            [("tenant_id", ASCENDING), ("store_id", ASCENDING), ("state", ASCENDING), ("due_at", ASCENDING)],
            name="staff_tasks_by_store",
        ),
        IndexModel(
            [("tenant_id", ASCENDING), ("member_id", ASCENDING), ("state", ASCENDING)],
            name="staff_tasks_by_member",
        ),
        IndexModel([("tenant_id", ASCENDING), ("created_at", ASCENDING)], name="staff_tasks_opened"),
    ],
}
OUTBOX_COLLECTIONS = [STAFF_TASKS]
STATS_MAX = 50_000  # tasks of one store read for one period's statistics


def task_doc(t: StaffTask) -> Document:
    return {
        "_id": t.id,
        "tenant_id": t.tenant_id,
        "member_id": t.member_id,
        "staff_id": t.staff_id,
        "store_id": t.store_id,
        "message_id": t.message_id,
        "template_id": t.template_id,
        "title": t.title,
        "script": t.script,
        "due_at": t.due_at,
        "created_at": t.created_at,
        "assigned_at": t.assigned_at,
        "state": t.state.value,
        "outcome": t.outcome.value if t.outcome else None,
        "notes": t.notes,
        "completed_at": t.completed_at,
        "on_time": t.on_time,
        "previous_staff_ids": list(t.previous_staff_ids),
        "version": t.version,
    }


def task_from(d: Document) -> StaffTask:
    return StaffTask(
        id=d["_id"],
        tenant_id=d["tenant_id"],
        member_id=d["member_id"],
        staff_id=d["staff_id"],
        store_id=d["store_id"],
        message_id=d["message_id"],
        template_id=d["template_id"],
        title=d["title"],
        script=d["script"],
        due_at=d["due_at"],
        created_at=d["created_at"],
        assigned_at=d["assigned_at"],
        state=TaskState(d["state"]),
        outcome=Outcome(d["outcome"]) if d.get("outcome") else None,
        notes=d.get("notes", ""),
        completed_at=d.get("completed_at"),
        on_time=bool(d.get("on_time")),
        previous_staff_ids=tuple(d.get("previous_staff_ids") or ()),
        version=int(d["version"]),
    )


def _listed(listing: Listing, now: datetime) -> list[Document]:
    """The conditions of a listing ("due" and "overdue" split the open tasks at `now`)."""
    if listing is Listing.ALL:
        return []
    if listing is Listing.DONE:
        return [{"state": TaskState.DONE.value}]
    conditions: list[Document] = [{"state": TaskState.OPEN.value}]
    if listing is Listing.DUE:
        conditions.append({"due_at": {"$gte": now}})
    elif listing is Listing.OVERDUE:
        conditions.append({"due_at": {"$lt": now}})
    return conditions


class MongoStaffTasks:
    def __init__(self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox) -> None:
        self._tasks = db[STAFF_TASKS]
        self._topic = topic
        self._outbox = out

    async def insert(self, task: StaffTask) -> tuple[StaffTask, bool]:
        """Stored with its staff_task_created in one insert; the stored task when the id is taken
        (the message became a task before)."""
        doc = task_doc(task) | outbox.embed(self._topic, task_events.created(task))
        try:
            await retry_busy(lambda: self._tasks.insert_one(doc))
        except DuplicateKeyError:
            stored = await find_for_tenant(self._tasks, task.tenant_id, task.id)
            if stored is None:  # ids derive from the tenant: another tenant's cannot collide
                raise Unavailable(f"staff task id {task.id} is taken; try again") from None
            return task_from(stored), False
        self._outbox.wake()
        return task, True

    async def get(self, tenant_id: str, task_id: str) -> StaffTask | None:
        doc = await find_for_tenant(self._tasks, tenant_id, task_id)
        return task_from(doc) if doc else None

    async def complete(self, task: StaffTask, expected_version: int) -> bool:
        """Saves the completed task with its staff_task_completed, if it is still at the version
        read; False (nothing written) when another write came first."""
        return await self._save(task, expected_version, task_events.completed(task))

    async def reassign(self, task: StaffTask, expected_version: int) -> bool:
        """Saves the task's new holder, if it is still at the version read (no event: the task is
        the same to-do, the member's member_staff_assigned already says who looks after them)."""
        return await self._save(task, expected_version, None)

    async def _save(self, task: StaffTask, expected_version: int, event: Envelope | None) -> bool:
        fields = task_doc(task)
        del fields["_id"]
        fields["version"] = expected_version + 1
        if event is not None:
            fields |= outbox.embed_set(self._topic, event)
        result = await retry_busy(
            lambda: self._tasks.update_one(
                {"_id": task.id, "tenant_id": task.tenant_id, "version": expected_version}, {"$set": fields}
            )
        )
        if result.matched_count != 1:
            return False
        if event is not None:
            self._outbox.wake()
        return True

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
        """Soonest due first (then by id), strictly after the cursor (due_at, id) when given;
        `staff_id` / `store_id` "" : any."""
        query: Document = {"tenant_id": tenant_id}
        if staff_id:
            query["staff_id"] = staff_id
        if store_id:
            query["store_id"] = store_id
        conditions = _listed(listing, now)
        if after is not None:
            due, last_id = after
            conditions.append({"$or": [{"due_at": {"$gt": due}}, {"due_at": due, "_id": {"$gt": last_id}}]})
        if conditions:
            query["$and"] = conditions
        found = self._tasks.find(query).sort(_ORDER).limit(limit)
        return [task_from(d) async for d in found]

    async def open_of_member(self, tenant_id: str, member_id: str) -> list[StaffTask]:
        query = {"tenant_id": tenant_id, "member_id": member_id, "state": TaskState.OPEN.value}
        return [task_from(d) async for d in self._tasks.find(query).sort(_ORDER)]

    async def opened_in(
        self, tenant_id: str, store_id: str, since: datetime, until: datetime
    ) -> list[StaffTask]:
        """The store's tasks (every store's for "") opened in [since, until), for statistics."""
        query: Document = {"tenant_id": tenant_id, "created_at": {"$gte": since, "$lt": until}}
        if store_id:
            query["store_id"] = store_id
        return [task_from(d) async for d in self._tasks.find(query).limit(STATS_MAX)]

    async def forget_member(self, tenant_id: str, member_id: str) -> int:
        """Deletes the member's tasks (their title and script greet them by name): erasure."""
        result = await retry_busy(
            lambda: self._tasks.delete_many({"tenant_id": tenant_id, "member_id": member_id})
        )
        return result.deleted_count
