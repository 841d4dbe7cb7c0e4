"""Satisfaction surveys: feedback schedules one after each purchase and, on its day, announces it
(survey_due) with the token of its link, which messaging sends the member. The mini-program
reads the survey by that token and answers it — a member session for its own survey only:
another member's token is a 404, as an unknown one is; a key with `feedback:write` for any
member (a credential restricted to a store: that store's surveys). Staff list them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from gateway.clients.surveys import SurveysClient
from gateway.deps import ReadFeedback, SurveysDep, WriteFeedback
from gateway.errors import Problem
from gateway.identity import Caller
from gateway.routers.cases import Limit, MemberFilter, StoreFilter, at_callers_store, filters
from gateway.schemas.problems import responses
from gateway.schemas.surveys import TOKEN_MAX, AnswerSurveyBody, SurveyList, SurveyOut, SurveyStateName

router = APIRouter(prefix="/v1", tags=["surveys"])
Token = Annotated[str, Path(min_length=1, max_length=TOKEN_MAX, description="The token of the survey's link")]


async def _own(surveys: SurveysClient, caller: Caller, token: str) -> SurveyOut:
    """The survey of this token if the caller may act on it: a member session its own member's
    (feedback finds no other), a store's credential its store's."""
    survey = await surveys.get_survey(caller.tenant_id, token, caller.member_id or "")
    if not at_callers_store(caller, survey.store_id):
        raise Problem(404, "not-found", "Not found", "survey not found")
    return survey


@router.get(
    "/surveys/{token}",
    summary="Read a survey by its link",
    description=(
        "The satisfaction survey the link's token names: the purchase it asks about (store, receipt, "
        "when), whether it is still to come, due or answered, until when it takes an answer, and the "
        "answer once given. A member session reads its own member's surveys only (another's is a 404); "
        "a key with `feedback:write` any of its tenant's (a store's credential: its store's). "
        "Scope `feedback:write`."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def get_survey(token: Token, caller: WriteFeedback, surveys: SurveysDep) -> SurveyOut:
    return await _own(surveys, caller, token)


@router.post(
    "/surveys/{token}/answer",
    summary="Answer a survey",
    description=(
        "The member's answer: `csat` 1 to 5, `nps` 0 to 10 (optional), free `text`, whether they would "
        "like a call back, and what went wrong (`category`, optional). Once per survey: the same answer "
        "again returns the survey as answered; a different one is a 409, and so is an answer after the "
        "survey closed. It may earn points (the feedback policy's `survey_points`, credited once); a "
        "low score (by the policy) or a call back opens a complaint case (`case_id`), exactly one. A "
        "member session answers its own member's surveys only (another's is a 404). "
        "Scope `feedback:write`."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def answer_survey(
    token: Token, body: AnswerSurveyBody, caller: WriteFeedback, surveys: SurveysDep
) -> SurveyOut:
    member_id = caller.member_id or ""
    if caller.store_id:
        await _own(surveys, caller, token)
    return await surveys.answer_survey(caller.tenant_id, token, member_id, body)


@router.get(
    "/surveys",
    summary="List surveys",
    description=(
        "Newest purchase first, optionally of one member, one store or in one state (scheduled, due, "
        "answered), each with its answer, the case it opened and the points it earned. A member session "
        "lists its own member's; a store's credential its store's. Scope `feedback:read`."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def list_surveys(
    caller: ReadFeedback,
    surveys: SurveysDep,
    member_id: MemberFilter = "",
    store_id: StoreFilter = "",
    state: Annotated[SurveyStateName | None, Query(description="Only surveys in this state")] = None,
    limit: Limit = 50,
) -> SurveyList:
    store, member = filters(caller, store_id, member_id)
    found = await surveys.list_surveys(
        caller.tenant_id, member_id=member, store_id=store, state=state, limit=limit
    )
    return SurveyList(items=found)
