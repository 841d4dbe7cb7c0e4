"""A satisfaction survey after a purchase, and the member's answer to it. No I/O.

One survey per purchase (its id is keys.survey_key of the purchase), scheduled when
purchase_made arrives and due the tenant's `survey_delay_days` after the purchase (0: the
tenant sends none); a purchase seen so late that its survey would already have closed gets
none. It carries an unguessable token (the service draws it) for the link messaging delivers.

    scheduled --the clock, on its day (survey_due, once)--> due --answer--> answered
    scheduled --answer (a member who has the link early)--> answered

An answer is taken until `closes_at` (ANSWER_DAYS after the survey fell due), once: the same
answer again is the survey as answered (a retry whose reply was lost), a different one is
refused. The answer decides, when it is given, whether it opens a case (a CSAT or NPS at or
below the policy's maxima, or a call back wanted; the case's id derives from the survey's, so
it is opened once) and the points it earns (the policy's `survey_points` then).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from chassis import fields
from chassis.errors import FailedPrecondition
from services.feedback.domain.cases import Category
from services.feedback.domain.keys import case_key
from services.feedback.domain.policy import FeedbackPolicy
from services.feedback.domain.reviews import REF_MAX, TEXT_MAX

ANSWER_DAYS = 30  # how long after it falls due a survey takes an answer


class SurveyState(StrEnum):
    SCHEDULED = "scheduled"
    DUE = "due"
    ANSWERED = "answered"


@dataclass(frozen=True)
class Purchase:
    """What a survey asks about, as purchase_made tells it."""

    tenant_id: str
    purchase_id: str
    member_id: str
    store_id: str
    receipt_no: str
    staff_id: str  # the assistant credited (else who served)
    occurred_at: datetime


@dataclass(frozen=True)
class Answer:
    csat: int  # 1-5
    nps: int | None  # 0-10; None: not answered
    text: str
    wants_call_back: bool
    category: Category | None  # what went wrong, when the member says
    at: datetime

    def same_as(self, other: Answer) -> bool:
        """The same answer, whenever it was given."""
        return replace(self, at=other.at) == other


@dataclass(frozen=True)
class Survey:
    id: str
    tenant_id: str
    member_id: str
    store_id: str
    purchase_id: str
    receipt_no: str
    staff_id: str
    purchased_at: datetime
    token: str
    state: SurveyState
    scheduled_at: datetime
    due_at: datetime
    closes_at: datetime
    fell_due_at: datetime | None = None  # when the clock recorded it due (survey_due)
    answer: Answer | None = None
    case_id: str = ""  # the case its answer opens ("" when it opens none)
    points: int = 0  # what its answer earns
    erased_at: datetime | None = None  # the member was erased: no answer, no link (domain.erasure)
    version: int = 1  # the store's guard: each change saves only on top of the version read


def survey_case_id(survey: Survey) -> str:
    return case_key(survey.tenant_id, "survey", survey.id)


def schedule(
    purchase: Purchase, survey_id: str, token: str, policy: FeedbackPolicy, now: datetime
) -> Survey | None:
    """The survey of a purchase under the tenant's policy; None when the tenant sends none, the
    purchase has no member, or its survey would already be closed."""
    if policy.survey_delay_days <= 0 or not purchase.member_id.strip():
        return None
    due = purchase.occurred_at + timedelta(days=policy.survey_delay_days)
    closes = due + timedelta(days=ANSWER_DAYS)
    if closes <= now:
        return None
    return Survey(
        id=survey_id,
        tenant_id=purchase.tenant_id,
        member_id=purchase.member_id.strip(),
        store_id=purchase.store_id,
        purchase_id=purchase.purchase_id,
        receipt_no=purchase.receipt_no,
        staff_id=purchase.staff_id,
        purchased_at=purchase.occurred_at,
        token=token,
        state=SurveyState.SCHEDULED,
        scheduled_at=now,
        due_at=due,
        closes_at=closes,
    )


def fall_due(survey: Survey, at: datetime) -> Survey:
    """The survey recorded due when its day has come (the same survey otherwise, or when it is
    already due or answered)."""
    if survey.state is not SurveyState.SCHEDULED or survey.due_at > at or survey.erased_at:
        return survey
    return replace(survey, state=SurveyState.DUE, fell_due_at=at)


def parse_answer(
    *,
    csat: int,
    nps: int | None,
    text: str,
    wants_call_back: bool,
    category: str,
    at: datetime,
) -> Answer:
    """An answer as the member gives it, each field checked and named."""
    score = fields.integer("csat", csat, 1, 5)
    recommend = None if nps is None else fields.integer("nps", nps, 0, 10)
    what = fields.text("category", category, REF_MAX)
    return Answer(
        csat=score,
        nps=recommend,
        text=fields.text("text", text, TEXT_MAX, multiline=True),
        wants_call_back=bool(wants_call_back),
        category=fields.choice("category", what, Category) if what else None,
        at=at,
    )


def opens_case(answer: Answer, policy: FeedbackPolicy) -> bool:
    """A call back wanted, or a CSAT or NPS at or below the policy's maxima."""
    low_nps = answer.nps is not None and answer.nps <= policy.survey_case_nps_max
    return answer.wants_call_back or answer.csat <= policy.survey_case_csat_max or low_nps


def give_answer(survey: Survey, answer: Answer, policy: FeedbackPolicy) -> Survey:
    """The survey answered, with the case its answer opens and the points it earns; the same
    survey when it was already given this answer. FailedPrecondition when it was answered
    otherwise, or is closed."""
    if survey.state is SurveyState.ANSWERED:
        if survey.answer is not None and survey.answer.same_as(answer):
            return survey
        given = survey.answer.at.isoformat() if survey.answer else "before"
        raise FailedPrecondition(f"the survey was answered at {given}; an answer cannot be changed")
    if survey.erased_at is not None:
        raise FailedPrecondition("the survey's member was erased; it takes no answer")
    if answer.at >= survey.closes_at:
        raise FailedPrecondition(
            f"the survey closed at {survey.closes_at.isoformat()}; it takes no answer any more"
        )
    return replace(
        survey,
        state=SurveyState.ANSWERED,
        answer=answer,
        case_id=survey_case_id(survey) if opens_case(answer, policy) else "",
        points=policy.survey_points,
    )
