"""Directory routes: stores, their staff, and handing a leaving assistant's members over."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from regulars.members.v1 import members_pb2

from gateway.clients.channels import call_metadata
from gateway.deps import ClientsDep, ReadDirectory, WriteDirectory
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

_ROLE_TO_PB: dict[Literal["assistant", "manager"], members_pb2.StaffRole.ValueType] = {
    "assistant": members_pb2.STAFF_ROLE_ASSISTANT,
    "manager": members_pb2.STAFF_ROLE_MANAGER,
}
_ROLE_FROM_PB = {v: k for k, v in _ROLE_TO_PB.items()}


def _store(s: members_pb2.Store) -> StoreOut:
    return StoreOut(code=s.code, name=s.name, city=s.city, created_at=s.created_at.ToDatetime(tzinfo=UTC))


def _staff(s: members_pb2.Staff) -> StaffOut:
    return StaffOut(
        id=s.id,
        store_code=s.store_code,
        name=s.name,
        role=_ROLE_FROM_PB[s.role],
        status="left" if s.status == members_pb2.STAFF_STATUS_LEFT else "active",
        referral_codes=list(s.referral_codes),
        successor_id=s.successor_id or None,
    )


def _handover(h: members_pb2.Handover) -> HandoverOut:
    return HandoverOut(
        id=h.id,
        from_staff_id=h.from_staff_id,
        to_staff_id=h.to_staff_id,
        state="done" if h.state == members_pb2.HANDOVER_STATE_DONE else "running",
        members_moved=h.members_moved,
        requested_by=h.requested_by,
        started_at=h.started_at.ToDatetime(tzinfo=UTC),
        finished_at=h.finished_at.ToDatetime(tzinfo=UTC) if h.HasField("finished_at") else None,
    )


@router.post(
    "/stores",
    status_code=201,
    summary="Create a store",
    description="Idempotent on the store code: creating it again returns the store. Scope `directory:write`.",
    responses=responses(400, 401, 403, 422, 429, 503),
)
async def create_store(
    body: CreateStoreBody, caller: WriteDirectory, clients: ClientsDep, request: Request
) -> StoreOut:
    store = await clients.members.CreateStore(
        members_pb2.CreateStoreRequest(
            tenant_id=caller.tenant_id, code=body.code, name=body.name, city=body.city
        ),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return _store(store)


@router.get(
    "/stores",
    summary="List stores",
    description="The tenant's stores. Scope `directory:read`.",
    responses=responses(401, 403, 429, 503),
)
async def list_stores(caller: ReadDirectory, clients: ClientsDep, request: Request) -> StoreList:
    reply = await clients.members.ListStores(
        members_pb2.ListStoresRequest(tenant_id=caller.tenant_id),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return StoreList(items=[_store(s) for s in reply.stores])


@router.post(
    "/stores/{store_code}/staff",
    status_code=201,
    summary="Add a shop assistant or manager",
    description="The new staff member gets a personal badge code (QR): customers enrolled with it are "
    "theirs. Scope `directory:write`.",
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def add_staff(
    store_code: StoreCode, body: AddStaffBody, caller: WriteDirectory, clients: ClientsDep, request: Request
) -> StaffOut:
    staff = await clients.members.AddStaff(
        members_pb2.AddStaffRequest(
            tenant_id=caller.tenant_id, store_code=store_code, name=body.name, role=_ROLE_TO_PB[body.role]
        ),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return _staff(staff)


@router.get(
    "/staff",
    summary="List staff",
    description="The tenant's staff, or one store's. Scope `directory:read`.",
    responses=responses(401, 403, 422, 429, 503),
)
async def list_staff(
    caller: ReadDirectory,
    clients: ClientsDep,
    request: Request,
    store_code: Annotated[str, Query(max_length=32, description="Only this store")] = "",
) -> StaffList:
    reply = await clients.members.ListStaff(
        members_pb2.ListStaffRequest(tenant_id=caller.tenant_id, store_code=store_code),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return StaffList(items=[_staff(s) for s in reply.staff])


@router.get(
    "/staff/{staff_id}",
    summary="Read a staff member",
    description="Scope `directory:read`.",
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def get_staff(
    staff_id: StaffId, caller: ReadDirectory, clients: ClientsDep, request: Request
) -> StaffOut:
    staff = await clients.members.GetStaff(
        members_pb2.GetStaffRequest(tenant_id=caller.tenant_id, staff_id=staff_id),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return _staff(staff)


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
    staff_id: StaffId, body: StartHandoverBody, caller: WriteDirectory, clients: ClientsDep, request: Request
) -> HandoverOut:
    handover = await clients.members.StartHandover(
        members_pb2.StartHandoverRequest(
            tenant_id=caller.tenant_id,
            from_staff_id=staff_id,
            to_staff_id=body.to_staff_id,
            requested_by=f"{caller.kind}:{caller.subject}",
        ),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return _handover(handover)


@router.get(
    "/handovers/{handover_id}",
    summary="Follow a handover",
    description="Progress and outcome, kept as the audit trail. Scope `directory:read`.",
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def get_handover(
    handover_id: HandoverId, caller: ReadDirectory, clients: ClientsDep, request: Request
) -> HandoverOut:
    handover = await clients.members.GetHandover(
        members_pb2.GetHandoverRequest(tenant_id=caller.tenant_id, handover_id=handover_id),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return _handover(handover)
