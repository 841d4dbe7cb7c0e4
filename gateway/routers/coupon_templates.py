"""Coupon templates for marketing: what a coupon gives, where, for how long, how many; reports.

Thin over gRPC `CouponsService` (see `clients/coupons.py`): validate, call one method, return.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from gateway.deps import AdminCoupons, CouponsDep
from gateway.routers.coupon_paths import TemplateId
from gateway.schemas.coupons import (
    TemplateBody,
    TemplateList,
    TemplateOut,
    TemplateReportOut,
    TemplateStateBody,
    TemplateStateName,
    UpdateTemplateBody,
)
from gateway.schemas.problems import responses

router = APIRouter(prefix="/v1", tags=["coupons"])


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
    body: TemplateBody, caller: AdminCoupons, coupons: CouponsDep, response: Response
) -> TemplateOut:
    template = await coupons.create_template(caller.tenant_id, body)
    response.headers["Location"] = f"/v1/coupon-templates/{template.id}"
    return template


@router.get(
    "/coupon-templates",
    summary="List coupon templates",
    description="The tenant's templates, optionally only those in one state. Scope `coupons:admin`.",
    responses=responses(400, 401, 403, 422, 429, 503),
)
async def list_templates(
    caller: AdminCoupons,
    coupons: CouponsDep,
    state: Annotated[TemplateStateName | None, Query(description="Only templates in this state")] = None,
) -> TemplateList:
    return TemplateList(items=await coupons.list_templates(caller.tenant_id, state or ""))


@router.get(
    "/coupon-templates/{template_id}",
    summary="Read a coupon template",
    description="With its stock used (`issued`) and budget used. Scope `coupons:admin`.",
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def get_template(template_id: TemplateId, caller: AdminCoupons, coupons: CouponsDep) -> TemplateOut:
    return await coupons.get_template(caller.tenant_id, template_id)


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
    template_id: TemplateId, body: UpdateTemplateBody, caller: AdminCoupons, coupons: CouponsDep
) -> TemplateOut:
    return await coupons.update_template(caller.tenant_id, template_id, body)


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
    template_id: TemplateId, body: TemplateStateBody, caller: AdminCoupons, coupons: CouponsDep
) -> TemplateOut:
    return await coupons.set_template_state(caller.tenant_id, template_id, body.state)


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
    template_id: TemplateId, caller: AdminCoupons, coupons: CouponsDep
) -> TemplateReportOut:
    return await coupons.template_report(caller.tenant_id, template_id)
