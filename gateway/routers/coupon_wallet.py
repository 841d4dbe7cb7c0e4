"""Coupons for one member: staff give them, the member claims and shares them, the wallet.

A refusal to issue (sold out, limit reached, not eligible, not available) is an answer with an
outcome (200), not an error.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from gateway.deps import (
    Claimant,
    ClaimingMember,
    CouponsDep,
    IssueCoupons,
    MembersDep,
    WalletMember,
    ensure_may_see_member,
)
from gateway.routers.coupon_paths import Code, TemplateId
from gateway.schemas.coupons import (
    ClaimBody,
    ClaimOut,
    CompensationBody,
    CouponList,
    CouponOut,
    CouponStateName,
    IssueBody,
    ShareBody,
)
from gateway.schemas.problems import responses

router = APIRouter(prefix="/v1", tags=["coupons"])

_CLAIMED = {"model": ClaimOut, "description": "Not issued: `outcome` says why (sold out, limit reached, …)"}


def _answered(claim: ClaimOut, response: Response) -> ClaimOut:
    response.status_code = 201 if claim.outcome == "issued" else 200
    return claim


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
    members: MembersDep,
    coupons: CouponsDep,
    response: Response,
) -> ClaimOut:
    await ensure_may_see_member(members, caller, body.member_id, must_exist=True)
    claim = await coupons.issue(caller.tenant_id, template_id, body.member_id, body.issue_id, caller.subject)
    return _answered(claim, response)


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
    members: MembersDep,
    coupons: CouponsDep,
    response: Response,
) -> ClaimOut:
    await ensure_may_see_member(members, caller, body.member_id, must_exist=True)
    claim = await coupons.compensate(caller.tenant_id, template_id, body.member_id, body.case_id)
    return _answered(claim, response)


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
    coupons: CouponsDep,
    state: Annotated[
        list[CouponStateName] | None, Query(max_length=5, description="Only coupons in these states")
    ] = None,
) -> CouponList:
    caller, member_id = member
    return CouponList(items=await coupons.wallet(caller.tenant_id, member_id, state or []))


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
    member: Claimant, body: ClaimBody, coupons: CouponsDep, response: Response
) -> ClaimOut:
    caller, member_id = member
    return _answered(await coupons.claim(caller.tenant_id, body.template_id, member_id), response)


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
    code: Code, member: ClaimingMember, body: ShareBody, members: MembersDep, coupons: CouponsDep
) -> CouponOut:
    caller, member_id = member
    # The friend must be a member of this tenant; coupons' own copy of members may not have
    # heard of someone who enrolled a moment ago, so ask members.
    await members.get(caller.tenant_id, body.to_member_id)
    return await coupons.share(caller.tenant_id, code, member_id, body.to_member_id)
