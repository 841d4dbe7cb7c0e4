"""Reviews, cases, surveys and threads as MongoDB documents: the only place that knows their
stored shape.

Every field of the domain types is stored (enums as their values, tuples as lists, datetimes as
datetimes: the client is tz_aware, so they read back as aware UTC instants), and reading a
document gives back an equal object. BSON keeps datetimes to the millisecond, so an instant
with finer digits reads back truncated to its millisecond.

Beside the domain's fields a document holds what the store's queries need, derived from the
domain object on every write (never read back into it):
- a review's `rating_class` (listing by class);
- a case's `next_due`: the earliest SLA due that can still be found breached (None: none can),
  so the clock's `overdue` is one range on one index;
- a case's `pending_at`: when its pending settlement was decided (None: none pending), for
  `settling`;
- a survey's `falls_due_at`: its due time while it is scheduled (None once due or answered, or
  its member erased), so
  the clock's `due` is one range on one index;
- a thread's `next_due`: its first response due while that can still be found breached (None:
  it cannot), for `overdue`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chassis.mongo import Document
from services.feedback.domain.cases import (
    ACTIVE,
    Action,
    Case,
    CaseState,
    Category,
    Remedy,
    RemedyKind,
    Settlement,
    Source,
    TimelineEntry,
)
from services.feedback.domain.reports import CaseFigures, ReviewFigures
from services.feedback.domain.reviews import Channel, RatingClass, Reply, Review, ReviewVersion
from services.feedback.domain.risk import RiskAssessment, RiskDecision
from services.feedback.domain.sla import Severity, Sla
from services.feedback.domain.surveys import Answer, Survey, SurveyState
from services.feedback.domain.threads import FIRST_RESPONSE, Author, Message, Thread, ThreadKind, ThreadState

# Fields a document holds for the store's queries only (derived, never read back).
REVIEW_QUERY_FIELDS = ("rating_class",)
CASE_QUERY_FIELDS = ("next_due", "pending_at")
SURVEY_QUERY_FIELDS = ("falls_due_at",)
THREAD_QUERY_FIELDS = ("next_due",)


# Reviews


def _version_doc(v: ReviewVersion) -> Document:
    return {"rating": v.rating, "text": v.text, "image_urls": list(v.image_urls), "at": v.at}


def _version_from(d: Document) -> ReviewVersion:
    return ReviewVersion(rating=d["rating"], text=d["text"], image_urls=tuple(d["image_urls"]), at=d["at"])


def _reply_doc(r: Reply) -> Document:
    return {
        "text": r.text,
        "quoted_text": r.quoted_text,
        "quoted_rating": r.quoted_rating,
        "by": r.by,
        "at": r.at,
    }


def _reply_from(d: Document) -> Reply:
    return Reply(
        text=d["text"], quoted_text=d["quoted_text"], quoted_rating=d["quoted_rating"], by=d["by"], at=d["at"]
    )


def review_doc(r: Review) -> Document:
    """The review's document, `_id` = its id."""
    return {
        "_id": r.id,
        "tenant_id": r.tenant_id,
        "member_id": r.member_id,
        "store_id": r.store_id,
        "receipt_no": r.receipt_no,
        "sku": r.sku,
        "rating": r.rating,
        "rating_class": r.rating_class.value,
        "text": r.text,
        "image_urls": list(r.image_urls),
        "channel": r.channel.value,
        "posted_at": r.posted_at,
        "updated_at": r.updated_at,
        "history": [_version_doc(v) for v in r.history],
        "reply": _reply_doc(r.reply) if r.reply else None,
        "earlier_replies": [_reply_doc(x) for x in r.earlier_replies],
        "case_id": r.case_id,
        "verified_purchase": r.verified_purchase,
        "delivery_city": r.delivery_city,
        "erased_at": r.erased_at,
        "version": r.version,
    }


def review_from(d: Document) -> Review:
    reply = d.get("reply")
    return Review(
        id=d["_id"],
        tenant_id=d["tenant_id"],
        member_id=d["member_id"],
        store_id=d["store_id"],
        receipt_no=d["receipt_no"],
        sku=d["sku"],
        rating=int(d["rating"]),
        text=d["text"],
        image_urls=tuple(d.get("image_urls") or ()),
        channel=Channel(d["channel"]),
        posted_at=d["posted_at"],
        updated_at=d.get("updated_at"),
        history=tuple(_version_from(v) for v in d.get("history") or ()),
        reply=_reply_from(reply) if reply else None,
        earlier_replies=tuple(_reply_from(x) for x in d.get("earlier_replies") or ()),
        case_id=d.get("case_id", ""),
        verified_purchase=bool(d.get("verified_purchase", False)),
        delivery_city=d.get("delivery_city", ""),
        erased_at=d.get("erased_at"),
        version=int(d.get("version", 1)),
    )


# Cases


def _entry_doc(e: TimelineEntry) -> Document:
    return {"action": e.action.value, "by": e.by, "at": e.at, "note": e.note}


def _entry_from(d: Document) -> TimelineEntry:
    return TimelineEntry(action=Action(d["action"]), by=d["by"], at=d["at"], note=d.get("note", ""))


def _remedy_doc(m: Remedy) -> Document:
    return {
        "kind": m.kind.value,
        "note": m.note,
        "template_id": m.template_id,
        "value": m.value,
        "coupon_code": m.coupon_code,
        "points": m.points,
    }


def _remedy_from(d: Document) -> Remedy:
    return Remedy(
        kind=RemedyKind(d["kind"]),
        note=d.get("note", ""),
        template_id=d.get("template_id", ""),
        value=int(d.get("value", 0)),
        coupon_code=d.get("coupon_code", ""),
        points=int(d.get("points", 0)),
    )


def _risk_doc(r: RiskAssessment) -> Document:
    return {
        "score": r.score,
        "reasons": list(r.reasons),
        "needs_manager": r.needs_manager,
        "decision": r.decision.value,
        "decided_by": r.decided_by,
    }


def _risk_from(d: Document | None) -> RiskAssessment:
    if not d:
        return RiskAssessment()
    return RiskAssessment(
        score=int(d.get("score", 0)),
        reasons=tuple(d.get("reasons") or ()),
        needs_manager=bool(d.get("needs_manager", False)),
        decision=RiskDecision(d.get("decision", "")),
        decided_by=d.get("decided_by", ""),
    )


def _settlement_doc(s: Settlement) -> Document:
    return {
        "remedy": _remedy_doc(s.remedy),
        "by": s.by,
        "at": s.at,
        "budget_month": s.budget_month,
        "budget_limit": s.budget_limit,
        "follow_up_days": s.follow_up_days,
    }


def _settlement_from(d: Document) -> Settlement:
    return Settlement(
        remedy=_remedy_from(d["remedy"]),
        by=d["by"],
        at=d["at"],
        budget_month=d.get("budget_month", ""),
        budget_limit=int(d.get("budget_limit", 0)),
        follow_up_days=int(d.get("follow_up_days", 7)),
    )


def next_due(c: Case) -> datetime | None:
    """The earliest SLA due of the case that the clock may still find breached: the first
    response of an open case, the resolution of an open, acknowledged or in-progress one, each
    unless already recorded as breached — and the resolution not when a settlement decided in
    time already met it (it can never be breached then). None when there is none."""
    candidates: list[datetime] = []
    if c.state is CaseState.OPEN and Sla.FIRST_RESPONSE.value not in c.sla_breaches:
        candidates.append(c.first_response_due)
    if c.state in ACTIVE and Sla.RESOLUTION.value not in c.sla_breaches:
        met = c.resolution_met_at
        if met is None or met > c.resolution_due:
            candidates.append(c.resolution_due)
    return min(candidates, default=None)


def case_doc(c: Case) -> Document:
    """The case's document, `_id` = its id, with its query fields."""
    return {
        "_id": c.id,
        "tenant_id": c.tenant_id,
        "member_id": c.member_id,
        "store_id": c.store_id,
        "category": c.category.value,
        "severity": c.severity.value,
        "description": c.description,
        "state": c.state.value,
        "source": c.source.value,
        "opened_by": c.opened_by,
        "opened_at": c.opened_at,
        "first_response_due": c.first_response_due,
        "resolution_due": c.resolution_due,
        "review_id": c.review_id,
        "receipt_no": c.receipt_no,
        "rating_class": c.rating_class.value if c.rating_class else None,
        "assigned_store_id": c.assigned_store_id,
        "assigned_staff_id": c.assigned_staff_id,
        "timeline": [_entry_doc(e) for e in c.timeline],
        "remedy": _remedy_doc(c.remedy) if c.remedy else None,
        "risk": _risk_doc(c.risk),
        "satisfaction": c.satisfaction,
        "follow_up_at": c.follow_up_at,
        "sla_breaches": list(c.sla_breaches),
        "first_responded_at": c.first_responded_at,
        "resolved_at": c.resolved_at,
        "rejected_at": c.rejected_at,
        "pending": _settlement_doc(c.pending) if c.pending else None,
        "survey_id": c.survey_id,
        "delivery_city": c.delivery_city,
        "erased_at": c.erased_at,
        "version": c.version,
        "next_due": next_due(c),
        "pending_at": c.pending.at if c.pending else None,
    }


def case_from(d: Document) -> Case:
    remedy: Any = d.get("remedy")
    pending: Any = d.get("pending")
    rating = d.get("rating_class")
    return Case(
        id=d["_id"],
        tenant_id=d["tenant_id"],
        member_id=d["member_id"],
        store_id=d["store_id"],
        category=Category(d["category"]),
        severity=Severity(d["severity"]),
        description=d["description"],
        state=CaseState(d["state"]),
        source=Source(d["source"]),
        opened_by=d["opened_by"],
        opened_at=d["opened_at"],
        first_response_due=d["first_response_due"],
        resolution_due=d["resolution_due"],
        review_id=d.get("review_id", ""),
        receipt_no=d.get("receipt_no", ""),
        rating_class=RatingClass(rating) if rating else None,
        assigned_store_id=d.get("assigned_store_id", ""),
        assigned_staff_id=d.get("assigned_staff_id", ""),
        timeline=tuple(_entry_from(e) for e in d.get("timeline") or ()),
        remedy=_remedy_from(remedy) if remedy else None,
        risk=_risk_from(d.get("risk")),
        satisfaction=int(d.get("satisfaction", 0)),
        follow_up_at=d.get("follow_up_at"),
        sla_breaches=tuple(d.get("sla_breaches") or ()),
        first_responded_at=d.get("first_responded_at"),
        resolved_at=d.get("resolved_at"),
        rejected_at=d.get("rejected_at"),
        pending=_settlement_from(pending) if pending else None,
        survey_id=d.get("survey_id", ""),
        delivery_city=d.get("delivery_city", ""),
        erased_at=d.get("erased_at"),
        version=int(d.get("version", 1)),
    )


# Surveys


def _answer_doc(a: Answer) -> Document:
    return {
        "csat": a.csat,
        "nps": a.nps,
        "text": a.text,
        "wants_call_back": a.wants_call_back,
        "category": a.category.value if a.category else None,
        "at": a.at,
    }


def _answer_from(d: Document) -> Answer:
    nps, category = d.get("nps"), d.get("category")
    return Answer(
        csat=int(d["csat"]),
        nps=None if nps is None else int(nps),
        text=d.get("text", ""),
        wants_call_back=bool(d.get("wants_call_back", False)),
        category=Category(category) if category else None,
        at=d["at"],
    )


def survey_doc(s: Survey) -> Document:
    """The survey's document, `_id` = its id, with its query field."""
    return {
        "_id": s.id,
        "tenant_id": s.tenant_id,
        "member_id": s.member_id,
        "store_id": s.store_id,
        "purchase_id": s.purchase_id,
        "receipt_no": s.receipt_no,
        "staff_id": s.staff_id,
        "purchased_at": s.purchased_at,
        "token": s.token,
        "state": s.state.value,
        "scheduled_at": s.scheduled_at,
        "due_at": s.due_at,
        "closes_at": s.closes_at,
        "fell_due_at": s.fell_due_at,
        "answer": _answer_doc(s.answer) if s.answer else None,
        "case_id": s.case_id,
        "points": s.points,
        "erased_at": s.erased_at,
        "version": s.version,
        "falls_due_at": s.due_at if s.state is SurveyState.SCHEDULED and s.erased_at is None else None,
    }


def survey_from(d: Document) -> Survey:
    answer: Any = d.get("answer")
    return Survey(
        id=d["_id"],
        tenant_id=d["tenant_id"],
        member_id=d["member_id"],
        store_id=d["store_id"],
        purchase_id=d["purchase_id"],
        receipt_no=d.get("receipt_no", ""),
        staff_id=d.get("staff_id", ""),
        purchased_at=d["purchased_at"],
        token=d["token"],
        state=SurveyState(d["state"]),
        scheduled_at=d["scheduled_at"],
        due_at=d["due_at"],
        closes_at=d["closes_at"],
        fell_due_at=d.get("fell_due_at"),
        answer=_answer_from(answer) if answer else None,
        case_id=d.get("case_id", ""),
        points=int(d.get("points", 0)),
        erased_at=d.get("erased_at"),
        version=int(d.get("version", 1)),
    )


# Threads


def _message_doc(m: Message) -> Document:
    return {"id": m.id, "author": m.author.value, "by": m.by, "text": m.text, "at": m.at}


def _message_from(d: Document) -> Message:
    return Message(id=d["id"], author=Author(d["author"]), by=d["by"], text=d["text"], at=d["at"])


def thread_next_due(t: Thread) -> datetime | None:
    """The first response due while the clock may still find it breached: not recorded, not
    given, the thread not closed, its member not erased (nobody is left to answer). None
    otherwise."""
    if FIRST_RESPONSE in t.sla_breaches or t.first_response_met_at is not None or t.erased_at:
        return None
    return t.first_response_due


def thread_doc(t: Thread) -> Document:
    """The thread's document, `_id` = its id, with its query field."""
    return {
        "_id": t.id,
        "tenant_id": t.tenant_id,
        "member_id": t.member_id,
        "kind": t.kind.value,
        "store_id": t.store_id,
        "state": t.state.value,
        "opened_at": t.opened_at,
        "first_response_due": t.first_response_due,
        "messages": [_message_doc(m) for m in t.messages],
        "assigned_store_id": t.assigned_store_id,
        "assigned_staff_id": t.assigned_staff_id,
        "first_responded_at": t.first_responded_at,
        "sla_breaches": list(t.sla_breaches),
        "adopted_at": t.adopted_at,
        "adopted_by": t.adopted_by,
        "closed_at": t.closed_at,
        "closed_by": t.closed_by,
        "erased_at": t.erased_at,
        "version": t.version,
        "next_due": thread_next_due(t),
    }


def thread_from(d: Document) -> Thread:
    return Thread(
        id=d["_id"],
        tenant_id=d["tenant_id"],
        member_id=d["member_id"],
        kind=ThreadKind(d["kind"]),
        store_id=d.get("store_id", ""),
        state=ThreadState(d["state"]),
        opened_at=d["opened_at"],
        first_response_due=d["first_response_due"],
        messages=tuple(_message_from(m) for m in d.get("messages") or ()),
        assigned_store_id=d.get("assigned_store_id", ""),
        assigned_staff_id=d.get("assigned_staff_id", ""),
        first_responded_at=d.get("first_responded_at"),
        sla_breaches=tuple(d.get("sla_breaches") or ()),
        adopted_at=d.get("adopted_at"),
        adopted_by=d.get("adopted_by", ""),
        closed_at=d.get("closed_at"),
        closed_by=d.get("closed_by", ""),
        erased_at=d.get("erased_at"),
        version=int(d.get("version", 1)),
    )


# What reports read (domain/reports.py): a case without its timeline and risk, a review's
# store, posting time and ratings. The case is read back through `case_from`, so its figures
# are the Case's own (the instants its SLAs are met on).

CASE_FIGURES_PROJECTION = {"timeline": 0, "risk": 0, "_outbox": 0}
REVIEW_FIGURES_PROJECTION = {"store_id": 1, "posted_at": 1, "rating": 1, "history": 1}


def case_figures_from(d: Document) -> CaseFigures:
    return CaseFigures.of(case_from(d))


def review_figures_from(d: Document) -> ReviewFigures:
    history = d.get("history") or ()
    rating = int(d["rating"])
    first = int(history[0]["rating"]) if history else rating
    return ReviewFigures(store_id=d["store_id"], posted_at=d["posted_at"], first_rating=first, rating=rating)
