"""Coupons at the till: check a cart, read a coupon by its code, lock, redeem, release.

A coupon that cannot be spent now (spent, expired, locked by another checkout) is a 409. A
credential restricted to a store acts at that store only (`deps.in_callers_store`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from gateway.deps import (
    CouponsDep,
    MembersDep,
    ReadCoupons,
    RedeemCoupons,
    ensure_may_see_member,
    in_callers_store,
)
from gateway.errors import Problem
from gateway.routers.coupon_paths import Code
from gateway.schemas.coupons import (
    CouponOut,
    LockBody,
    RedeemBody,
    ReleaseBody,
    ValidateCartBody,
    ValidateCartOut,
)
from gateway.schemas.problems import responses

router = APIRouter(prefix="/v1", tags=["coupons"])
CartAtStore = Annotated[ValidateCartBody, in_callers_store(ValidateCartBody)]
LockAtStore = Annotated[LockBody, in_callers_store(LockBody)]
RedeemAtStore = Annotated[RedeemBody, in_callers_store(RedeemBody)]


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
    caller: RedeemCoupons, body: CartAtStore, members: MembersDep, coupons: CouponsDep
) -> ValidateCartOut:
    await ensure_may_see_member(members, caller, body.member_id, must_exist=True)
    return await coupons.validate_cart(caller.tenant_id, body)


@router.get(
    "/coupons/{code}",
    summary="Read a coupon by its code",
    description=(
        "What the till scans: the coupon, its state and terms. A mistyped code is a 400 on "
        "`code`. Scope `coupons:read`; a member session sees only its own coupons."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def get_coupon(code: Code, caller: ReadCoupons, coupons: CouponsDep) -> CouponOut:
    coupon = await coupons.get_coupon(caller.tenant_id, code)
    if not caller.may_act_for(coupon.member_id):
        raise Problem(404, "not-found", "Not found", f"coupon {code} not found")
    return coupon


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
async def lock_coupon(code: Code, caller: RedeemCoupons, body: LockAtStore, coupons: CouponsDep) -> CouponOut:
    return await coupons.lock(caller.tenant_id, code, body)


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
    code: Code, caller: RedeemCoupons, body: RedeemAtStore, coupons: CouponsDep
) -> CouponOut:
    staff_id = body.staff_id or (caller.subject if caller.kind == "staff" else "")
    return await coupons.redeem(caller.tenant_id, code, body, staff_id)


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
    code: Code, body: ReleaseBody, caller: RedeemCoupons, coupons: CouponsDep
) -> CouponOut:
    return await coupons.release(caller.tenant_id, code, body.checkout_id)
