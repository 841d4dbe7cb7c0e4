"""Coupons protobuf <-> the gateway's schemas: templates, coupons, claims, jobs, rules, carts.

A benefit, a scope and a coupon are each mapped here once, for every route that sends or shows
one (a benefit travels in templates and in every coupon).
"""

from __future__ import annotations

from typing import Any

from regulars.coupons.v1 import coupons_pb2 as pb

from gateway.clients.pb_time import moment, optional_moment, optional_timestamp
from gateway.schemas.coupons import (
    AudienceOut,
    BenefitBody,
    BenefitOut,
    CartLineBody,
    ClaimOut,
    CouponCheckOut,
    CouponOut,
    CouponStateName,
    IssueJobOut,
    LimitsOut,
    RedemptionOut,
    ReportRowOut,
    RuleBody,
    RuleConditionsOut,
    RuleOut,
    ScopeOut,
    SuggestedOut,
    TemplateBody,
    TemplateOut,
    TemplateReportOut,
    UpdateTemplateBody,
    ValidateCartOut,
    ValidityBody,
    ValidityOut,
)

KINDS = {
    "amount_off": pb.COUPON_KIND_AMOUNT_OFF,
    "percent_off": pb.COUPON_KIND_PERCENT_OFF,
    "threshold": pb.COUPON_KIND_THRESHOLD,
    "gift": pb.COUPON_KIND_GIFT,
}
COUPON_STATES: dict[CouponStateName, pb.CouponState.ValueType] = {
    "available": pb.COUPON_STATE_AVAILABLE,
    "locked": pb.COUPON_STATE_LOCKED,
    "redeemed": pb.COUPON_STATE_REDEEMED,
    "expired": pb.COUPON_STATE_EXPIRED,
    "shared": pb.COUPON_STATE_SHARED,
}
OUTCOMES = {
    pb.CLAIM_OUTCOME_ISSUED: "issued",
    pb.CLAIM_OUTCOME_SOLD_OUT: "sold_out",
    pb.CLAIM_OUTCOME_LIMIT_REACHED: "limit_reached",
    pb.CLAIM_OUTCOME_NOT_ELIGIBLE: "not_eligible",
    pb.CLAIM_OUTCOME_NOT_AVAILABLE: "not_available",
}
_KIND_NAMES = {v: k for k, v in KINDS.items()}
_STATE_NAMES = {v: k for k, v in COUPON_STATES.items()}
_PLAIN_MESSAGES: dict[str, Any] = {"scope": pb.Scope, "limits": pb.Limits, "audience": pb.Audience}

# --- Templates ---------------------------------------------------------------------------------


def benefit_pb(b: BenefitBody) -> pb.Benefit:
    return pb.Benefit(kind=KINDS[b.kind], **b.model_dump(exclude={"kind"}))


def benefit_out(b: pb.Benefit) -> BenefitOut:
    fields = {name: getattr(b, name) for name in BenefitOut.model_fields if name != "kind"}
    return BenefitOut(kind=_KIND_NAMES.get(b.kind, ""), **fields)


def scope_out(s: pb.Scope) -> ScopeOut:
    return ScopeOut(**{name: list(getattr(s, name)) for name in ScopeOut.model_fields})


def validity_pb(v: ValidityBody) -> pb.Validity:
    return pb.Validity(
        starts_at=optional_timestamp(v.starts_at),
        ends_at=optional_timestamp(v.ends_at),
        duration_seconds=v.duration_seconds,
        until_end_of=v.until_end_of,
    )


def template_fields(body: TemplateBody | UpdateTemplateBody, names: list[str]) -> pb.TemplateFields:
    """The fields `names` of a template body (all of a new template, those sent in a change)."""
    fields = pb.TemplateFields()
    for name in names:
        value = getattr(body, name)
        if name == "benefit":
            fields.benefit.CopyFrom(benefit_pb(value))
        elif name == "validity":
            fields.validity.CopyFrom(validity_pb(value))
        elif name in _PLAIN_MESSAGES:
            getattr(fields, name).CopyFrom(_PLAIN_MESSAGES[name](**value.model_dump()))
        else:
            setattr(fields, name, value)
    return fields


def template_out(t: pb.Template) -> TemplateOut:
    v, lim, aud = t.validity, t.limits, t.audience
    return TemplateOut(
        id=t.id,
        name=t.name,
        description=t.description,
        benefit=benefit_out(t.benefit),
        scope=scope_out(t.scope),
        validity=ValidityOut(
            starts_at=optional_moment(v, "starts_at"),
            ends_at=optional_moment(v, "ends_at"),
            duration_seconds=v.duration_seconds,
            until_end_of=v.until_end_of,
        ),
        limits=LimitsOut(**{name: getattr(lim, name) for name in LimitsOut.model_fields}),
        audience=AudienceOut(kind=aud.kind, tiers=list(aud.tiers), segment_id=aud.segment_id or None),
        claimable=t.claimable,
        shareable=t.shareable,
        stackable=t.stackable,
        stays_spent_on_refund=t.stays_spent_on_refund,
        state=t.state,
        version=t.version,
        created_at=moment(t.created_at),
        issued=t.issued,
        budget_used=t.budget_used,
        audience_ready=t.audience_ready,
    )


def report_out(r: pb.TemplateReport) -> TemplateReportOut:
    def row(x: pb.ReportRow) -> ReportRowOut:
        return ReportRowOut(key=x.key, redeemed=x.redeemed, discount=x.discount, revenue=x.revenue)

    return TemplateReportOut(
        template_id=r.template_id,
        issued=r.issued,
        claimed=r.claimed,
        shared=r.shared,
        redeemed=r.redeemed,
        expired=r.expired,
        redemption_rate=r.redemption_rate,
        total_discount=r.total_discount,
        revenue=r.revenue,
        by_store=[row(x) for x in r.by_store],
        by_staff=[row(x) for x in r.by_staff],
    )


# --- Coupons and claims ------------------------------------------------------------------------


def redemption_out(r: pb.Redemption) -> RedemptionOut:
    return RedemptionOut(
        receipt_no=r.receipt_no,
        store_id=r.store_id,
        staff_id=r.staff_id or None,
        discount=r.discount,
        receipt_total=r.receipt_total,
        purchase_id=r.purchase_id or None,
        at=moment(r.at),
    )


def coupon_out(c: pb.Coupon) -> CouponOut:
    return CouponOut(
        id=c.id,
        code=c.code,
        template_id=c.template_id,
        member_id=c.member_id,
        name=c.name,
        state=_STATE_NAMES.get(c.state, ""),
        benefit=benefit_out(c.benefit),
        scope=scope_out(c.scope),
        stackable=c.stackable,
        shareable=c.shareable,
        valid_from=moment(c.valid_from),
        valid_until=moment(c.valid_until),
        issued_at=moment(c.issued_at),
        source=c.source,
        lock_expires_at=optional_moment(c, "lock_expires_at"),
        redemption=redemption_out(c.redemption) if c.HasField("redemption") else None,
        shared_to_coupon_id=c.shared_to_coupon_id or None,
        shared_from_coupon_id=c.shared_from_coupon_id or None,
    )


def claim_out(reply: pb.ClaimCouponResponse) -> ClaimOut:
    return ClaimOut(
        outcome=OUTCOMES.get(reply.outcome, "not_available"),
        coupon=coupon_out(reply.coupon) if reply.HasField("coupon") else None,
        detail=reply.detail,
    )


# --- Issue jobs and rules ----------------------------------------------------------------------


def job_out(j: pb.IssueJob) -> IssueJobOut:
    return IssueJobOut(
        id=j.id,
        template_id=j.template_id,
        segment_id=j.segment_id,
        state=j.state,
        members_seen=j.members_seen,
        issued=j.issued,
        skipped=j.skipped,
        detail=j.detail,
        started_at=moment(j.started_at),
        finished_at=optional_moment(j, "finished_at"),
    )


def rule_pb(body: RuleBody) -> pb.Rule:
    return pb.Rule(
        name=body.name,
        trigger=body.trigger,
        template_id=body.template_id,
        conditions=pb.RuleConditions(min_spend=body.conditions.min_spend, tiers=body.conditions.tiers),
        day_of_month=body.day_of_month,
        segment_id=body.segment_id,
    )


def rule_out(r: pb.Rule) -> RuleOut:
    return RuleOut(
        id=r.id,
        name=r.name,
        trigger=r.trigger,
        template_id=r.template_id,
        conditions=RuleConditionsOut(min_spend=r.conditions.min_spend, tiers=list(r.conditions.tiers)),
        day_of_month=r.day_of_month,
        segment_id=r.segment_id or None,
        active=r.active,
        created_at=moment(r.created_at),
    )


# --- The till ----------------------------------------------------------------------------------


def cart_line_pb(line: CartLineBody) -> pb.CartLine:
    return pb.CartLine(**line.model_dump())


def cart_checks_out(reply: pb.ValidateCartResponse) -> ValidateCartOut:
    return ValidateCartOut(
        cart_total=reply.cart_total,
        checks=[
            CouponCheckOut(
                code=c.coupon.code,
                coupon_id=c.coupon.id,
                name=c.coupon.name,
                applies=c.applies,
                discount=c.discount,
                reason=c.reason,
                detail=c.detail,
            )
            for c in reply.checks
        ],
        suggested=[SuggestedOut(code=s.code, discount=s.discount) for s in reply.suggested],
        suggested_discount=reply.suggested_discount,
    )
