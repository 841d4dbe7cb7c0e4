"""How a case opens: which reviews open one, its id, and the new case from a review, from a
survey's answer, or from a customer's or an assistant's request. No I/O.

A case is opened by a bad review (or a medium one when the tenant's policy says so), by a low
survey answer (domain.surveys.opens_case), or directly by a customer or an assistant. Its id
comes from what opened it (keys.case_key), so opening it twice makes one case. Its SLA due
times are fixed when it opens, from the policy of that moment and the store's business hours
(sla.due).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chassis import fields
from chassis.errors import InvalidArgument
from services.feedback.domain import sla
from services.feedback.domain.cases import Action, Case, CaseState, Category, Source, TimelineEntry
from services.feedback.domain.keys import case_key, derived_id
from services.feedback.domain.policy import FeedbackPolicy
from services.feedback.domain.reviews import REF_MAX, TEXT_MAX, RatingClass, Review, parse_city, rating_class
from services.feedback.domain.risk import RiskAssessment
from services.feedback.domain.sla import Severity
from services.feedback.domain.surveys import Answer, Survey, survey_case_id


def opens_case(review: Review, policy: FeedbackPolicy) -> bool:
    """A bad review opens a case; a medium one when the policy says so; a good one never."""
    kind = review.rating_class
    return kind is RatingClass.BAD or (kind is RatingClass.MEDIUM and policy.open_case_for_medium)


def review_case_id(review: Review) -> str:
    return case_key(review.tenant_id, Source.REVIEW.value, review.id)


def request_case_id(tenant_id: str, member_id: str, request_id: str) -> str:
    """A case opened directly, keyed by the member and the client's request id: a retry finds
    it, another member reusing the request id opens their own."""
    return derived_id(tenant_id, "case", "request", member_id, request_id)


def review_severity(rating: int) -> Severity:
    """One star is serious; two, medium; a medium review's three, low."""
    return Severity.HIGH if rating <= 1 else (Severity.MEDIUM if rating == 2 else Severity.LOW)


def _new(
    *,
    case_id: str,
    tenant_id: str,
    member_id: str,
    store_id: str,
    category: Category,
    severity: Severity,
    description: str,
    source: Source,
    opened_by: str,
    at: datetime,
    policy: FeedbackPolicy,
    risk: RiskAssessment,
    review: Review | None = None,
    receipt_no: str = "",
    note: str = "",
    survey: Survey | None = None,
    rated: RatingClass | None = None,
    delivery_city: str = "",
) -> Case:
    hours = policy.sla(severity)
    schedule, zone = policy.schedule(store_id), policy.zone()
    return Case(
        id=case_id,
        tenant_id=tenant_id,
        member_id=member_id,
        store_id=store_id,
        category=category,
        severity=severity,
        description=description,
        state=CaseState.OPEN,
        source=source,
        opened_by=opened_by,
        opened_at=at,
        first_response_due=sla.due(at, hours.first_response_hours, schedule, zone),
        resolution_due=sla.due(at, hours.resolution_hours, schedule, zone),
        review_id=review.id if review else "",
        receipt_no=receipt_no,
        rating_class=review.rating_class if review else rated,
        timeline=(TimelineEntry(Action.OPENED, opened_by, at, note),),
        risk=risk,
        survey_id=survey.id if survey else "",
        delivery_city=delivery_city,
    )


def case_for_review(review: Review, policy: FeedbackPolicy, risk: RiskAssessment, at: datetime) -> Case:
    """The case a review opens: about its product when it names one, else the store's service
    (staff can say more in the timeline); as serious as its rating; described by its text."""
    stars = "1 star" if review.rating == 1 else f"{review.rating} stars"
    return _new(
        case_id=review.case_id or review_case_id(review),
        tenant_id=review.tenant_id,
        member_id=review.member_id,
        store_id=review.store_id,
        category=Category.PRODUCT_QUALITY if review.sku else Category.SERVICE_OTHER,
        severity=review_severity(review.rating),
        description=review.text or f"a {review.rating_class.value} review ({stars}) without text",
        source=Source.REVIEW,
        opened_by=review.member_id,
        at=at,
        policy=policy,
        risk=risk,
        review=review,
        receipt_no=review.receipt_no,
        note=f"from a {stars} review",
        delivery_city=review.delivery_city,
    )


def survey_severity(answer: Answer) -> Severity:
    """A CSAT of 1 is serious; 2, medium; a low NPS or a call back alone, low."""
    return Severity.HIGH if answer.csat <= 1 else (Severity.MEDIUM if answer.csat == 2 else Severity.LOW)


def _scores(answer: Answer) -> str:
    said = [f"CSAT {answer.csat}/5"]
    if answer.nps is not None:
        said.append(f"NPS {answer.nps}/10")
    if answer.wants_call_back:
        said.append("asks for a call back")
    return ", ".join(said)


def case_for_survey(survey: Survey, policy: FeedbackPolicy, risk: RiskAssessment, at: datetime) -> Case:
    """The case a survey's answer opens: about what the answer says went wrong (else the
    store's service), as serious as its CSAT, described by its text; its rating class is the
    CSAT's (a good one counts as medium: the customer still asked), for the compensation preset."""
    answer = survey.answer
    if answer is None:
        raise ValueError("an unanswered survey opens no case")
    rated = rating_class(answer.csat)
    return _new(
        case_id=survey.case_id or survey_case_id(survey),
        tenant_id=survey.tenant_id,
        member_id=survey.member_id,
        store_id=survey.store_id,
        category=answer.category or Category.SERVICE_OTHER,
        severity=survey_severity(answer),
        description=answer.text or f"a survey answer ({_scores(answer)}) without text",
        source=Source.SURVEY,
        opened_by=survey.member_id,
        at=at,
        policy=policy,
        risk=risk,
        receipt_no=survey.receipt_no,
        note=f"from a survey answer: {_scores(answer)}",
        survey=survey,
        rated=RatingClass.MEDIUM if rated is RatingClass.GOOD else rated,
    )


@dataclass(frozen=True)
class CaseRequest:
    """A case asked for directly, its fields checked (parse_case_request)."""

    tenant_id: str
    member_id: str
    store_id: str
    category: Category
    severity: Severity
    description: str
    source: Source
    opened_by: str
    receipt_no: str
    delivery_city: str = ""


def parse_case_request(
    *,
    tenant_id: str,
    member_id: str,
    store_id: str,
    category: str,
    severity: str,
    description: str,
    opened_by_kind: str,
    opened_by: str,
    receipt_no: str,
    delivery_city: str = "",
) -> CaseRequest:
    member = fields.text("member_id", member_id, REF_MAX)
    if not member:
        raise InvalidArgument("member_id", "member_id is required: whose complaint is it")
    store = fields.text("store_id", store_id, REF_MAX)
    if not store:
        raise InvalidArgument("store_id", "store_id is required: its hours and budget apply")
    kind = fields.choice("opened_by_kind", opened_by_kind or "customer", Source)
    if kind in (Source.REVIEW, Source.SURVEY):
        raise InvalidArgument("opened_by_kind", "opened_by_kind must be customer or assistant")
    who = fields.text("opened_by", opened_by, REF_MAX)
    if kind is Source.CUSTOMER:
        who = who or member
    elif not who:
        raise InvalidArgument("opened_by", "opened_by is required: which assistant opens it")
    text = fields.text("description", description, TEXT_MAX, multiline=True)
    if not text:
        raise InvalidArgument("description", "description is required: what happened")
    return CaseRequest(
        tenant_id=tenant_id,
        member_id=member,
        store_id=store,
        category=fields.choice("category", category, Category),
        severity=fields.choice("severity", severity or "medium", Severity),
        description=text,
        source=kind,
        opened_by=who,
        receipt_no=fields.text("receipt_no", receipt_no, REF_MAX),
        delivery_city=parse_city(delivery_city),
    )


def case_for_request(
    request: CaseRequest, case_id: str, policy: FeedbackPolicy, risk: RiskAssessment, at: datetime
) -> Case:
    r = request
    return _new(
        case_id=case_id,
        tenant_id=r.tenant_id,
        member_id=r.member_id,
        store_id=r.store_id,
        category=r.category,
        severity=r.severity,
        description=r.description,
        source=r.source,
        opened_by=r.opened_by,
        at=at,
        policy=policy,
        risk=risk,
        receipt_no=r.receipt_no,
        delivery_city=r.delivery_city,
    )
