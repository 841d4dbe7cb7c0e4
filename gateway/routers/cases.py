"""Complaint cases: opened by a customer or an assistant (a bad review opens its own), handled by
staff through the five steps (acknowledge, start, resolve with a remedy, follow up, close) or
rejected; a manager's decision on a risky case, the member's evidence pack and the tenant's
feedback policy.

Who may act on what: a member session opens and reads only its own member's cases, and never
sees the reviewer risk; a credential restricted to a store (a store's key, a staff session)
opens cases there and reads and handles only the cases of its store (where it happened, or the
store it was assigned to): another store's case is a 404, as another tenant's is. Who acts is
the calling key, staff or member, never the body.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from gateway.clients.feedback import FeedbackClient
from gateway.deps import (
    FeedbackDep,
    HandleCases,
    ManageCases,
    MembersDep,
    ReadFeedback,
    WriteFeedback,
    ensure_may_see_member,
    in_callers_store,
)
from gateway.errors import Problem
from gateway.identity import Caller
from gateway.schemas.feedback import (
    REF_MAX,
    CaseList,
    CaseNoteBody,
    CaseOut,
    CaseStateName,
    CloseCaseBody,
    EvidenceOut,
    FeedbackPolicyBody,
    FeedbackPolicyOut,
    OpenCaseBody,
    ResolveCaseBody,
    RiskDecisionBody,
    StartCaseBody,
)
from gateway.schemas.problems import responses

router = APIRouter(prefix="/v1", tags=["cases"])


CaseId = Annotated[str, Path(min_length=1, max_length=64, description="The case's id")]
MemberId = Annotated[str, Path(min_length=1, max_length=64, description="Member id")]
StoreFilter = Annotated[
    str, Query(max_length=REF_MAX, description="Only this store's; a store's credential: its own")
]
MemberFilter = Annotated[
    str, Query(max_length=64, description="Only this member's; a member session: its own")
]
Limit = Annotated[int, Query(ge=1, le=200, description="How many, newest first")]
OpenCaseAtStore = Annotated[OpenCaseBody, in_callers_store(OpenCaseBody)]


def actor(caller: Caller) -> str:
    """Who acts, as the timeline records it: `staff:<id>`, `api_key:<id>` or `member:<id>`."""
    return f"{caller.kind}:{caller.subject}"


async def member_for(members: MembersDep, caller: Caller, member_id: str) -> str:
    """The member a write acts for: a member session's own (another is a 404, as for every
    route), else the member named, who must be a member of the caller's tenant."""
    if caller.kind == "member":
        own = caller.member_id or ""
        if member_id and member_id != own:
            raise Problem(404, "not-found", "Not found", f"member {member_id} not found")
        return own
    if not member_id:
        raise Problem(400, "invalid-argument", "Invalid argument", "member_id is required", field="member_id")
    await ensure_may_see_member(members, caller, member_id, must_exist=True)
    return member_id


def at_callers_store(caller: Caller, *store_ids: str | None) -> bool:
    """A caller restricted to a store acts only on what is of that store."""
    return not caller.store_id or caller.store_id in store_ids


def filters(caller: Caller, store_id: str, member_id: str) -> tuple[str, str]:
    """A list's store and member filters as the caller may list: a member session its own
    member's, a store's credential its store's (asking for another store is a 403)."""
    if caller.kind == "member":
        if member_id and member_id != caller.member_id:
            raise Problem(404, "not-found", "Not found", f"member {member_id} not found")
        member_id = caller.member_id or ""
    if caller.store_id:
        if store_id and store_id != caller.store_id:
            raise Problem(
                403,
                "forbidden",
                "Forbidden",
                f"this credential is restricted to store {caller.store_id}",
                field="store_id",
            )
        store_id = caller.store_id
    return store_id, member_id


def may_see_case(caller: Caller, case: CaseOut) -> bool:
    if caller.kind == "member" and case.member_id != caller.member_id:
        return False
    return at_callers_store(caller, case.store_id, case.assigned_store_id)


def shown(caller: Caller, case: CaseOut) -> CaseOut:
    """The case as the caller sees it: a member never sees the reviewer risk."""
    return case.model_copy(update={"risk": None}) if caller.kind == "member" else case


def _hidden(case_id: str) -> Problem:
    return Problem(404, "not-found", "Not found", f"case {case_id} not found")


async def ensure_may_handle(feedback: FeedbackClient, caller: Caller, case_id: str) -> None:
    """404 unless the caller may act on the case: a store's credential on its store's cases only
    (read first; any other caller acts on any case of its tenant, the service says if none)."""
    restricted = bool(caller.store_id) or caller.kind == "member"
    if restricted and not may_see_case(caller, await feedback.get_case(caller.tenant_id, case_id)):
        raise _hidden(case_id)


# --- Opening and reading -----------------------------------------------------------------------


@router.post(
    "/cases",
    status_code=201,
    summary="Open a complaint case",
    description=(
        "A customer (a member session, for itself) or an assistant (a staff app's key) opens a case "
        "directly; a bad review opens its own. `category` is one of the articles' product or service "
        "complaints, `severity` sets the SLAs (first response and resolution, in the store's business "
        "hours). The reviewer's risk is scored on opening. Idempotent on `request_id`: a retry returns "
        "the same case. A credential restricted to a store opens cases there. Scope `feedback:write`."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def open_case(
    caller: WriteFeedback, body: OpenCaseAtStore, members: MembersDep, feedback: FeedbackDep
) -> CaseOut:
    member_id = await member_for(members, caller, body.member_id)
    kind = "customer" if caller.kind == "member" else "assistant"
    case = await feedback.open_case(caller.tenant_id, member_id, body, kind, actor(caller))
    if case.member_id != member_id or case.store_id != body.store_id.strip():
        # The service keys a case by (tenant, request_id) alone: never hand out another's case.
        raise Problem(
            409,
            "conflict",
            "Already exists",
            f"request_id {body.request_id} already opened another case; use a new one",
            field="request_id",
        )
    return shown(caller, case)


@router.get(
    "/cases/{case_id}",
    summary="Read a case",
    description=(
        "The case with its state, SLA due times and breaches, remedy, reviewer risk and its whole "
        "timeline: every action with who and when. A member session reads its own member's cases "
        "(without the risk); a store's credential its store's. Scope `feedback:read`."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def get_case(case_id: CaseId, caller: ReadFeedback, feedback: FeedbackDep) -> CaseOut:
    case = await feedback.get_case(caller.tenant_id, case_id)
    if not may_see_case(caller, case):
        raise _hidden(case_id)
    return shown(caller, case)


@router.get(
    "/cases",
    summary="List cases",
    description=(
        "Newest first, optionally in one state, of one store or of one member. A member session "
        "lists its own member's; a store's credential its store's. Scope `feedback:read`."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def list_cases(
    caller: ReadFeedback,
    feedback: FeedbackDep,
    state: Annotated[CaseStateName | None, Query(description="Only cases in this state")] = None,
    store_id: StoreFilter = "",
    member_id: MemberFilter = "",
    limit: Limit = 50,
) -> CaseList:
    store, member = filters(caller, store_id, member_id)
    found = await feedback.list_cases(
        caller.tenant_id, state=state, store_id=store, member_id=member, limit=limit
    )
    return CaseList(items=[shown(caller, c) for c in found])


# --- Handling: the five steps, or a rejection --------------------------------------------------


@router.post(
    "/cases/{case_id}/acknowledge",
    summary="Acknowledge a case",
    description=(
        "open → acknowledged: the apology and first response (`note`), recorded on the timeline with "
        "who and when; this meets the first-response SLA. Another state is a 409 naming it. "
        "Scope `cases:handle`."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def acknowledge_case(
    case_id: CaseId, body: CaseNoteBody, caller: HandleCases, feedback: FeedbackDep
) -> CaseOut:
    await ensure_may_handle(feedback, caller, case_id)
    return await feedback.acknowledge(caller.tenant_id, case_id, actor(caller), body.note)


@router.post(
    "/cases/{case_id}/start",
    summary="Start work on a case",
    description=(
        "acknowledged → in progress, optionally assigning it to a store or an assistant. Another "
        "state is a 409 naming it. Scope `cases:handle`."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def start_case(
    case_id: CaseId, body: StartCaseBody, caller: HandleCases, feedback: FeedbackDep
) -> CaseOut:
    await ensure_may_handle(feedback, caller, case_id)
    return await feedback.start(caller.tenant_id, case_id, actor(caller), body)


@router.post(
    "/cases/{case_id}/resolve",
    summary="Resolve a case with a remedy",
    description=(
        "in progress → resolved, with the remedy: a compensation `coupon` (the policy's preset for "
        "the review's class, or `template_id` and `value`), `points`, an `exchange`, `repair` or "
        "`refund` note, or `apology_only`. A coupon is issued once per case however often this is "
        "retried, within the store's monthly compensation budget (spent: 409). A case whose reviewer "
        "risk needs a manager is a 409 until one decides. No remedy is ever conditioned on the review "
        "being changed. The case comes up for follow-up on the policy's day. Scope `cases:handle`."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def resolve_case(
    case_id: CaseId, body: ResolveCaseBody, caller: HandleCases, feedback: FeedbackDep
) -> CaseOut:
    await ensure_may_handle(feedback, caller, case_id)
    return await feedback.resolve(caller.tenant_id, case_id, actor(caller), body.remedy)


@router.post(
    "/cases/{case_id}/close",
    summary="Close a case after its follow-up",
    description=(
        "follow-up → closed, with the customer's `satisfaction` (1 to 5) from the follow-up call or "
        "message. Another state is a 409 naming it. Scope `cases:handle`."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def close_case(
    case_id: CaseId, body: CloseCaseBody, caller: HandleCases, feedback: FeedbackDep
) -> CaseOut:
    await ensure_may_handle(feedback, caller, case_id)
    return await feedback.close(caller.tenant_id, case_id, actor(caller), body)


@router.post(
    "/cases/{case_id}/reject",
    summary="Reject a case",
    description=(
        "open, acknowledged or in progress → rejected, with the reason (`note`). A resolved or closed "
        "case is a 409 naming its state. Scope `cases:handle`."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def reject_case(
    case_id: CaseId, body: CaseNoteBody, caller: HandleCases, feedback: FeedbackDep
) -> CaseOut:
    await ensure_may_handle(feedback, caller, case_id)
    return await feedback.reject(caller.tenant_id, case_id, actor(caller), body.note)


# --- Managers: risky cases, evidence, the policy -----------------------------------------------


@router.post(
    "/cases/{case_id}/risk-decision",
    summary="Decide on a risky case",
    description=(
        "A manager's decision on a case whose reviewer risk is at or above the policy's threshold: "
        "`approve` lets it be compensated; `confirm_extortion` rejects it and, with `blacklist`, "
        "blacklists the member. Scope `cases:manage`."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def decide_risk(
    case_id: CaseId, body: RiskDecisionBody, caller: ManageCases, feedback: FeedbackDep
) -> CaseOut:
    await ensure_may_handle(feedback, caller, case_id)
    return await feedback.decide_risk(caller.tenant_id, case_id, actor(caller), body)


@router.get(
    "/members/{member_id}/evidence",
    summary="Export a member's evidence pack",
    description=(
        "For a dispute: the member's reviews, cases (each with its whole timeline), questions and "
        "suggestions, satisfaction surveys, and the messages the platform sent them, and when this "
        "was exported. `messages_status` says whether the messages are all there: `unavailable` "
        "when the messaging service did not answer (no messages are in the pack; export again), "
        "`truncated` past 5,000. A store's credential gets its store's part. Scope `cases:manage`."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def export_evidence(
    member_id: MemberId, caller: ManageCases, members: MembersDep, feedback: FeedbackDep
) -> EvidenceOut:
    await ensure_may_see_member(members, caller, member_id, must_exist=True)
    pack = await feedback.export_evidence(caller.tenant_id, member_id)
    if caller.store_id:
        store = caller.store_id
        pack.reviews = [r for r in pack.reviews if r.store_id == store]
        pack.cases = [c for c in pack.cases if may_see_case(caller, c)]
        pack.threads = [t for t in pack.threads if store in (t.store_id, t.assigned_store_id)]
        pack.surveys = [s for s in pack.surveys if s.store_id == store]
        pack.messages = [m for m in pack.messages if m.store_id == store]
    return pack


@router.get(
    "/feedback-policy",
    summary="Read the feedback policy",
    description=(
        "The tenant's SLAs by severity (business hours), the chain's opening hours and stores that "
        "keep others, its time zone, the compensation presets per class of review, the monthly "
        "compensation budget per store, whether a medium review opens a case, the follow-up day and "
        "the risk threshold. A tenant that never set one runs the defaults, as version 0. "
        "Scope `cases:manage`."
    ),
    responses=responses(401, 403, 429, 503),
)
async def get_policy(caller: ManageCases, feedback: FeedbackDep) -> FeedbackPolicyOut:
    return await feedback.get_policy(caller.tenant_id)


@router.put(
    "/feedback-policy",
    summary="Set the feedback policy",
    description=(
        "The whole policy, replacing the current one, with `version` the version read (0 for the "
        "defaults): a policy changed since is a 409, read it again. A mistake is a 400 whose `field` "
        "is its path, e.g. `slas[1].resolution_hours`. Cases opened from now on get its SLAs. The "
        "policy is the chain's: a credential restricted to a store cannot set it. Scope `cases:manage`."
    ),
    responses=responses(400, 401, 403, 409, 422, 429, 503),
)
async def put_policy(
    body: FeedbackPolicyBody, caller: ManageCases, feedback: FeedbackDep
) -> FeedbackPolicyOut:
    if caller.store_id:
        raise Problem(
            403,
            "forbidden",
            "Forbidden",
            f"this credential is restricted to store {caller.store_id}; the feedback policy is the chain's",
        )
    return await feedback.update_policy(caller.tenant_id, body)
