"""regulars.coupons.v1 messages <-> coupon domain objects (validated on the way in)."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from regulars.coupons.v1 import coupons_pb2

from chassis.errors import InvalidArgument
from services.coupons.domain.jobs import Job
from services.coupons.domain.rules import Rule
from services.coupons.domain.templates import Audience, Benefit, Limits, Scope
from services.coupons.domain.validity import Validity
from services.coupons.pb_shapes import KIND_FROM_PB, benefit, scope, ts
from services.coupons.service.catalogue import TemplateView
from services.coupons.service.housekeeping import Report

FIELDS = (
    "name",
    "description",
    "benefit",
    "scope",
    "validity",
    "limits",
    "audience",
    "claimable",
    "shareable",
    "stackable",
    "stays_spent_on_refund",
)


def template_fields(pb: coupons_pb2.TemplateFields, only: set[str] | None = None) -> dict[str, Any]:
    """Domain values of the fields in `only` (all when None), each validated with its field name."""
    wanted = set(FIELDS) if only is None else only
    unknown = wanted - set(FIELDS)
    if unknown:
        raise InvalidArgument("update_mask", f"unknown fields: {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    for name in wanted:
        if name in ("name", "description", "claimable", "shareable", "stackable", "stays_spent_on_refund"):
            out[name] = getattr(pb, name)
        elif name == "benefit":
            out[name] = _benefit(pb.benefit)
        elif name == "scope":
            out[name] = Scope.parse(**{f: list(getattr(pb.scope, f)) for f in Scope.__dataclass_fields__})
        elif name == "validity":
            out[name] = _validity(pb)
        elif name == "limits":
            lim = pb.limits
            out[name] = Limits.parse(
                total_stock=lim.total_stock,
                per_member_limit=lim.per_member_limit,
                per_period_limit=lim.per_period_limit,
                period=lim.period,
                budget=lim.budget,
            )
        elif name == "audience":
            out[name] = Audience.parse(
                pb.audience.kind or "all", tiers=list(pb.audience.tiers), segment_id=pb.audience.segment_id
            )
    return out


def _benefit(b: coupons_pb2.Benefit) -> Benefit:
    if b.kind not in KIND_FROM_PB:
        raise InvalidArgument("benefit.kind", "kind must be amount_off, percent_off, threshold or gift")
    return Benefit.parse(
        KIND_FROM_PB[b.kind].value,
        amount_off=b.amount_off,
        percent_off=b.percent_off,
        max_discount=b.max_discount,
        threshold=b.threshold,
        repeating=b.repeating,
        gift_sku=b.gift_sku,
        min_spend=b.min_spend,
    )


def _validity(pb: coupons_pb2.TemplateFields) -> Validity:
    v = pb.validity
    if v.duration_seconds < 0:
        raise InvalidArgument("validity.duration", "duration_seconds must not be negative")
    return Validity.parse(
        starts_at=v.starts_at.ToDatetime(tzinfo=UTC) if v.HasField("starts_at") else None,
        ends_at=v.ends_at.ToDatetime(tzinfo=UTC) if v.HasField("ends_at") else None,
        duration=timedelta(seconds=v.duration_seconds) if v.duration_seconds else None,
        until_end_of=v.until_end_of,
    )


def template(view: TemplateView) -> coupons_pb2.Template:
    t = view.template
    v = t.validity
    validity = coupons_pb2.Validity(
        duration_seconds=int(v.duration.total_seconds()) if v.duration else 0,
        until_end_of=v.until_end_of.value,
    )
    if v.starts_at and v.ends_at:
        validity.starts_at.CopyFrom(ts(v.starts_at))
        validity.ends_at.CopyFrom(ts(v.ends_at))
    return coupons_pb2.Template(
        id=t.id,
        tenant_id=t.tenant_id,
        name=t.name,
        description=t.description,
        benefit=benefit(t.benefit),
        scope=scope(t.scope),
        validity=validity,
        limits=coupons_pb2.Limits(
            total_stock=t.limits.total_stock,
            per_member_limit=t.limits.per_member_limit,
            per_period_limit=t.limits.per_period_limit,
            period=t.limits.period.value,
            budget=t.limits.budget,
        ),
        audience=coupons_pb2.Audience(
            kind=t.audience.kind.value, tiers=list(t.audience.tiers), segment_id=t.audience.segment_id
        ),
        claimable=t.claimable,
        shareable=t.shareable,
        stackable=t.stackable,
        state=t.state.value,
        version=t.version,
        created_at=ts(t.created_at),
        stays_spent_on_refund=view.stays_spent_on_refund,
        issued=max(view.issued, 0),
        budget_used=view.budget_used,
        audience_ready=view.audience_ready,
    )


def rule(r: Rule) -> coupons_pb2.Rule:
    return coupons_pb2.Rule(
        id=r.id,
        tenant_id=r.tenant_id,
        name=r.name,
        trigger=r.trigger.value,
        template_id=r.template_id,
        conditions=coupons_pb2.RuleConditions(min_spend=r.min_spend, tiers=list(r.tiers)),
        day_of_month=r.day_of_month,
        segment_id=r.segment_id,
        active=r.active,
        created_at=ts(r.created_at),
    )


def job(j: Job) -> coupons_pb2.IssueJob:
    out = coupons_pb2.IssueJob(
        id=j.id,
        tenant_id=j.tenant_id,
        template_id=j.template_id,
        segment_id=j.segment_id,
        state=j.state.value,
        members_seen=j.members_seen,
        issued=j.issued,
        skipped=j.skipped,
        detail=j.detail,
        started_at=ts(j.started_at),
    )
    if j.finished_at:
        out.finished_at.CopyFrom(ts(j.finished_at))
    return out


def report(r: Report) -> coupons_pb2.TemplateReport:
    def rows(table: dict[str, Any]) -> list[coupons_pb2.ReportRow]:
        return [
            coupons_pb2.ReportRow(key=k, redeemed=v.redeemed, discount=v.discount, revenue=v.revenue)
            for k, v in sorted(table.items())
        ]

    return coupons_pb2.TemplateReport(
        template_id=r.template_id,
        issued=r.issued,
        claimed=r.claimed,
        shared=r.shared,
        redeemed=r.redeemed,
        expired=r.expired,
        redemption_rate=r.redemption_rate,
        total_discount=r.total_discount,
        revenue=r.revenue,
        by_store=rows(r.by_store),
        by_staff=rows(r.by_staff),
    )
