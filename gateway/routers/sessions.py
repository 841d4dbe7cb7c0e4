"""Member sessions for partner mini-programs, staff sessions for the assistants' app."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gateway.deps import MembersDep, OpenSessions, OpenStaffSessions
from gateway.errors import Problem
from gateway.member_tokens import MemberTokens
from gateway.schemas.problems import responses
from gateway.schemas.sessions import MemberSessionBody, MemberSessionOut, StaffSessionBody, StaffSessionOut

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])


def _tokens(request: Request) -> MemberTokens:
    tokens: MemberTokens = request.app.state.auth.tokens
    return tokens


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
    body: MemberSessionBody, caller: OpenSessions, members: MembersDep, request: Request
) -> MemberSessionOut:
    member = await members.find(caller.tenant_id, phone=body.phone, openid=body.openid)
    token, expires = _tokens(request).issue(caller.tenant_id, member.id)
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
    body: StaffSessionBody, caller: OpenStaffSessions, members: MembersDep, request: Request
) -> StaffSessionOut:
    staff = await members.get_staff(caller.tenant_id, body.staff_id)
    if staff.status == "left":
        raise Problem(
            409, "conflict", "Staff member has left", f"{staff.name} has left; their successor signs in"
        )
    token, expires = _tokens(request).issue_staff(caller.tenant_id, staff.id, staff.role, staff.store_code)
    return StaffSessionOut(
        token=token, staff_id=staff.id, role=staff.role, store_code=staff.store_code, expires_at=expires
    )
