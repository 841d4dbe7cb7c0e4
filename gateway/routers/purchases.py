"""Purchases from the till, and a member's points."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from google.protobuf.timestamp_pb2 import Timestamp
from regulars.members.v1 import members_pb2

from gateway.clients.channels import call_metadata
from gateway.deps import ClientsDep, PointsMember, ReadMember, WritePurchases
from gateway.errors import Problem
from gateway.schemas.problems import responses
from gateway.schemas.purchases import (
    PointsEntryBody,
    PointsEntryOut,
    PointsEntryResult,
    PointsOut,
    PurchaseLineBody,
    PurchaseOut,
    RecordPurchaseBody,
    RefundBody,
    RefundLineBody,
    RefundOut,
)

router = APIRouter(prefix="/v1", tags=["purchases"])


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
    body: RecordPurchaseBody,
    caller: WritePurchases,
    clients: ClientsDep,
    request: Request,
    response: Response,
) -> PurchaseOut:
    if caller.store_id and body.store_id != caller.store_id:
        raise Problem(
            403,
            "forbidden",
            "Forbidden",
            f"this API key is restricted to store {caller.store_id}",
            field="store_id",
        )
    at = Timestamp()
    at.FromDatetime(body.occurred_at.astimezone(UTC))
    reply = await clients.members.RecordPurchase(
        members_pb2.RecordPurchaseRequest(
            tenant_id=caller.tenant_id,
            member_id=body.member_id,
            store_id=body.store_id,
            receipt_no=body.receipt_no,
            served_by_staff_id=body.served_by_staff_id,
            lines=[members_pb2.PurchaseLine(**line.model_dump()) for line in body.lines],
            coupon_codes=body.coupon_codes,
            occurred_at=at,
            currency=body.currency,
        ),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    p = reply.purchase
    response.status_code = 201 if reply.created else 200
    return PurchaseOut(
        id=p.id,
        member_id=p.member_id,
        store_id=p.store_id,
        receipt_no=p.receipt_no,
        served_by_staff_id=p.served_by_staff_id,
        credited_staff_id=p.credited_staff_id,
        lines=[
            PurchaseLineBody(
                sku=ln.sku,
                brand=ln.brand,
                category=ln.category,
                quantity=ln.quantity,
                list_price=ln.list_price,
                paid_price=ln.paid_price,
            )
            for ln in p.lines
        ],
        coupon_codes=list(p.coupon_codes),
        currency=p.total_paid.currency,
        total_list=p.total_list.minor_units,
        total_paid=p.total_paid.minor_units,
        points_awarded=p.points_awarded,
        occurred_at=p.occurred_at.ToDatetime(tzinfo=UTC),
        created=reply.created,
    )


@router.get(
    "/members/{member_id}/points",
    summary="Read a member's points",
    description=(
        "Balance, tier and the latest ledger entries. Scope `members:read`; a member session sees its own."
    ),
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def get_points(member: ReadMember, clients: ClientsDep, request: Request) -> PointsOut:
    caller, member_id = member
    reply = await clients.members.GetPoints(
        members_pb2.GetPointsRequest(tenant_id=caller.tenant_id, member_id=member_id),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return PointsOut(
        member_id=reply.member_id,
        balance=reply.balance,
        tier=reply.tier,
        entries=[
            PointsEntryOut(
                id=e.id, delta=e.delta, reason=e.reason, source=e.source, at=e.at.ToDatetime(tzinfo=UTC)
            )
            for e in reply.entries
        ],
    )


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
    member: PointsMember, body: PointsEntryBody, clients: ClientsDep, request: Request, response: Response
) -> PointsEntryResult:
    caller, member_id = member
    reply = await clients.members.AdjustPoints(
        members_pb2.AdjustPointsRequest(
            tenant_id=caller.tenant_id,
            member_id=member_id,
            delta=body.delta,
            reason=body.reason,
            source_id=body.source_id,
        ),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    response.status_code = 201 if reply.applied else 200
    return PointsEntryResult(balance=reply.balance, applied=reply.applied)


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
    clients: ClientsDep,
    request: Request,
    response: Response,
) -> RefundOut:
    at = Timestamp()
    at.FromDatetime(body.occurred_at.astimezone(UTC))
    reply = await clients.members.RefundPurchase(
        members_pb2.RefundPurchaseRequest(
            tenant_id=caller.tenant_id,
            purchase_id=purchase_id,
            refund_id=body.refund_id,
            occurred_at=at,
            lines=[members_pb2.RefundLine(**line.model_dump()) for line in body.lines or []],
        ),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    response.status_code = 201 if reply.created else 200
    return RefundOut(
        purchase_id=reply.purchase_id,
        refund_id=reply.refund_id,
        lines=[RefundLineBody(sku=ln.sku, quantity=ln.quantity, amount=ln.amount) for ln in reply.lines],
        currency=reply.amount.currency,
        amount=reply.amount.minor_units,
        points_reversed=reply.points_reversed,
        created=reply.created,
    )
