"""A member's question or suggestion: a thread of messages between the member and the shop.
No I/O.

    open --the shop replies--> answered --the member writes again--> open --> ...
    open | answered --close (the member or staff)--> closed

The first message is the member's question or suggestion ("can you stock X", "open earlier on
Sundays"). A thread may name the store it is about, and be assigned to a store or an
assistant. A suggestion can be adopted, once: the shop's thanks is posted as its message (a
closed suggestion can still be adopted, months later). A closed thread takes no more messages.

The shop's first response is due by the policy's SLA for "low" severity (its first response
hours), counted in the business hours of the thread's store (the chain's when it names none)
in the tenant's zone (sla.due), as for a complaint. The first message from staff meets it (an
adoption is one); closing a thread no one answered stops the clock. A breach is recorded once
(`sla_breaches`), whether the clock finds it overdue or a late reply reveals it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from chassis import fields
from chassis.errors import FailedPrecondition, InvalidArgument
from services.feedback.domain import sla
from services.feedback.domain.policy import FeedbackPolicy
from services.feedback.domain.reviews import REF_MAX, TEXT_MAX

FIRST_RESPONSE = sla.Sla.FIRST_RESPONSE.value
MESSAGES_MAX = 500  # a thread is a conversation, not a chat log
THANKS = "Thank you for your suggestion: we have adopted it."


class ThreadKind(StrEnum):
    QUESTION = "question"
    SUGGESTION = "suggestion"


class ThreadState(StrEnum):
    OPEN = "open"  # waiting for the shop
    ANSWERED = "answered"  # the shop replied last
    CLOSED = "closed"


class Author(StrEnum):
    MEMBER = "member"
    STAFF = "staff"


@dataclass(frozen=True)
class Message:
    id: str
    author: Author
    by: str
    text: str
    at: datetime


@dataclass(frozen=True)
class Thread:
    id: str
    tenant_id: str
    member_id: str
    kind: ThreadKind
    store_id: str
    state: ThreadState
    opened_at: datetime
    first_response_due: datetime
    messages: tuple[Message, ...]
    assigned_store_id: str = ""
    assigned_staff_id: str = ""
    first_responded_at: datetime | None = None
    sla_breaches: tuple[str, ...] = ()
    adopted_at: datetime | None = None
    adopted_by: str = ""
    closed_at: datetime | None = None
    closed_by: str = ""
    erased_at: datetime | None = None  # the member was erased: messages gone (domain.erasure)
    version: int = 1  # the store's guard: each change saves only on top of the version read

    @property
    def first_response_met_at(self) -> datetime | None:
        """The shop's first message; or the close of a thread no one answered."""
        return self.first_responded_at or self.closed_at


def _text(text: str, path: str = "text") -> str:
    body = fields.text(path, text, TEXT_MAX, multiline=True)
    if not body:
        raise InvalidArgument(path, f"{path} is required: say something")
    return body


def _ref(path: str, value: str) -> str:
    return fields.text(path, value, REF_MAX)


def open_thread(
    *,
    thread_id: str,
    message_id: str,
    tenant_id: str,
    member_id: str,
    kind: str,
    text: str,
    store_id: str,
    policy: FeedbackPolicy,
    at: datetime,
) -> Thread:
    """A new thread with the member's first message; its first response due from now."""
    member = _ref("member_id", member_id)
    if not member:
        raise InvalidArgument("member_id", "member_id is required: whose question or suggestion is it")
    store = _ref("store_id", store_id)
    hours = policy.sla(sla.Severity.LOW).first_response_hours
    return Thread(
        id=thread_id,
        tenant_id=tenant_id,
        member_id=member,
        kind=fields.choice("kind", kind, ThreadKind),
        store_id=store,
        state=ThreadState.OPEN,
        opened_at=at,
        first_response_due=sla.due(at, hours, policy.schedule(store), policy.zone()),
        messages=(Message(message_id, Author.MEMBER, member, _text(text), at),),
    )


def record_breach(thread: Thread, at: datetime) -> Thread:
    """The thread with its first response recorded as breached when it is missed by `at` (late,
    or not yet given after the due time) and not recorded yet; the same thread otherwise."""
    if FIRST_RESPONSE in thread.sla_breaches:
        return thread
    met = thread.first_response_met_at
    late = (met is None and at > thread.first_response_due) or (
        met is not None and met > thread.first_response_due
    )
    return replace(thread, sla_breaches=(*thread.sla_breaches, FIRST_RESPONSE)) if late else thread


def _author(author: str, by: str, thread: Thread) -> tuple[Author, str]:
    kind = fields.choice("author", author, Author)
    who = _ref("by", by)
    if kind is Author.MEMBER:
        if who and who != thread.member_id:
            raise FailedPrecondition("only the thread's member writes in it as the member")
        return kind, thread.member_id
    if not who:
        raise InvalidArgument("by", "say who writes for the shop (staff id or API key id)")
    return kind, who


def _append(thread: Thread, message: Message) -> Thread:
    if len(thread.messages) >= MESSAGES_MAX:
        raise FailedPrecondition(f"the thread has {MESSAGES_MAX} messages; open a new one")
    staff = message.author is Author.STAFF
    return replace(
        thread,
        messages=(*thread.messages, message),
        first_responded_at=thread.first_responded_at or (message.at if staff else None),
    )


def _has(thread: Thread, message_id: str) -> bool:
    return any(m.id == message_id for m in thread.messages)


def post(thread: Thread, author: str, by: str, text: str, message_id: str, at: datetime) -> Thread:
    """A message by the member (the thread is open again) or by staff (it is answered); the
    same thread when this message is already in it."""
    if _has(thread, message_id):
        return thread
    if thread.erased_at is not None:
        raise FailedPrecondition("the thread's member was erased; it takes no more messages")
    if thread.state is ThreadState.CLOSED:
        raise FailedPrecondition("the thread is closed; it takes no more messages")
    kind, who = _author(author, by, thread)
    after = _append(thread, Message(message_id, kind, who, _text(text), at))
    state = ThreadState.ANSWERED if kind is Author.STAFF else ThreadState.OPEN
    return record_breach(replace(after, state=state), at)


def assign(thread: Thread, by: str, store_id: str, staff_id: str, at: datetime) -> Thread:
    """Assigned to a store, an assistant or both (what is not named stays); the same thread when
    nothing changes."""
    if thread.state is ThreadState.CLOSED:
        raise FailedPrecondition("the thread is closed; it cannot be assigned")
    if not _ref("by", by):
        raise InvalidArgument("by", "say who assigns it (staff id or API key id)")
    store, staff = _ref("store_id", store_id), _ref("staff_id", staff_id)
    if not store and not staff:
        raise InvalidArgument("store_id", "name the store (store_id) or the assistant (staff_id) to assign")
    after = replace(
        thread,
        assigned_store_id=store or thread.assigned_store_id,
        assigned_staff_id=staff or thread.assigned_staff_id,
    )
    return thread if after == thread else record_breach(after, at)


def adopt(thread: Thread, by: str, note: str, message_id: str, at: datetime) -> Thread:
    """A suggestion adopted, the shop's thanks (`note`, else THANKS) posted as its message; the
    same thread when it was adopted already."""
    if thread.kind is not ThreadKind.SUGGESTION:
        raise FailedPrecondition("only a suggestion can be adopted; this thread is a question")
    if thread.adopted_at is not None:
        return thread
    who = _ref("by", by)
    if not who:
        raise InvalidArgument("by", "say who adopts it (staff id or API key id)")
    thanks = fields.text("note", note, TEXT_MAX, multiline=True) or THANKS
    after = _append(thread, Message(message_id, Author.STAFF, who, thanks, at))
    state = thread.state if thread.state is ThreadState.CLOSED else ThreadState.ANSWERED
    return record_breach(replace(after, state=state, adopted_at=at, adopted_by=who), at)


def close(thread: Thread, author: str, by: str, note: str, message_id: str, at: datetime) -> Thread:
    """Closed by its member or staff, `note` (if any) posted as the last message; the same thread
    when it is closed already."""
    if thread.state is ThreadState.CLOSED:
        return thread
    kind, who = _author(author, by, thread)
    text = fields.text("note", note, TEXT_MAX, multiline=True)
    after = _append(thread, Message(message_id, kind, who, text, at)) if text else thread
    closed = replace(after, state=ThreadState.CLOSED, closed_at=at, closed_by=who)
    return record_breach(closed, at)
