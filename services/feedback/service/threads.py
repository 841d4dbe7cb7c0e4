"""Questions and suggestions: a member opens a thread, the member and staff write in it, staff
assign it, adopt a suggestion, and either closes it; the clock records a late first response.

Opening is idempotent on (tenant, member, request_id): the thread's id derives from them
(keys.thread_key) and the repository's insert-once decides; a retry gets the first thread with
created = False. A message with a request id is one per (thread, request id) (keys.message_key),
so a retried post adds nothing. Every change is ONE write of the thread guarded by the version
read, with the facts it announces (domain.events.thread_facts); when another writer got there
first, the thread is read and the change decided again. The first response is due by the
policy's SLA for low severity, in business hours (domain.threads); `record_breaches` (run by the
case clock) records each late one once, with its thread_sla_breached.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from chassis import fields
from chassis.errors import NotFound, Unavailable
from services.feedback.domain import threads as model
from services.feedback.domain.erasure import scrub_thread
from services.feedback.domain.events import thread_facts
from services.feedback.domain.keys import message_key, step_message_key, thread_key
from services.feedback.domain.threads import Thread, ThreadKind, ThreadState
from services.feedback.service.cases import SAVE_ATTEMPTS, Clock, list_limit, utc_now
from services.feedback.service.erasure import Erasure
from services.feedback.service.opening import new_ulid
from services.feedback.service.ports import PolicyRepository, ThreadRepository

REQUEST_ID_MAX = 128
Decide = Callable[[Thread], Thread]


def _thread_ref(thread_id: str) -> str:
    """A thread id a message id can derive from: one with a control character (no thread has
    one; a key part must not) names no thread."""
    if not thread_id.isprintable():
        raise NotFound("thread not found")
    return thread_id


@dataclass(frozen=True)
class BreachSummary:
    breaches: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # thread id -> why, tried again next run


class Threads:
    def __init__(
        self,
        threads: ThreadRepository,
        policies: PolicyRepository,
        clock: Clock = utc_now,
        new_id: Callable[[], str] = new_ulid,
        erasure: Erasure | None = None,
    ) -> None:
        self._threads = threads
        self._policies = policies
        self._clock = clock
        self._new_id = new_id
        self._erasure = erasure

    def _message_id(self, thread_id: str, request_id: str) -> str:
        request = fields.text("request_id", request_id, REQUEST_ID_MAX)
        return message_key(thread_id, request) if request else self._new_id()

    async def open(
        self, *, tenant_id: str, member_id: str, kind: str, text: str, store_id: str, request_id: str
    ) -> tuple[Thread, bool]:
        """(the thread, opened now). Without a request id every call opens a new thread."""
        request = fields.text("request_id", request_id, REQUEST_ID_MAX) or self._new_id()
        now = self._clock()
        policy = await self._policies.current(tenant_id)
        thread_id = thread_key(tenant_id, member_id.strip(), request)
        thread = model.open_thread(
            thread_id=thread_id,
            message_id=step_message_key(thread_id, "opening"),
            tenant_id=tenant_id,
            member_id=member_id,
            kind=kind,
            text=text,
            store_id=store_id,
            policy=policy,
            at=now,
        )
        if self._erasure is not None:
            await self._erasure.refuse_if_erased(tenant_id, thread.member_id)
        found = await self._threads.get(tenant_id, thread_id)
        if found is not None:
            return found, False
        stored, created = await self._threads.insert(thread, thread_facts(None, thread, now))
        if self._erasure is not None:
            await self._erasure.settle(tenant_id, thread.member_id)  # erased meanwhile: scrubbed
        return stored, created

    async def get(self, tenant_id: str, thread_id: str) -> Thread:
        found = await self._threads.get(tenant_id, thread_id)
        if found is None:
            raise NotFound(f"thread {thread_id} not found")
        return found

    async def list_threads(
        self, tenant_id: str, member_id: str, store_id: str, state: str, kind: str, limit: int
    ) -> list[Thread]:
        wanted = fields.choice("state", state, ThreadState) if state else None
        of_kind = fields.choice("kind", kind, ThreadKind) if kind else None
        return await self._threads.find(
            tenant_id, member_id.strip(), store_id.strip(), wanted, of_kind, list_limit(limit)
        )

    async def post(
        self, tenant_id: str, thread_id: str, author: str, by: str, text: str, request_id: str = ""
    ) -> Thread:
        """A message by the thread's member or by staff."""
        message_id = self._message_id(_thread_ref(thread_id), request_id)
        return await self._change(
            tenant_id, thread_id, lambda t, at: model.post(t, author, by, text, message_id, at)
        )

    async def assign(self, tenant_id: str, thread_id: str, by: str, store_id: str, staff_id: str) -> Thread:
        return await self._change(
            tenant_id, thread_id, lambda t, at: model.assign(t, by, store_id, staff_id, at)
        )

    async def adopt(self, tenant_id: str, thread_id: str, by: str, note: str) -> Thread:
        """A suggestion adopted, the thanks posted (again: the thread as adopted)."""
        message_id = step_message_key(_thread_ref(thread_id), "adopted")
        return await self._change(
            tenant_id, thread_id, lambda t, at: model.adopt(t, by, note, message_id, at)
        )

    async def close(self, tenant_id: str, thread_id: str, author: str, by: str, note: str) -> Thread:
        message_id = step_message_key(_thread_ref(thread_id), "closing")
        return await self._change(
            tenant_id, thread_id, lambda t, at: model.close(t, author, by, note, message_id, at)
        )

    async def record_breaches(self, now: datetime, limit: int) -> BreachSummary:
        """Record each first response missed by `now` (once per thread, with its event)."""
        count, failed = 0, dict[str, str]()
        for thread in await self._threads.overdue(now, limit):
            try:
                before, after = await self._write(
                    thread.tenant_id, thread.id, lambda t: model.record_breach(t, now), now, thread
                )
            except Exception as exc:  # the store or contention: next run
                failed[thread.id] = str(exc) or type(exc).__name__
                continue
            count += len(after.sla_breaches) - len(before.sla_breaches)
        return BreachSummary(count, failed)

    async def _change(
        self, tenant_id: str, thread_id: str, decide: Callable[[Thread, datetime], Thread]
    ) -> Thread:
        at = self._clock()
        _, after = await self._write(tenant_id, thread_id, lambda t: decide(t, at), at)
        return after

    async def _write(
        self, tenant_id: str, thread_id: str, decide: Decide, at: datetime, first: Thread | None = None
    ) -> tuple[Thread, Thread]:
        """(the thread as last read, as stored now): `decide` judged on the stored thread and
        saved with its facts in one write guarded by the version read; judged again when the
        thread changed meanwhile."""
        before = first
        for _ in range(SAVE_ATTEMPTS):
            if before is None:
                before = await self.get(tenant_id, thread_id)
            after = decide(before)
            if before.erased_at is not None:  # its member was erased: a closing note goes too
                after = scrub_thread(after, before.erased_at)
            if after is before:
                return before, after
            after = replace(after, version=before.version + 1)
            if await self._threads.save(after, before.version, thread_facts(before, after, at)):
                return before, after
            before = None
        raise Unavailable("the thread is changing too fast; try again")
