"""Feedback protobuf <-> the gateway's schemas: reviews, cases, the evidence pack, the policy.

Empty strings of optional references (a receipt, a case id, a coupon code) come back as None;
a rating class is its word ("good", "medium", "bad"), the enum's name on the wire.
"""

from __future__ import annotations

from regulars.feedback.v1 import feedback_pb2 as pb

from gateway.clients.pb_time import optional_moment
from gateway.clients.surveys_mapping import survey_out, thread_out
from gateway.schemas.feedback import (
    BusinessDayBody,
    BusinessDayOut,
    CaseOut,
    EvidenceOut,
    FeedbackPolicyBody,
    FeedbackPolicyOut,
    PresetOut,
    RatingClassName,
    RemedyBody,
    RemedyOut,
    ReplyOut,
    ReviewOut,
    ReviewVersionOut,
    RiskOut,
    SentMessageOut,
    SlaHoursOut,
    StoreHoursOut,
    TimelineEntryOut,
)

RATING_CLASSES: dict[RatingClassName, pb.RatingClass.ValueType] = {
    "good": pb.RATING_CLASS_GOOD,
    "medium": pb.RATING_CLASS_MEDIUM,
    "bad": pb.RATING_CLASS_BAD,
}
_RATING_CLASS_NAMES = {v: k for k, v in RATING_CLASSES.items()}


def _or_none(value: str) -> str | None:
    return value or None


def rating_class_name(value: pb.RatingClass.ValueType) -> str:
    return _RATING_CLASS_NAMES.get(value, "")


# --- Reviews -----------------------------------------------------------------------------------


def _reply_out(r: pb.Reply) -> ReplyOut:
    return ReplyOut(
        text=r.text,
        quoted_text=r.quoted_text,
        quoted_rating=r.quoted_rating,
        by=r.by,
        at=optional_moment(r, "at"),
    )


def review_out(r: pb.Review) -> ReviewOut:
    return ReviewOut(
        id=r.id,
        member_id=r.member_id,
        store_id=_or_none(r.store_id),
        receipt_no=_or_none(r.receipt_no),
        sku=_or_none(r.sku),
        rating=r.rating,
        rating_class=rating_class_name(r.rating_class),
        text=r.text,
        image_urls=list(r.image_urls),
        channel=r.channel,
        posted_at=optional_moment(r, "posted_at"),
        history=[
            ReviewVersionOut(
                rating=v.rating, text=v.text, image_urls=list(v.image_urls), at=optional_moment(v, "at")
            )
            for v in r.history
        ],
        reply=_reply_out(r.reply) if r.HasField("reply") else None,
        earlier_replies=[_reply_out(x) for x in r.earlier_replies],
        case_id=_or_none(r.case_id),
        verified_purchase=r.verified_purchase,
        erased_at=optional_moment(r, "erased_at"),
    )


# --- Cases -------------------------------------------------------------------------------------


def remedy_pb(body: RemedyBody) -> pb.Remedy:
    return pb.Remedy(
        kind=body.kind, note=body.note, template_id=body.template_id, value=body.value, points=body.points
    )


def _remedy_out(m: pb.Remedy) -> RemedyOut:
    return RemedyOut(
        kind=m.kind,
        note=m.note,
        template_id=_or_none(m.template_id),
        value=m.value,
        coupon_code=_or_none(m.coupon_code),
        points=m.points,
    )


def _risk_out(r: pb.RiskAssessment) -> RiskOut:
    return RiskOut(
        score=r.score,
        reasons=list(r.reasons),
        needs_manager=r.needs_manager,
        decision=_or_none(r.decision),
        decided_by=_or_none(r.decided_by),
    )


def case_out(c: pb.Case) -> CaseOut:
    return CaseOut(
        id=c.id,
        member_id=c.member_id,
        store_id=c.store_id,
        category=c.category,
        severity=c.severity,
        description=c.description,
        state=c.state,
        source=c.source,
        review_id=_or_none(c.review_id),
        survey_id=_or_none(c.survey_id),
        receipt_no=_or_none(c.receipt_no),
        assigned_store_id=_or_none(c.assigned_store_id),
        assigned_staff_id=_or_none(c.assigned_staff_id),
        opened_at=optional_moment(c, "opened_at"),
        first_response_due=optional_moment(c, "first_response_due"),
        resolution_due=optional_moment(c, "resolution_due"),
        timeline=[
            TimelineEntryOut(action=e.action, by=e.by, at=optional_moment(e, "at"), note=e.note)
            for e in c.timeline
        ],
        remedy=_remedy_out(c.remedy) if c.HasField("remedy") else None,
        risk=_risk_out(c.risk) if c.HasField("risk") else None,
        satisfaction=c.satisfaction or None,
        follow_up_at=optional_moment(c, "follow_up_at"),
        sla_breaches=list(c.sla_breaches),
        delivery_city=_or_none(c.delivery_city),
        erased_at=optional_moment(c, "erased_at"),
    )


def _sent_out(m: pb.SentMessage) -> SentMessageOut:
    return SentMessageOut(
        id=m.id,
        template_id=m.template_id,
        message_class=m.message_class,
        channel=_or_none(m.channel),
        state=m.state,
        source=_or_none(m.source),
        store_id=_or_none(m.store_id),
        staff_id=_or_none(m.staff_id),
        created_at=optional_moment(m, "created_at"),
        sent_at=optional_moment(m, "sent_at"),
        reason=_or_none(m.reason),
    )


def evidence_out(e: pb.EvidencePack) -> EvidenceOut:
    return EvidenceOut(
        member_id=e.member_id,
        reviews=[review_out(r) for r in e.reviews],
        cases=[case_out(c) for c in e.cases],
        threads=[thread_out(t) for t in e.threads],
        surveys=[survey_out(s) for s in e.surveys],
        messages=[_sent_out(m) for m in e.messages],
        messages_status=e.messages_status or "complete",
        messages_note=_or_none(e.messages_note),
        exported_at=optional_moment(e, "exported_at"),
    )


# --- The feedback policy -----------------------------------------------------------------------


def _day_pb(d: BusinessDayBody) -> pb.BusinessDay:
    return pb.BusinessDay(weekday=d.weekday, opens=d.opens, closes=d.closes)


def policy_pb(tenant_id: str, body: FeedbackPolicyBody) -> pb.FeedbackPolicy:
    return pb.FeedbackPolicy(
        tenant_id=tenant_id,
        slas=[
            pb.SlaHours(
                severity=s.severity,
                first_response_hours=s.first_response_hours,
                resolution_hours=s.resolution_hours,
            )
            for s in body.slas
        ],
        business_hours=[_day_pb(d) for d in body.business_hours],
        store_hours=[
            pb.StoreHours(store_id=s.store_id, days=[_day_pb(d) for d in s.days]) for s in body.store_hours
        ],
        time_zone=body.time_zone,
        presets=[
            pb.CompensationPreset(
                rating_class=RATING_CLASSES[p.rating_class], template_id=p.template_id, value=p.value
            )
            for p in body.presets
        ],
        store_monthly_budget=body.store_monthly_budget,
        open_case_for_medium=body.open_case_for_medium,
        follow_up_days=body.follow_up_days,
        risk_threshold=body.risk_threshold,
        version=body.version,
        survey_delay_days=body.survey_delay_days,
        survey_points=body.survey_points,
        survey_case_csat_max=body.survey_case_csat_max,
        survey_case_nps_max=body.survey_case_nps_max,
    )


def _day_out(d: pb.BusinessDay) -> BusinessDayOut:
    return BusinessDayOut(weekday=d.weekday, opens=d.opens, closes=d.closes)


def policy_out(p: pb.FeedbackPolicy) -> FeedbackPolicyOut:
    return FeedbackPolicyOut(
        slas=[
            SlaHoursOut(
                severity=s.severity,
                first_response_hours=s.first_response_hours,
                resolution_hours=s.resolution_hours,
            )
            for s in p.slas
        ],
        business_hours=[_day_out(d) for d in p.business_hours],
        store_hours=[
            StoreHoursOut(store_id=s.store_id, days=[_day_out(d) for d in s.days]) for s in p.store_hours
        ],
        time_zone=p.time_zone,
        presets=[
            PresetOut(
                rating_class=rating_class_name(x.rating_class),
                template_id=x.template_id,
                value=x.value,
            )
            for x in p.presets
        ],
        store_monthly_budget=p.store_monthly_budget,
        open_case_for_medium=p.open_case_for_medium,
        follow_up_days=p.follow_up_days,
        risk_threshold=p.risk_threshold,
        version=p.version,
        survey_delay_days=p.survey_delay_days,
        survey_points=p.survey_points,
        survey_case_csat_max=p.survey_case_csat_max,
        survey_case_nps_max=p.survey_case_nps_max,
    )
