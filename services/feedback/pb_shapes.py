"""Protobuf shapes of the feedback domain, shared by the events and the gRPC edge."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp
from regulars.feedback.v1 import feedback_pb2

from services.feedback.domain.cases import Case, Remedy
from services.feedback.domain.reviews import RatingClass, Reply, Review
from services.feedback.domain.surveys import Answer, Survey
from services.feedback.domain.threads import Message, Thread

RATING_CLASS_PB = {
    RatingClass.GOOD: feedback_pb2.RATING_CLASS_GOOD,
    RatingClass.MEDIUM: feedback_pb2.RATING_CLASS_MEDIUM,
    RatingClass.BAD: feedback_pb2.RATING_CLASS_BAD,
}
RATING_CLASS_FROM_PB: dict[int, RatingClass] = {int(v): k for k, v in RATING_CLASS_PB.items()}


def stamp(at: datetime | None) -> Timestamp | None:
    if at is None:
        return None
    out = Timestamp()
    out.FromDatetime(at)
    return out


def _reply_pb(r: Reply) -> feedback_pb2.Reply:
    return feedback_pb2.Reply(
        text=r.text, quoted_text=r.quoted_text, quoted_rating=r.quoted_rating, by=r.by, at=stamp(r.at)
    )


def review_pb(r: Review) -> feedback_pb2.Review:
    return feedback_pb2.Review(
        id=r.id,
        tenant_id=r.tenant_id,
        member_id=r.member_id,
        store_id=r.store_id,
        receipt_no=r.receipt_no,
        sku=r.sku,
        rating=r.rating,
        rating_class=RATING_CLASS_PB[r.rating_class],
        text=r.text,
        image_urls=list(r.image_urls),
        channel=r.channel.value,
        posted_at=stamp(r.posted_at),
        history=[
            feedback_pb2.ReviewVersion(
                rating=v.rating, text=v.text, image_urls=list(v.image_urls), at=stamp(v.at)
            )
            for v in r.history
        ],
        reply=_reply_pb(r.reply) if r.reply else None,
        earlier_replies=[_reply_pb(x) for x in r.earlier_replies],
        case_id=r.case_id,
        verified_purchase=r.verified_purchase,
        erased_at=stamp(r.erased_at),
    )


def remedy_pb(m: Remedy) -> feedback_pb2.Remedy:
    return feedback_pb2.Remedy(
        kind=m.kind.value,
        note=m.note,
        template_id=m.template_id,
        value=m.value,
        coupon_code=m.coupon_code,
        points=m.points,
    )


def case_pb(c: Case) -> feedback_pb2.Case:
    return feedback_pb2.Case(
        id=c.id,
        tenant_id=c.tenant_id,
        member_id=c.member_id,
        store_id=c.store_id,
        category=c.category.value,
        severity=c.severity.value,
        description=c.description,
        state=c.state.value,
        source=c.source.value,
        review_id=c.review_id,
        assigned_store_id=c.assigned_store_id,
        assigned_staff_id=c.assigned_staff_id,
        opened_at=stamp(c.opened_at),
        first_response_due=stamp(c.first_response_due),
        resolution_due=stamp(c.resolution_due),
        timeline=[
            feedback_pb2.TimelineEntry(action=e.action.value, by=e.by, at=stamp(e.at), note=e.note)
            for e in c.timeline
        ],
        remedy=remedy_pb(c.remedy) if c.remedy else None,
        risk=feedback_pb2.RiskAssessment(
            score=c.risk.score,
            reasons=list(c.risk.reasons),
            needs_manager=c.risk.needs_manager,
            decision=c.risk.decision.value,
            decided_by=c.risk.decided_by,
        ),
        satisfaction=c.satisfaction,
        follow_up_at=stamp(c.follow_up_at),
        sla_breaches=list(c.sla_breaches),
        receipt_no=c.receipt_no,
        survey_id=c.survey_id,
        delivery_city=c.delivery_city,
        erased_at=stamp(c.erased_at),
    )


def _answer_pb(a: Answer) -> feedback_pb2.SurveyAnswer:
    return feedback_pb2.SurveyAnswer(
        csat=a.csat,
        nps=a.nps,
        text=a.text,
        wants_call_back=a.wants_call_back,
        category=a.category.value if a.category else "",
        answered_at=stamp(a.at),
    )


def survey_pb(s: Survey) -> feedback_pb2.Survey:
    return feedback_pb2.Survey(
        id=s.id,
        tenant_id=s.tenant_id,
        member_id=s.member_id,
        store_id=s.store_id,
        purchase_id=s.purchase_id,
        receipt_no=s.receipt_no,
        staff_id=s.staff_id,
        purchased_at=stamp(s.purchased_at),
        token=s.token,
        state=s.state.value,
        scheduled_at=stamp(s.scheduled_at),
        due_at=stamp(s.due_at),
        closes_at=stamp(s.closes_at),
        answer=_answer_pb(s.answer) if s.answer else None,
        case_id=s.case_id,
        points=s.points,
        erased_at=stamp(s.erased_at),
    )


def message_pb(m: Message) -> feedback_pb2.ThreadMessage:
    return feedback_pb2.ThreadMessage(id=m.id, author=m.author.value, by=m.by, text=m.text, at=stamp(m.at))


def thread_pb(t: Thread) -> feedback_pb2.Thread:
    return feedback_pb2.Thread(
        id=t.id,
        tenant_id=t.tenant_id,
        member_id=t.member_id,
        kind=t.kind.value,
        store_id=t.store_id,
        state=t.state.value,
        messages=[message_pb(m) for m in t.messages],
        assigned_store_id=t.assigned_store_id,
        assigned_staff_id=t.assigned_staff_id,
        opened_at=stamp(t.opened_at),
        first_response_due=stamp(t.first_response_due),
        first_responded_at=stamp(t.first_responded_at),
        sla_breaches=list(t.sla_breaches),
        adopted_at=stamp(t.adopted_at),
        adopted_by=t.adopted_by,
        closed_at=stamp(t.closed_at),
        closed_by=t.closed_by,
        erased_at=stamp(t.erased_at),
    )
