"""Satisfaction surveys: scheduled from purchase_made, found due by the clock, answered by the
member.

Scheduling is idempotent on the purchase: the survey's id derives from it (keys.survey_key) and
the repository's insert-once decides, so purchase_made delivered twice (or to two replicas at
once) schedules one survey, and the token the loser drew goes with it. Scheduling announces
nothing; the clock (`fall_due`, run by CaseClock) records each survey due in one write guarded
by its version, with its survey_due, so that is emitted once however many replicas run it.

An answer is one guarded write of the survey with its survey_answered, and decides then whether
it opens a case (the case's id derives from the survey's) and what points it earns. Then
`follow_up` opens that case (CaseOpening.open_for_survey: insert-once) and awards the points
through members (AdjustPoints keyed by the survey: once). The answer calls it, and so does the
consumer of our own survey_answered, so a crash right after the answer's write is finished by
the event; a retry of the same answer finishes it too. A different second answer is refused.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from chassis import fields
from chassis.errors import InvalidArgument, NotFound, Unavailable
from services.feedback.domain import surveys as model
from services.feedback.domain.events import SurveyAnswered, SurveyDue
from services.feedback.domain.keys import survey_key
from services.feedback.domain.reviews import REF_MAX
from services.feedback.domain.surveys import Purchase, Survey, SurveyState
from services.feedback.service.cases import SAVE_ATTEMPTS, Clock, list_limit, to_millisecond, utc_now
from services.feedback.service.erasure import Erasure
from services.feedback.service.opening import CaseOpening
from services.feedback.service.ports import MembersPort, PolicyRepository, SurveyRepository

TOKEN_MAX = 64


def new_token() -> str:
    """An unguessable token for a survey's link: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class DueSummary:
    due: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # survey id -> why, tried again next run


class Surveys:
    def __init__(
        self,
        surveys: SurveyRepository,
        opening: CaseOpening,
        members: MembersPort,
        policies: PolicyRepository,
        clock: Clock = utc_now,
        token: Callable[[], str] = new_token,
        erasure: Erasure | None = None,
    ) -> None:
        self._surveys = surveys
        self._opening = opening
        self._members = members
        self._policies = policies
        self._clock = clock
        self._token = token
        self._erasure = erasure

    async def schedule(self, purchase: Purchase) -> Survey | None:
        """The purchase's survey (scheduled now, or found); None when the tenant sends none or the
        member was erased (a late purchase_made)."""
        survey_id = survey_key(purchase.tenant_id, purchase.purchase_id)
        found = await self._surveys.get(purchase.tenant_id, survey_id)
        if found is not None:
            return found
        erasure = self._erasure
        if erasure is not None and await erasure.erased_at(purchase.tenant_id, purchase.member_id.strip()):
            return None
        policy = await self._policies.current(purchase.tenant_id)
        bought = replace(purchase, occurred_at=to_millisecond(purchase.occurred_at))  # as the store keeps it
        survey = model.schedule(bought, survey_id, self._token(), policy, self._clock())
        if survey is None:
            return None
        stored, created = await self._surveys.insert(survey)
        if erasure is not None and created:
            await erasure.settle(stored.tenant_id, stored.member_id)  # erased meanwhile: scrubbed
        return stored

    async def get(self, tenant_id: str, token: str = "", survey_id: str = "", member_id: str = "") -> Survey:
        """A survey by its link's token (or its id); with `member_id`, only that member's: another
        member's is not found, as if there were none."""
        key = fields.text("token", token, TOKEN_MAX)
        sid = fields.text("survey_id", survey_id, REF_MAX)
        if not key and not sid:
            raise InvalidArgument("token", "token is required: the survey's link names it")
        found = await (self._surveys.by_token(tenant_id, key) if key else self._surveys.get(tenant_id, sid))
        if found is None or (member_id.strip() and found.member_id != member_id.strip()):
            raise NotFound("survey not found")
        return found

    async def list_surveys(
        self, tenant_id: str, member_id: str, store_id: str, state: str, limit: int
    ) -> list[Survey]:
        wanted = fields.choice("state", state, SurveyState) if state else None
        return await self._surveys.find(
            tenant_id, member_id.strip(), store_id.strip(), wanted, list_limit(limit)
        )

    async def answer(
        self,
        *,
        tenant_id: str,
        token: str,
        member_id: str,
        csat: int,
        nps: int | None,
        text: str,
        wants_call_back: bool,
        category: str,
    ) -> Survey:
        """The survey answered (or as first answered, when this is the same answer again), its
        case opened and its points awarded."""
        if not token.strip():
            raise InvalidArgument("token", "token is required: the survey's link names it")
        given = model.parse_answer(
            csat=csat,
            nps=nps,
            text=text,
            wants_call_back=wants_call_back,
            category=category,
            at=self._clock(),
        )
        policy = await self._policies.current(tenant_id)
        for _ in range(SAVE_ATTEMPTS):
            before = await self.get(tenant_id, token=token, member_id=member_id)
            after = model.give_answer(before, given, policy)
            if after is before:
                break
            after = replace(after, version=before.version + 1)
            if await self._surveys.save(after, before.version, [SurveyAnswered(after)]):
                break
        else:
            raise Unavailable("the survey is changing too fast; try again")
        await self.follow_up(after)  # again on a retry: finishes an answer a crash cut off
        return after

    async def follow_up(self, survey: Survey) -> None:
        """What an answer entails, each once however often asked: its case, its points."""
        if survey.state is not SurveyState.ANSWERED:
            return
        if survey.case_id:
            await self._opening.open_for_survey(survey)
            if self._erasure is not None:
                await self._erasure.settle(survey.tenant_id, survey.member_id)  # a case opened late
        if survey.points > 0:
            await self._members.award_survey_points(
                survey.tenant_id, survey.member_id, survey.points, survey.id
            )

    async def fall_due(self, now: datetime, limit: int) -> DueSummary:
        """Record each survey whose day came as due, with its survey_due (once per survey)."""
        count, failed = 0, dict[str, str]()
        for survey in await self._surveys.due(now, limit):
            try:
                if await self._fall_due(survey, now):
                    count += 1
            except Exception as exc:  # the store or contention: next run
                failed[survey.id] = str(exc) or type(exc).__name__
        return DueSummary(count, failed)

    async def _fall_due(self, first: Survey, now: datetime) -> bool:
        before: Survey | None = first
        for _ in range(SAVE_ATTEMPTS):
            if before is None:
                before = await self._surveys.get(first.tenant_id, first.id)
                if before is None:
                    return False
            after = model.fall_due(before, now)
            if after is before:
                return False
            after = replace(after, version=before.version + 1)
            if await self._surveys.save(after, before.version, [SurveyDue(after)]):
                return True
            before = None
        raise Unavailable("the survey is changing too fast; try again")
