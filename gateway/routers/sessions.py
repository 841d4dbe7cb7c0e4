"""Member sessions for partner mini-programs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from regulars.members.v1 import members_pb2

from gateway.clients.channels import call_metadata
from gateway.deps import ClientsDep, OpenSessions, OpenStaffSessions
from gateway.errors import Problem
from gateway.schemas.problems import responses
from gateway.schemas.sessions import MemberSessionBody, MemberSessionOut, StaffSessionBody, StaffSessionOut

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])


@router.post(
    "/member",
    status_code=201,
    summary="Open a member session",
    description=(
        "A partner exchanges its API key (scope `sessions:member`) and the member's phone (or "
        "WeChat openid) for a "
        "short-lived token. With it, a mini-program can see and act only for that member."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def open_member_session(
    body: MemberSessionBody, caller: OpenSessions, clients: ClientsDep, request: Request
) -> MemberSessionOut:
    if body.openid:
        member = await clients.members.FindMemberByOpenid(
            members_pb2.FindMemberByOpenidRequest(tenant_id=caller.tenant_id, openid=body.openid),
            timeout=clients.timeout,
            metadata=call_metadata(request),
        )
    else:
        member = await clients.members.FindMemberByPhone(
            members_pb2.FindMemberByPhoneRequest(tenant_id=caller.tenant_id, phone=body.phone),
            timeout=clients.timeout,
            metadata=call_metadata(request),
        )
    token, expires = request.app.state.auth.tokens.issue(caller.tenant_id, member.id)
    return MemberSessionOut(token=token, member_id=member.id, expires_at=expires)


@router.post(
    "/staff",
    status_code=201,
    summary="Open a staff session",
    description=(
        "The assistants' app exchanges its API key (scope `sessions:staff`) and the signed-in staff "
        "member's id for a short-lived token scoped to that person's store: an assistant sees the "
        "members they look after, a manager their store's members. Customers an assistant enrols "
        "are theirs."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def open_staff_session(
    body: StaffSessionBody, caller: OpenStaffSessions, clients: ClientsDep, request: Request
) -> StaffSessionOut:
    staff = await clients.members.GetStaff(
        members_pb2.GetStaffRequest(tenant_id=caller.tenant_id, staff_id=body.staff_id),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    if staff.status == members_pb2.STAFF_STATUS_LEFT:
        raise Problem(
            409, "conflict", "Staff member has left", f"{staff.name} has left; their successor signs in"
        )
    role = "manager" if staff.role == members_pb2.STAFF_ROLE_MANAGER else "assistant"
    token, expires = request.app.state.auth.tokens.issue_staff(
        caller.tenant_id, staff.id, role, staff.store_code
    )
    return StaffSessionOut(
        token=token, staff_id=staff.id, role=role, store_code=staff.store_code, expires_at=expires
    )
