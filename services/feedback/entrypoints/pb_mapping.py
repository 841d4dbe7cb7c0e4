"""Requests and replies of FeedbackService: protobuf <-> the domain's types and dict forms."""

from __future__ import annotations

from typing import Any, Literal

from regulars.feedback.v1 import feedback_pb2

from services.feedback.domain.cases import Remedy, parse_remedy
from services.feedback.domain.evidence import EvidencePack, SentMessage
from services.feedback.domain.policy import FeedbackPolicy, settings_to_dict
from services.feedback.domain.reviews import RatingClass
from services.feedback.pb_shapes import (
    RATING_CLASS_FROM_PB,
    RATING_CLASS_PB,
    case_pb,
    review_pb,
    stamp,
    survey_pb,
    thread_pb,
)
from services.feedback.service.clock import ClockSummary

SurveySetting = Literal["survey_delay_days", "survey_points", "survey_case_csat_max", "survey_case_nps_max"]
SURVEY_SETTINGS: tuple[SurveySetting, ...] = (
    "survey_delay_days",
    "survey_points",
    "survey_case_csat_max",
    "survey_case_nps_max",
)


def rating_class(value: int) -> str:
    """A list filter: "" for any."""
    found = RATING_CLASS_FROM_PB.get(value)
    return found.value if found else ""


def remedy(pb: feedback_pb2.Remedy) -> Remedy:
    return parse_remedy(pb.kind, pb.note, pb.template_id, pb.value, pb.points)


def policy_settings(pb: feedback_pb2.FeedbackPolicy) -> dict[str, Any]:
    """The dict form the domain parses (domain.policy.parse_policy): a field left at its zero
    value is left out, so it takes the default."""
    out: dict[str, Any] = {}
    if pb.slas:
        out["slas"] = [
            {
                "severity": s.severity,
                "first_response_hours": s.first_response_hours,
                "resolution_hours": s.resolution_hours,
            }
            for s in pb.slas
        ]
    if pb.business_hours:
        out["business_hours"] = [_day(d) for d in pb.business_hours]
    if pb.store_hours:
        out["store_hours"] = [
            {"store_id": s.store_id, "days": [_day(d) for d in s.days]} for s in pb.store_hours
        ]
    if pb.time_zone:
        out["time_zone"] = pb.time_zone
    if pb.presets:
        out["presets"] = [
            {
                "rating_class": RATING_CLASS_FROM_PB.get(p.rating_class, RatingClass.GOOD).value
                if p.rating_class
                else "",
                "template_id": p.template_id,
                "value": p.value,
            }
            for p in pb.presets
        ]
    for name in ("store_monthly_budget", "follow_up_days", "risk_threshold"):
        if getattr(pb, name):
            out[name] = getattr(pb, name)
    if pb.open_case_for_medium:
        out["open_case_for_medium"] = True
    for name in SURVEY_SETTINGS:
        if pb.HasField(name):  # optional: 0 (no surveys, no points, never) is a setting of its own
            out[name] = getattr(pb, name)
    return out


def _day(d: feedback_pb2.BusinessDay) -> dict[str, Any]:
    return {"weekday": d.weekday, "opens": d.opens, "closes": d.closes}


def policy_pb(p: FeedbackPolicy) -> feedback_pb2.FeedbackPolicy:
    d = settings_to_dict(p)
    return feedback_pb2.FeedbackPolicy(
        tenant_id=p.tenant_id,
        slas=[feedback_pb2.SlaHours(**s) for s in d["slas"]],
        business_hours=[feedback_pb2.BusinessDay(**x) for x in d["business_hours"]],
        store_hours=[
            feedback_pb2.StoreHours(
                store_id=s["store_id"], days=[feedback_pb2.BusinessDay(**x) for x in s["days"]]
            )
            for s in d["store_hours"]
        ],
        time_zone=d["time_zone"],
        presets=[
            feedback_pb2.CompensationPreset(
                rating_class=RATING_CLASS_PB[RatingClass(x["rating_class"])],
                template_id=x["template_id"],
                value=x["value"],
            )
            for x in d["presets"]
        ],
        store_monthly_budget=d["store_monthly_budget"],
        open_case_for_medium=d["open_case_for_medium"],
        follow_up_days=d["follow_up_days"],
        risk_threshold=d["risk_threshold"],
        version=p.version,
        survey_delay_days=d["survey_delay_days"],
        survey_points=d["survey_points"],
        survey_case_csat_max=d["survey_case_csat_max"],
        survey_case_nps_max=d["survey_case_nps_max"],
    )


def _sent_pb(m: SentMessage) -> feedback_pb2.SentMessage:
    return feedback_pb2.SentMessage(
        id=m.id,
        template_id=m.template_id,
        message_class=m.message_class,
        channel=m.channel,
        state=m.state,
        source=m.source,
        store_id=m.store_id,
        staff_id=m.staff_id,
        created_at=stamp(m.created_at),
        sent_at=stamp(m.sent_at),
        reason=m.reason,
    )


def evidence_pb(pack: EvidencePack) -> feedback_pb2.EvidencePack:
    return feedback_pb2.EvidencePack(
        member_id=pack.member_id,
        reviews=[review_pb(r) for r in pack.reviews],
        cases=[case_pb(c) for c in pack.cases],
        exported_at=stamp(pack.exported_at),
        threads=[thread_pb(t) for t in pack.threads],
        surveys=[survey_pb(s) for s in pack.surveys],
        messages=[_sent_pb(m) for m in pack.messages.messages],
        messages_status=pack.messages.status.value,
        messages_note=pack.messages.note,
    )


def clock_summary_pb(summary: ClockSummary) -> feedback_pb2.CaseClockSummary:
    return feedback_pb2.CaseClockSummary(
        breaches=summary.breaches,
        follow_ups_due=summary.follow_ups_due,
        surveys_due=summary.surveys_due,
        thread_breaches=summary.thread_breaches,
    )
