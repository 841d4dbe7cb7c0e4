"""Purchases from the till, and a member's points."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from gateway.deps import MembersDep, PointsMember, ReadMember, WritePurchases, in_callers_store
from gateway.schemas.problems import responses
from gateway.schemas.purchases import (
    PointsEntryBody,
    PointsEntryResult,
    PointsOut,
    PurchaseOut,
    RecordPurchaseBody,
    RefundBody,
    RefundOut,
)

router = APIRouter(prefix="/v1", tags=["purchases"])
PurchaseAtStore = Annotated[RecordPurchaseBody, in_callers_store(RecordPurchaseBody)]


@router.post(
    "/purchases",
    status_code=201,
    summary="Record a purchase",
    description=(
        "A till receipt for a member. Idempotent on (store, receipt number): a retry answers 200 "
        "with the first purchase. It is credited to the member's owning assistant (else whoever "
        "served), earns points and updates the member's statistics and tier. Scope `purchases:write`."
    ),
    responses={
        200: {"model": PurchaseOut, "description": "Already recorded"},
        **responses(400, 401, 403, 404, 422, 429, 503),
    },
)
async def record_purchase(
    caller: WritePurchases, body: PurchaseAtStore, members: MembersDep, response: Response
) -> PurchaseOut:
    purchase = await members.record_purchase(caller.tenant_id, body)
    response.status_code = 201 if purchase.created else 200
    return purchase


@router.get(
    "/members/{member_id}/points",
    summary="Read a member's points",
    description=(
        "Balance, tier and the latest ledger entries. Scope `members:read`; a member session sees its own."
    ),
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def get_points(member: ReadMember, members: MembersDep) -> PointsOut:
    caller, member_id = member
    return await members.points(caller.tenant_id, member_id)


@router.post(
    "/members/{member_id}/points/entries",
    status_code=201,
    summary="Grant or take points",
    description=(
        "A ledger entry for anything but a purchase: a daily sign-in, a review, a survey answer, "
        "a share (these add), a gift redemption (takes) or a manual adjustment (either way). "
        "Counted once per (reason, source_id): a repeat answers 200 with `applied: false`. The "
        "balance never goes below zero (409). Scope `points:write`."
    ),
    responses={
        200: {"model": PointsEntryResult, "description": "Already counted"},
        **responses(400, 401, 403, 404, 409, 422, 429, 503),
    },
)
async def add_points_entry(
    member: PointsMember, body: PointsEntryBody, members: MembersDep, response: Response
) -> PointsEntryResult:
    caller, member_id = member
    result = await members.adjust_points(caller.tenant_id, member_id, body)
    response.status_code = 201 if result.applied else 200
    return result


@router.post(
    "/purchases/{purchase_id}/refunds",
    status_code=201,
    summary="Refund a purchase",
    description=(
        "Part or all of a purchase (omit `lines` for everything not refunded yet). Idempotent on the "
        "refund id (a retry answers 200). Never gives back more per SKU than was paid; reverses points "
        "proportionally (never below zero) and the spend. Scope `purchases:write`."
    ),
    responses={
        200: {"model": RefundOut, "description": "Already recorded"},
        **responses(400, 401, 403, 404, 409, 422, 429, 503),
    },
)
async def refund_purchase(
    purchase_id: Annotated[str, Path(min_length=1, max_length=64, description="Purchase id")],
    body: RefundBody,
    caller: WritePurchases,
    members: MembersDep,
    response: Response,
) -> RefundOut:
    refund = await members.refund(caller.tenant_id, purchase_id, body)
    response.status_code = 201 if refund.created else 200
    return refund
