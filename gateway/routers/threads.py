"""Questions and suggestions: a member asks a question or makes a suggestion ("can you stock X",
"open earlier on Sundays") from the mini-program; the shop answers in the thread, assigns it to
a store or an assistant, adopts a suggestion (the member is thanked), and the member or the shop
closes it. The shop's first answer is due by the feedback policy's SLA for low severity, in
business hours; a late one is reported once (thread_sla_breached).

Who may act on what: a member session opens, reads, writes in and closes only its own member's
threads; a credential restricted to a store (a store's key, a staff session) reads and handles
the threads of its store (the one it is about, or the one it is assigned to): another's is a
404, as another tenant's is. Who writes is the calling member, staff or key, never the body.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from gateway.deps import (
    HandleCases,
    MembersDep,
    ReadFeedback,
    SurveysDep,
    WriteFeedback,
    in_callers_store,
    require_for,
)
from gateway.errors import Problem
from gateway.identity import Caller
from gateway.routers.cases import (
    Limit,
    MemberFilter,
    StoreFilter,
    actor,
    at_callers_store,
    filters,
    member_for,
)
from gateway.schemas.problems import responses
from gateway.schemas.surveys import (
    AssignThreadBody,
    OpenThreadBody,
    ThreadKindName,
    ThreadList,
    ThreadMessageBody,
    ThreadNoteBody,
    ThreadOut,
    ThreadStateName,
)

router = APIRouter(prefix="/v1", tags=["threads"])
ThreadId = Annotated[str, Path(min_length=1, max_length=64, description="The thread's id")]
OpenThreadAtStore = Annotated[OpenThreadBody, in_callers_store(OpenThreadBody)]
# A member writes in (and closes) its own thread with feedback:write; the shop with cases:handle.
WriteInThread = Annotated[Caller, Depends(require_for(member="feedback:write", others="cases:handle"))]


def _may_see(caller: Caller, thread: ThreadOut) -> bool:
    if caller.kind == "member" and thread.member_id != caller.member_id:
        return False
    return at_callers_store(caller, thread.store_id, thread.assigned_store_id)


def _hidden(thread_id: str) -> Problem:
    return Problem(404, "not-found", "Not found", f"thread {thread_id} not found")


async def _readable(surveys: SurveysDep, caller: Caller, thread_id: str) -> ThreadOut:
    thread = await surveys.get_thread(caller.tenant_id, thread_id)
    if not _may_see(caller, thread):
        raise _hidden(thread_id)
    return thread


async def _ensure_may_act(surveys: SurveysDep, caller: Caller, thread_id: str) -> None:
    """404 unless the caller may act on the thread (read first when the caller is restricted)."""
    if caller.kind == "member" or caller.store_id:
        await _readable(surveys, caller, thread_id)


def _author(caller: Caller) -> tuple[str, str]:
    """As whom the caller writes: a member session as the member, anyone else for the shop."""
    return ("member", "") if caller.kind == "member" else ("staff", actor(caller))


@router.post(
    "/threads",
    status_code=201,
    summary="Ask a question or make a suggestion",
    description=(
        "A member's question or suggestion (`kind`), optionally about a store, opens a thread with it as "
        "the first message; the shop's first answer is due by the feedback policy's SLA for low "
        "severity, in the store's (else the chain's) business hours. 201 when opened; 200 with the first "
        "thread for a retry with the same `request_id`. A member session opens threads for itself "
        "(`member_id` may be left out); a key names the member. Scope `feedback:write`."
    ),
    responses={
        200: {"model": ThreadOut, "description": "A retry: the thread first opened with this request_id"},
        **responses(400, 401, 403, 404, 409, 422, 429, 503),
    },
)
async def open_thread(
    caller: WriteFeedback,
    body: OpenThreadAtStore,
    members: MembersDep,
    surveys: SurveysDep,
    response: Response,
) -> ThreadOut:
    member_id = await member_for(members, caller, body.member_id)
    thread, created = await surveys.open_thread(caller.tenant_id, member_id, body)
    if not _may_see(caller, thread) or (thread.store_id or "") != body.store_id.strip():
        # The same member's request_id reused for a thread of another store.
        raise Problem(
            409,
            "conflict",
            "Already exists",
            f"request_id {body.request_id} already opened another thread; use a new one",
            field="request_id",
        )
    response.status_code = 201 if created else 200
    if created:
        response.headers["Location"] = f"/v1/threads/{thread.id}"
    return thread


@router.get(
    "/threads/{thread_id}",
    summary="Read a thread",
    description=(
        "The question or suggestion with every message (the member's and the shop's), whom it is "
        "assigned to, when the shop's first answer was due and given, any breach of that, and its "
        "adoption. A member session reads its own member's threads; a store's credential its store's. "
        "Scope `feedback:read`."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def get_thread(thread_id: ThreadId, caller: ReadFeedback, surveys: SurveysDep) -> ThreadOut:
    return await _readable(surveys, caller, thread_id)


@router.get(
    "/threads",
    summary="List threads",
    description=(
        "Newest first, optionally of one member, one store (the one it is about), in one state (open: "
        "waiting for the shop; answered; closed) or of one kind. A member session lists its own "
        "member's; a store's credential its store's. Scope `feedback:read`."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def list_threads(
    caller: ReadFeedback,
    surveys: SurveysDep,
    member_id: MemberFilter = "",
    store_id: StoreFilter = "",
    state: Annotated[ThreadStateName | None, Query(description="Only threads in this state")] = None,
    kind: Annotated[ThreadKindName | None, Query(description="Only questions, or only suggestions")] = None,
    limit: Limit = 50,
) -> ThreadList:
    store, member = filters(caller, store_id, member_id)
    found = await surveys.list_threads(
        caller.tenant_id, member_id=member, store_id=store, state=state, kind=kind, limit=limit
    )
    return ThreadList(items=found)


@router.post(
    "/threads/{thread_id}/messages",
    summary="Write in a thread",
    description=(
        "A message: from a member session, the member's (the thread is open again, waiting for the "
        "shop); from anyone else, the shop's answer (the thread is answered; the first one meets the "
        "SLA). Idempotent on `request_id`. A closed thread is a 409. Scope `feedback:write` for a member "
        "session (its own threads), `cases:handle` for the shop."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def post_message(
    thread_id: ThreadId, body: ThreadMessageBody, caller: WriteInThread, surveys: SurveysDep
) -> ThreadOut:
    await _ensure_may_act(surveys, caller, thread_id)
    author, by = _author(caller)
    return await surveys.post_message(caller.tenant_id, thread_id, author, by, body.text, body.request_id)


@router.post(
    "/threads/{thread_id}/assign",
    summary="Assign a thread",
    description=(
        "To a store, an assistant or both (what is not named stays as it was); messaging can turn it "
        "into a task. A closed thread is a 409. Scope `cases:handle`."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def assign_thread(
    thread_id: ThreadId, body: AssignThreadBody, caller: HandleCases, surveys: SurveysDep
) -> ThreadOut:
    await _ensure_may_act(surveys, caller, thread_id)
    return await surveys.assign_thread(
        caller.tenant_id, thread_id, actor(caller), body.store_id, body.staff_id
    )


@router.post(
    "/threads/{thread_id}/adopt",
    summary="Adopt a suggestion",
    description=(
        "The suggestion is adopted and the member thanked: `note` (or a default thanks) is posted as "
        "the shop's message, and messaging is told (suggestion_adopted), once — adopting again returns "
        "the thread as it is. A question is a 409. Scope `cases:handle`."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def adopt_suggestion(
    thread_id: ThreadId, body: ThreadNoteBody, caller: HandleCases, surveys: SurveysDep
) -> ThreadOut:
    await _ensure_may_act(surveys, caller, thread_id)
    return await surveys.adopt(caller.tenant_id, thread_id, actor(caller), body.note)


@router.post(
    "/threads/{thread_id}/close",
    summary="Close a thread",
    description=(
        "Closed, with an optional last word (`note`); a closed thread takes no more messages, and "
        "closing it again returns it as it is. A member session closes its own threads "
        "(`feedback:write`); the shop with `cases:handle`."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def close_thread(
    thread_id: ThreadId, body: ThreadNoteBody, caller: WriteInThread, surveys: SurveysDep
) -> ThreadOut:
    await _ensure_may_act(surveys, caller, thread_id)
    author, by = _author(caller)
    return await surveys.close_thread(caller.tenant_id, thread_id, author, by, body.note)
