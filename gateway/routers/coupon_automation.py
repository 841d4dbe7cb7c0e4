"""Coupons issued without a person deciding each one: issue jobs to a segment, automatic rules."""

from __future__ import annotations

from fastapi import APIRouter, Response

from gateway.deps import AdminCoupons, CouponsDep
from gateway.routers.coupon_paths import JobId, RuleId, TemplateId
from gateway.schemas.coupons import IssueJobBody, IssueJobOut, RuleActiveBody, RuleBody, RuleList, RuleOut
from gateway.schemas.problems import responses

router = APIRouter(prefix="/v1", tags=["coupons"])

# --- Issue jobs --------------------------------------------------------------------------------


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
    template_id: TemplateId, body: IssueJobBody, caller: AdminCoupons, coupons: CouponsDep, response: Response
) -> IssueJobOut:
    job = await coupons.start_issue_job(caller.tenant_id, template_id, body.segment_id, body.job_key)
    response.headers["Location"] = f"/v1/coupon-issue-jobs/{job.id}"
    return job


@router.get(
    "/coupon-issue-jobs/{job_id}",
    summary="Follow an issue job",
    description=(
        "Members seen, coupons issued, members skipped, and whether it is done. Scope `coupons:admin`."
    ),
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def get_issue_job(job_id: JobId, caller: AdminCoupons, coupons: CouponsDep) -> IssueJobOut:
    return await coupons.get_issue_job(caller.tenant_id, job_id)


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
    body: RuleBody, caller: AdminCoupons, coupons: CouponsDep, response: Response
) -> RuleOut:
    rule = await coupons.create_rule(caller.tenant_id, body)
    response.headers["Location"] = f"/v1/coupon-rules/{rule.id}"
    return rule


@router.get(
    "/coupon-rules",
    summary="List automatic coupon rules",
    description="The tenant's rules, active or not. Scope `coupons:admin`.",
    responses=responses(401, 403, 429, 503),
)
async def list_rules(caller: AdminCoupons, coupons: CouponsDep) -> RuleList:
    return RuleList(items=await coupons.list_rules(caller.tenant_id))


@router.post(
    "/coupon-rules/{rule_id}/active",
    summary="Switch a coupon rule on or off",
    description="An inactive rule issues nothing until switched on again. Scope `coupons:admin`.",
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def set_rule_active(
    rule_id: RuleId, body: RuleActiveBody, caller: AdminCoupons, coupons: CouponsDep
) -> RuleOut:
    return await coupons.set_rule_active(caller.tenant_id, rule_id, body.active)
