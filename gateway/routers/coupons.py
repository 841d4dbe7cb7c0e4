"""Coupons: templates, rules and issue jobs for marketing; a member's wallet; the till.

Thin over gRPC `CouponsService`: validate, call one RPC, map the reply. A refusal to issue
(sold out, limit reached, not eligible, not available) is an answer with an outcome (200),
not an error; a coupon that cannot be spent now (spent, expired, locked by another checkout)
is a 409.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from google.protobuf.timestamp_pb2 import Timestamp
from regulars.coupons.v1 import coupons_pb2
from regulars.members.v1 import members_pb2

from gateway.clients.channels import call_metadata
from gateway.deps import (
    AdminCoupons,
    ClaimingMember,
    ClientsDep,
    IssueCoupons,
    ReadCoupons,
    RedeemCoupons,
    WalletMember,
    ensure_may_see_member,
)
from gateway.errors import Problem
from gateway.identity import Caller
from gateway.schemas.coupons import (
    AudienceOut,
    BenefitBody,
    BenefitOut,
    ClaimBody,
    ClaimOut,
    CompensationBody,
    CouponCheckOut,
    CouponList,
    CouponOut,
    CouponStateName,
    IssueBody,
    IssueJobBody,
    IssueJobOut,
    LimitsOut,
    LockBody,
    RedeemBody,
    RedemptionOut,
    ReleaseBody,
    ReportRowOut,
    RuleActiveBody,
    RuleBody,
    RuleConditionsOut,
    RuleList,
    RuleOut,
    ScopeOut,
    ShareBody,
    SuggestedOut,
    TemplateBody,
    TemplateList,
    TemplateOut,
    TemplateReportOut,
    TemplateStateBody,
    TemplateStateName,
    UpdateTemplateBody,
    ValidateCartBody,
    ValidateCartOut,
    ValidityBody,
    ValidityOut,
)
from gateway.schemas.problems import responses

router = APIRouter(prefix="/v1", tags=["coupons"])

TemplateId = Annotated[str, Path(min_length=1, max_length=64, description="Template id")]
JobId = Annotated[str, Path(min_length=1, max_length=64, description="Issue job id")]
RuleId = Annotated[str, Path(min_length=1, max_length=64, description="Rule id")]
Code = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="The coupon code as printed, e.g. 7K2M-9QXD-4T1E (case, spaces and dashes do not matter)",
    ),
]

KINDS = {
    "amount_off": coupons_pb2.COUPON_KIND_AMOUNT_OFF,
    "percent_off": coupons_pb2.COUPON_KIND_PERCENT_OFF,
    "threshold": coupons_pb2.COUPON_KIND_THRESHOLD,
    "gift": coupons_pb2.COUPON_KIND_GIFT,
}
COUPON_STATES = {
    "available": coupons_pb2.COUPON_STATE_AVAILABLE,
    "locked": coupons_pb2.COUPON_STATE_LOCKED,
    "redeemed": coupons_pb2.COUPON_STATE_REDEEMED,
    "expired": coupons_pb2.COUPON_STATE_EXPIRED,
    "shared": coupons_pb2.COUPON_STATE_SHARED,
}
OUTCOMES = {
    coupons_pb2.CLAIM_OUTCOME_ISSUED: "issued",
    coupons_pb2.CLAIM_OUTCOME_SOLD_OUT: "sold_out",
    coupons_pb2.CLAIM_OUTCOME_LIMIT_REACHED: "limit_reached",
    coupons_pb2.CLAIM_OUTCOME_NOT_ELIGIBLE: "not_eligible",
    coupons_pb2.CLAIM_OUTCOME_NOT_AVAILABLE: "not_available",
}
_KIND_NAMES = {v: k for k, v in KINDS.items()}
_STATE_NAMES = {v: k for k, v in COUPON_STATES.items()}
_MESSAGES: dict[str, Any] = {
    "scope": coupons_pb2.Scope,
    "limits": coupons_pb2.Limits,
    "audience": coupons_pb2.Audience,
}

# --- protobuf <-> JSON -------------------------------------------------------------------------


def _ts(at: datetime | None) -> Timestamp | None:
    if at is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(at.astimezone(UTC))
    return ts


def _at(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


def _benefit_pb(b: BenefitBody) -> coupons_pb2.Benefit:
    return coupons_pb2.Benefit(kind=KINDS[b.kind], **b.model_dump(exclude={"kind"}))


def _validity_pb(v: ValidityBody) -> coupons_pb2.Validity:
    return coupons_pb2.Validity(
        starts_at=_ts(v.starts_at),
        ends_at=_ts(v.ends_at),
        duration_seconds=v.duration_seconds,
        until_end_of=v.until_end_of,
    )


def _template_fields(body: TemplateBody | UpdateTemplateBody, names: list[str]) -> coupons_pb2.TemplateFields:
    fields = coupons_pb2.TemplateFields()
    for name in names:
        value = getattr(body, name)
        if name == "benefit":
            fields.benefit.CopyFrom(_benefit_pb(value))
        elif name == "validity":
            fields.validity.CopyFrom(_validity_pb(value))
        elif name in _MESSAGES:
            getattr(fields, name).CopyFrom(_MESSAGES[name](**value.model_dump()))
        else:
            setattr(fields, name, value)
    return fields


def _benefit_out(b: coupons_pb2.Benefit) -> BenefitOut:
    return BenefitOut(
        kind=_KIND_NAMES.get(b.kind, ""),
        amount_off=b.amount_off,
        percent_off=b.percent_off,
        max_discount=b.max_discount,
        threshold=b.threshold,
        repeating=b.repeating,
        gift_sku=b.gift_sku,
        min_spend=b.min_spend,
    )


def _scope_out(s: coupons_pb2.Scope) -> ScopeOut:
    return ScopeOut(**{name: list(getattr(s, name)) for name in ScopeOut.model_fields})


def template_out(t: coupons_pb2.Template) -> TemplateOut:
    v, lim, aud = t.validity, t.limits, t.audience
    return TemplateOut(
        id=t.id,
        name=t.name,
        description=t.description,
        benefit=_benefit_out(t.benefit),
        scope=_scope_out(t.scope),
        validity=ValidityOut(
            starts_at=_at(v.starts_at) if v.HasField("starts_at") else None,
            ends_at=_at(v.ends_at) if v.HasField("ends_at") else None,
            duration_seconds=v.duration_seconds,
            until_end_of=v.until_end_of,
        ),
        limits=LimitsOut(
            total_stock=lim.total_stock,
            per_member_limit=lim.per_member_limit,
            per_period_limit=lim.per_period_limit,
            period=lim.period,
            budget=lim.budget,
        ),
        audience=AudienceOut(kind=aud.kind, tiers=list(aud.tiers), segment_id=aud.segment_id or None),
        claimable=t.claimable,
        shareable=t.shareable,
        stackable=t.stackable,
        stays_spent_on_refund=t.stays_spent_on_refund,
        state=t.state,
        version=t.version,
        created_at=_at(t.created_at),
        issued=t.issued,
        budget_used=t.budget_used,
        audience_ready=t.audience_ready,
    )


def coupon_out(c: coupons_pb2.Coupon) -> CouponOut:
    r = c.redemption
    return CouponOut(
        id=c.id,
        code=c.code,
        template_id=c.template_id,
        member_id=c.member_id,
        name=c.name,
        state=_STATE_NAMES.get(c.state, ""),
        benefit=_benefit_out(c.benefit),
        scope=_scope_out(c.scope),
        stackable=c.stackable,
        shareable=c.shareable,
        valid_from=_at(c.valid_from),
        valid_until=_at(c.valid_until),
        issued_at=_at(c.issued_at),
        source=c.source,
        lock_expires_at=_at(c.lock_expires_at) if c.HasField("lock_expires_at") else None,
        redemption=RedemptionOut(
            receipt_no=r.receipt_no,
            store_id=r.store_id,
            staff_id=r.staff_id or None,
            discount=r.discount,
            receipt_total=r.receipt_total,
            purchase_id=r.purchase_id or None,
            at=_at(r.at),
        )
        if c.HasField("redemption")
        else None,
        shared_to_coupon_id=c.shared_to_coupon_id or None,
        shared_from_coupon_id=c.shared_from_coupon_id or None,
    )


def _claim_out(reply: coupons_pb2.ClaimCouponResponse, response: Response) -> ClaimOut:
    outcome = OUTCOMES.get(reply.outcome, "not_available")
    response.status_code = 201 if outcome == "issued" else 200
    return ClaimOut(
        outcome=outcome,
        coupon=coupon_out(reply.coupon) if reply.HasField("coupon") else None,
        detail=reply.detail,
    )


def _job_out(j: coupons_pb2.IssueJob) -> IssueJobOut:
    return IssueJobOut(
        id=j.id,
        template_id=j.template_id,
        segment_id=j.segment_id,
        state=j.state,
        members_seen=j.members_seen,
        issued=j.issued,
        skipped=j.skipped,
        detail=j.detail,
        started_at=_at(j.started_at),
        finished_at=_at(j.finished_at) if j.HasField("finished_at") else None,
    )


def _rule_out(r: coupons_pb2.Rule) -> RuleOut:
    return RuleOut(
        id=r.id,
        name=r.name,
        trigger=r.trigger,
        template_id=r.template_id,
        conditions=RuleConditionsOut(min_spend=r.conditions.min_spend, tiers=list(r.conditions.tiers)),
        day_of_month=r.day_of_month,
        segment_id=r.segment_id or None,
        active=r.active,
        created_at=_at(r.created_at),
    )


def _row(r: coupons_pb2.ReportRow) -> ReportRowOut:
    return ReportRowOut(key=r.key, redeemed=r.redeemed, discount=r.discount, revenue=r.revenue)


def _till_store(caller: Caller, store_id: str) -> str:
    """The store of a till request: the one sent, else the credential's; a credential restricted
    to a store may act only there."""
    store = store_id or caller.store_id or ""
    if caller.store_id and store != caller.store_id:
        raise Problem(
            403,
            "forbidden",
            "Forbidden",
            f"this credential is restricted to store {caller.store_id}",
            field="store_id",
        )
    return store


# --- Templates ---------------------------------------------------------------------------------


@router.post(
    "/coupon-templates",
    status_code=201,
    summary="Create a coupon template",
    description=(
        "What a coupon gives (`benefit`: an amount off, a percentage off in basis points, ¥X off "
        "per ¥Y spent, or a free gift), where it counts (`scope`), how long each coupon lasts "
        "(`validity`: a fixed window, a duration after issue, or until the end of the issuing "
        "day/month), how many and how much (`limits`), and who may claim it (`audience`). Money is "
        "in minor units. A template starts as a draft; activate it with `POST …/state`. "
        "Scope `coupons:admin`."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def create_template(
    body: TemplateBody, caller: AdminCoupons, clients: ClientsDep, request: Request, response: Response
) -> TemplateOut:
    reply = await clients.coupons.CreateTemplate(
        coupons_pb2.CreateTemplateRequest(
            tenant_id=caller.tenant_id, template=_template_fields(body, list(TemplateBody.model_fields))
        ),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    response.headers["Location"] = f"/v1/coupon-templates/{reply.id}"
    return template_out(reply)


@router.get(
    "/coupon-templates",
    summary="List coupon templates",
    description="The tenant's templates, optionally only those in one state. Scope `coupons:admin`.",
    responses=responses(400, 401, 403, 422, 429, 503),
)
async def list_templates(
    caller: AdminCoupons,
    clients: ClientsDep,
    request: Request,
    state: Annotated[TemplateStateName | None, Query(description="Only templates in this state")] = None,
) -> TemplateList:
    reply = await clients.coupons.ListTemplates(
        coupons_pb2.ListTemplatesRequest(tenant_id=caller.tenant_id, state=state or ""),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return TemplateList(items=[template_out(t) for t in reply.templates])


@router.get(
    "/coupon-templates/{template_id}",
    summary="Read a coupon template",
    description="With its stock used (`issued`) and budget used. Scope `coupons:admin`.",
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def get_template(
    template_id: TemplateId, caller: AdminCoupons, clients: ClientsDep, request: Request
) -> TemplateOut:
    reply = await clients.coupons.GetTemplate(
        coupons_pb2.GetTemplateRequest(tenant_id=caller.tenant_id, template_id=template_id),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return template_out(reply)


@router.patch(
    "/coupon-templates/{template_id}",
    summary="Change a coupon template",
    description=(
        "Only the fields sent change; a nested object (`limits`, `validity`, …) is replaced whole. "
        "Once the template has gone live, what a coupon gives (`benefit`, `scope`, `stackable`) is "
        "fixed (409): end it and create another. Coupons already issued keep the terms they were "
        "issued with. Stock cannot go below the coupons already issued. Scope `coupons:admin`."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def update_template(
    template_id: TemplateId,
    body: UpdateTemplateBody,
    caller: AdminCoupons,
    clients: ClientsDep,
    request: Request,
) -> TemplateOut:
    mask = [
        name
        for name in UpdateTemplateBody.model_fields
        if name in body.model_fields_set and getattr(body, name) is not None
    ]
    reply = await clients.coupons.UpdateTemplate(
        coupons_pb2.UpdateTemplateRequest(
            tenant_id=caller.tenant_id,
            template_id=template_id,
            template=_template_fields(body, mask),
            update_mask=mask,
        ),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return template_out(reply)


@router.post(
    "/coupon-templates/{template_id}/state",
    summary="Activate, pause or end a coupon template",
    description=(
        "draft → active ⇄ paused; any → ended, which is final (409 otherwise). Activating a "
        "segment-audience template copies the segment in the background (`audience_ready`). "
        "Scope `coupons:admin`."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def set_template_state(
    template_id: TemplateId,
    body: TemplateStateBody,
    caller: AdminCoupons,
    clients: ClientsDep,
    request: Request,
) -> TemplateOut:
    reply = await clients.coupons.SetTemplateState(
        coupons_pb2.SetTemplateStateRequest(
            tenant_id=caller.tenant_id, template_id=template_id, state=body.state
        ),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return template_out(reply)


@router.get(
    "/coupon-templates/{template_id}/report",
    summary="Report on a coupon template",
    description=(
        "Issued, claimed, shared, redeemed and expired coupons, the redemption rate, the discount "
        "given and the revenue of the receipts that used them, by store and by assistant. "
        "Scope `coupons:admin`."
    ),
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def get_template_report(
    template_id: TemplateId, caller: AdminCoupons, clients: ClientsDep, request: Request
) -> TemplateReportOut:
    r = await clients.coupons.GetTemplateReport(
        coupons_pb2.GetTemplateReportRequest(tenant_id=caller.tenant_id, template_id=template_id),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
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
        by_store=[_row(x) for x in r.by_store],
        by_staff=[_row(x) for x in r.by_staff],
    )


@router.post(
    "/coupon-templates/{template_id}/issue-jobs",
    status_code=202,
    summary="Issue a template to a segment",
    description=(
        "Gives every member of a segment a coupon, in the background: follow it at the `Location`. "
        "Each member gets at most one, stock is respected, and the job resumes after a restart. "
        "Starting the same `job_key` again returns that job. Scope `coupons:admin`."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def start_issue_job(
    template_id: TemplateId,
    body: IssueJobBody,
    caller: AdminCoupons,
    clients: ClientsDep,
    request: Request,
    response: Response,
) -> IssueJobOut:
    job = await clients.coupons.StartIssueJob(
        coupons_pb2.StartIssueJobRequest(
            tenant_id=caller.tenant_id,
            template_id=template_id,
            segment_id=body.segment_id,
            job_key=body.job_key,
        ),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    response.headers["Location"] = f"/v1/coupon-issue-jobs/{job.id}"
    return _job_out(job)


@router.get(
    "/coupon-issue-jobs/{job_id}",
    summary="Follow an issue job",
    description=(
        "Members seen, coupons issued, members skipped, and whether it is done. Scope `coupons:admin`."
    ),
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def get_issue_job(
    job_id: JobId, caller: AdminCoupons, clients: ClientsDep, request: Request
) -> IssueJobOut:
    job = await clients.coupons.GetIssueJob(
        coupons_pb2.GetIssueJobRequest(tenant_id=caller.tenant_id, job_id=job_id),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return _job_out(job)


# --- Rules -------------------------------------------------------------------------------------


@router.post(
    "/coupon-rules",
    status_code=201,
    summary="Create an automatic coupon rule",
    description=(
        "Issue a template when something happens: a member registers, a purchase is made (above "
        "`conditions.min_spend`), a birthday month starts, a referral converts (rewarding the "
        "referrer), or on a `day_of_month` to a segment (`schedule`). Once per triggering event. "
        "Scope `coupons:admin`."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def create_rule(
    body: RuleBody, caller: AdminCoupons, clients: ClientsDep, request: Request, response: Response
) -> RuleOut:
    rule = await clients.coupons.CreateRule(
        coupons_pb2.CreateRuleRequest(
            tenant_id=caller.tenant_id,
            rule=coupons_pb2.Rule(
                name=body.name,
                trigger=body.trigger,
                template_id=body.template_id,
                conditions=coupons_pb2.RuleConditions(
                    min_spend=body.conditions.min_spend, tiers=body.conditions.tiers
                ),
                day_of_month=body.day_of_month,
                segment_id=body.segment_id,
            ),
        ),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    response.headers["Location"] = f"/v1/coupon-rules/{rule.id}"
    return _rule_out(rule)


@router.get(
    "/coupon-rules",
    summary="List automatic coupon rules",
    description="The tenant's rules, active or not. Scope `coupons:admin`.",
    responses=responses(401, 403, 429, 503),
)
async def list_rules(caller: AdminCoupons, clients: ClientsDep, request: Request) -> RuleList:
    reply = await clients.coupons.ListRules(
        coupons_pb2.ListRulesRequest(tenant_id=caller.tenant_id),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return RuleList(items=[_rule_out(r) for r in reply.rules])


@router.post(
    "/coupon-rules/{rule_id}/active",
    summary="Switch a coupon rule on or off",
    description="An inactive rule issues nothing until switched on again. Scope `coupons:admin`.",
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def set_rule_active(
    rule_id: RuleId, body: RuleActiveBody, caller: AdminCoupons, clients: ClientsDep, request: Request
) -> RuleOut:
    rule = await clients.coupons.SetRuleActive(
        coupons_pb2.SetRuleActiveRequest(tenant_id=caller.tenant_id, rule_id=rule_id, active=body.active),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return _rule_out(rule)


# --- Issuing -----------------------------------------------------------------------------------

_CLAIMED = {"model": ClaimOut, "description": "Not issued: `outcome` says why (sold out, limit reached, …)"}


@router.post(
    "/coupon-templates/{template_id}/issue",
    status_code=201,
    summary="Give a member a coupon",
    description=(
        "Staff decide: the audience and `claimable` are not checked, but the template's state, "
        "stock and per-member limits are. 201 when issued; otherwise 200 with the `outcome` "
        "(`sold_out`, `limit_reached`, `not_available`). Idempotent on `issue_id`: a retry returns "
        "the same coupon. A staff session gives coupons to its own members. Scope `coupons:issue`."
    ),
    responses={200: _CLAIMED, **responses(400, 401, 403, 404, 409, 422, 429, 503)},
)
async def issue_coupon(
    template_id: TemplateId,
    body: IssueBody,
    caller: IssueCoupons,
    clients: ClientsDep,
    request: Request,
    response: Response,
) -> ClaimOut:
    await ensure_may_see_member(request, caller, body.member_id, must_exist=True)
    reply = await clients.coupons.IssueCoupon(
        coupons_pb2.IssueCouponRequest(
            tenant_id=caller.tenant_id,
            template_id=template_id,
            member_id=body.member_id,
            issue_id=body.issue_id,
            issued_by=caller.subject,
        ),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return _claim_out(reply, response)


@router.post(
    "/coupon-templates/{template_id}/compensations",
    status_code=201,
    summary="Compensate a member for a complaint",
    description=(
        "A coupon of this template for a complaint case, at most one per `case_id` (a retry "
        "returns it). 201 when issued; otherwise 200 with the `outcome`. A staff session "
        "compensates its own members. Scope `coupons:issue`."
    ),
    responses={200: _CLAIMED, **responses(400, 401, 403, 404, 409, 422, 429, 503)},
)
async def issue_compensation(
    template_id: TemplateId,
    body: CompensationBody,
    caller: IssueCoupons,
    clients: ClientsDep,
    request: Request,
    response: Response,
) -> ClaimOut:
    await ensure_may_see_member(request, caller, body.member_id, must_exist=True)
    reply = await clients.coupons.IssueCompensation(
        coupons_pb2.IssueCompensationRequest(
            tenant_id=caller.tenant_id,
            template_id=template_id,
            member_id=body.member_id,
            case_id=body.case_id,
        ),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return _claim_out(reply, response)


# --- A member's wallet -------------------------------------------------------------------------


@router.get(
    "/members/{member_id}/coupons",
    summary="Read a member's coupons",
    description=(
        "The member's wallet, newest first, optionally only coupons in the given states "
        "(`?state=available&state=locked`). Scope `coupons:read`; a member session sees its own."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def list_member_coupons(
    member: WalletMember,
    clients: ClientsDep,
    request: Request,
    state: Annotated[
        list[CouponStateName] | None, Query(max_length=5, description="Only coupons in these states")
    ] = None,
) -> CouponList:
    caller, member_id = member
    reply = await clients.coupons.ListMemberCoupons(
        coupons_pb2.ListMemberCouponsRequest(
            tenant_id=caller.tenant_id,
            member_id=member_id,
            states=[COUPON_STATES[s] for s in dict.fromkeys(state or [])],
        ),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return CouponList(items=[coupon_out(c) for c in reply.coupons])


@router.post(
    "/members/{member_id}/coupons/claims",
    status_code=201,
    summary="Claim a coupon",
    description=(
        "The member grabs a coupon of a claimable, active template. 201 with the coupon when "
        "issued; otherwise 200 with the `outcome`: `sold_out`, `limit_reached`, `not_eligible` "
        "(outside the audience) or `not_available` (not active, not claimable, or over). Scope "
        "`coupons:claim`; a member session claims for itself."
    ),
    responses={200: _CLAIMED, **responses(400, 401, 403, 404, 409, 422, 429, 503)},
)
async def claim_coupon(
    member: ClaimingMember, body: ClaimBody, clients: ClientsDep, request: Request, response: Response
) -> ClaimOut:
    caller, member_id = member
    reply = await clients.coupons.ClaimCoupon(
        coupons_pb2.ClaimCouponRequest(
            tenant_id=caller.tenant_id, template_id=body.template_id, member_id=member_id
        ),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return _claim_out(reply, response)


@router.post(
    "/members/{member_id}/coupons/{code}/share",
    status_code=201,
    summary="Share a coupon with a friend",
    description=(
        "A shareable coupon goes to another member: the original becomes `shared`, and the friend "
        "holds a new coupon with the same terms and expiry, which is returned. Sharing it again "
        "returns the friend's coupon. Scope `coupons:claim`; a member session shares its own."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def share_coupon(
    code: Code, member: ClaimingMember, body: ShareBody, clients: ClientsDep, request: Request
) -> CouponOut:
    caller, member_id = member
    # The friend must be a member of this tenant; coupons' own copy of members may not have
    # heard of someone who enrolled a moment ago, so ask members.
    await clients.members.GetMember(
        members_pb2.GetMemberRequest(tenant_id=caller.tenant_id, member_id=body.to_member_id),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    reply = await clients.coupons.ShareCoupon(
        coupons_pb2.ShareCouponRequest(
            tenant_id=caller.tenant_id, code=code, from_member_id=member_id, to_member_id=body.to_member_id
        ),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return coupon_out(reply)


# --- At the till -------------------------------------------------------------------------------


@router.post(
    "/coupons/validate",
    summary="Check a cart's coupons",
    description=(
        "Which of the member's coupons apply to this cart, what each would take off, why the "
        "others do not (`reason`), and the best combination the stacking rules allow "
        "(`suggested`). Changes nothing. A credential restricted to a store checks carts there "
        "only. Scope `coupons:redeem`."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def validate_cart(
    body: ValidateCartBody, caller: RedeemCoupons, clients: ClientsDep, request: Request
) -> ValidateCartOut:
    reply = await clients.coupons.ValidateCart(
        coupons_pb2.ValidateCartRequest(
            tenant_id=caller.tenant_id,
            member_id=body.member_id,
            store_id=_till_store(caller, body.store_id),
            lines=[coupons_pb2.CartLine(**line.model_dump()) for line in body.lines],
        ),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
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


@router.get(
    "/coupons/{code}",
    summary="Read a coupon by its code",
    description=(
        "What the till scans: the coupon, its state and terms. A mistyped code is a 400 on "
        "`code`. Scope `coupons:read`; a member session sees only its own coupons."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def get_coupon(code: Code, caller: ReadCoupons, clients: ClientsDep, request: Request) -> CouponOut:
    reply = await clients.coupons.GetCoupon(
        coupons_pb2.GetCouponRequest(tenant_id=caller.tenant_id, code=code),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    if not caller.may_act_for(reply.member_id):
        raise Problem(404, "not-found", "Not found", f"coupon {code} not found")
    return coupon_out(reply)


@router.post(
    "/coupons/{code}/lock",
    summary="Hold a coupon for a checkout",
    description=(
        "No other till can use the coupon until the checkout redeems or releases it, or the lock "
        "times out (`ttl_seconds`, default 5 minutes). 409 when it is spent, expired or held by "
        "another checkout. Scope `coupons:redeem`."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def lock_coupon(
    code: Code, body: LockBody, caller: RedeemCoupons, clients: ClientsDep, request: Request
) -> CouponOut:
    reply = await clients.coupons.LockCoupon(
        coupons_pb2.LockCouponRequest(
            tenant_id=caller.tenant_id,
            code=code,
            checkout_id=body.checkout_id,
            store_id=_till_store(caller, body.store_id),
            ttl_seconds=body.ttl_seconds,
        ),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return coupon_out(reply)


@router.post(
    "/coupons/{code}/redeem",
    summary="Redeem a coupon",
    description=(
        "Spends the coupon on a receipt. Idempotent on the receipt number: a retry returns the "
        "same redemption. 409 when it is spent, expired, locked by another checkout, or the "
        "template's budget cannot cover the discount. Scope `coupons:redeem`; send an "
        "`Idempotency-Key` to retry safely."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def redeem_coupon(
    code: Code, body: RedeemBody, caller: RedeemCoupons, clients: ClientsDep, request: Request
) -> CouponOut:
    reply = await clients.coupons.RedeemCoupon(
        coupons_pb2.RedeemCouponRequest(
            tenant_id=caller.tenant_id,
            code=code,
            receipt_no=body.receipt_no,
            store_id=_till_store(caller, body.store_id),
            checkout_id=body.checkout_id,
            staff_id=body.staff_id or (caller.subject if caller.kind == "staff" else ""),
            discount=body.discount,
            receipt_total=body.receipt_total,
            purchase_id=body.purchase_id,
        ),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return coupon_out(reply)


@router.post(
    "/coupons/{code}/release",
    summary="Release a locked coupon",
    description=(
        "The checkout was abandoned: the coupon is usable again. Releasing it twice is harmless. "
        "Scope `coupons:redeem`."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def release_coupon(
    code: Code, body: ReleaseBody, caller: RedeemCoupons, clients: ClientsDep, request: Request
) -> CouponOut:
    reply = await clients.coupons.ReleaseCoupon(
        coupons_pb2.ReleaseCouponRequest(tenant_id=caller.tenant_id, code=code, checkout_id=body.checkout_id),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return coupon_out(reply)
