"""Directory routes: stores, their staff, and handing a leaving assistant's members over."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from gateway.deps import MembersDep, ReadDirectory, WriteDirectory
from gateway.schemas.directory import (
    AddStaffBody,
    CreateStoreBody,
    HandoverOut,
    StaffList,
    StaffOut,
    StartHandoverBody,
    StoreList,
    StoreOut,
)
from gateway.schemas.problems import responses

router = APIRouter(prefix="/v1", tags=["directory"])
StoreCode = Annotated[str, Path(min_length=1, max_length=32, description="Store code")]
StaffId = Annotated[str, Path(min_length=1, max_length=64, description="Staff id")]
HandoverId = Annotated[str, Path(min_length=1, max_length=64, description="Handover id")]


@router.post(
    "/stores",
    status_code=201,
    summary="Create a store",
    description="Idempotent on the store code: creating it again returns the store. Scope `directory:write`.",
    responses=responses(400, 401, 403, 422, 429, 503),
)
async def create_store(body: CreateStoreBody, caller: WriteDirectory, members: MembersDep) -> StoreOut:
    return await members.create_store(caller.tenant_id, body)


@router.get(
    "/stores",
    summary="List stores",
    description="The tenant's stores. Scope `directory:read`.",
    responses=responses(401, 403, 429, 503),
)
async def list_stores(caller: ReadDirectory, members: MembersDep) -> StoreList:
    return StoreList(items=await members.list_stores(caller.tenant_id))


@router.post(
    "/stores/{store_code}/staff",
    status_code=201,
    summary="Add a shop assistant or manager",
    description="The new staff member gets a personal badge code (QR): customers enrolled with it are "
    "theirs. Scope `directory:write`.",
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def add_staff(
    store_code: StoreCode, body: AddStaffBody, caller: WriteDirectory, members: MembersDep
) -> StaffOut:
    return await members.add_staff(caller.tenant_id, store_code, body)


@router.get(
    "/staff",
    summary="List staff",
    description="The tenant's staff, or one store's. Scope `directory:read`.",
    responses=responses(401, 403, 422, 429, 503),
)
async def list_staff(
    caller: ReadDirectory,
    members: MembersDep,
    store_code: Annotated[str, Query(max_length=32, description="Only this store")] = "",
) -> StaffList:
    return StaffList(items=await members.list_staff(caller.tenant_id, store_code))


@router.get(
    "/staff/{staff_id}",
    summary="Read a staff member",
    description="Scope `directory:read`.",
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def get_staff(staff_id: StaffId, caller: ReadDirectory, members: MembersDep) -> StaffOut:
    return await members.get_staff(caller.tenant_id, staff_id)


@router.post(
    "/staff/{staff_id}/handover",
    status_code=202,
    summary="Hand a leaving assistant's members over",
    description="Everything the assistant owns — members, their badge codes, open work — passes to the "
    "successor at once; each member is then announced (member_staff_assigned) in the "
    "background. Asking again returns the same handover. Scope `directory:write`.",
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def start_handover(
    staff_id: StaffId, body: StartHandoverBody, caller: WriteDirectory, members: MembersDep
) -> HandoverOut:
    requested_by = f"{caller.kind}:{caller.subject}"
    return await members.start_handover(caller.tenant_id, staff_id, body.to_staff_id, requested_by)


@router.get(
    "/handovers/{handover_id}",
    summary="Follow a handover",
    description="Progress and outcome, kept as the audit trail. Scope `directory:read`.",
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def get_handover(handover_id: HandoverId, caller: ReadDirectory, members: MembersDep) -> HandoverOut:
    return await members.get_handover(caller.tenant_id, handover_id)
