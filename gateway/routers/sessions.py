"""Member sessions for partner mini-programs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from regulars.members.v1 import members_pb2

from gateway.clients.channels import call_metadata
from gateway.deps import ClientsDep, OpenSessions
from gateway.schemas.problems import responses
from gateway.schemas.sessions import MemberSessionBody, MemberSessionOut

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])


@router.post(
    "/member",
    status_code=201,
    summary="Open a member session",
    description=(
        "A partner exchanges its API key (scope `sessions:member`) and the member's phone for a "
        "short-lived token. With it, a mini-program can see and act only for that member."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def open_member_session(
    body: MemberSessionBody, caller: OpenSessions, clients: ClientsDep, request: Request
) -> MemberSessionOut:
    member = await clients.members.FindMemberByPhone(
        members_pb2.FindMemberByPhoneRequest(tenant_id=caller.tenant_id, phone=body.phone),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    token, expires = request.app.state.auth.tokens.issue(caller.tenant_id, member.id)
    return MemberSessionOut(token=token, member_id=member.id, expires_at=expires)
