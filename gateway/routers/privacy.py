"""Personal-information requests: export a member's data, erase a member."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.deps import MembersDep, PrivacyMember
from gateway.schemas.privacy import ErasureBody, ErasureOut, ExportOut
from gateway.schemas.problems import responses

router = APIRouter(prefix="/v1/members", tags=["privacy"])


@router.get(
    "/{member_id}/export",
    summary="Export a member's data",
    description="Everything stored about the member, for an access request. Scope `members:privacy`.",
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def export_member(member: PrivacyMember, members: MembersDep) -> ExportOut:
    caller, member_id = member
    return await members.export(caller.tenant_id, member_id)


@router.post(
    "/{member_id}/erasure",
    summary="Erase a member",
    description=(
        "Personal data is anonymised everywhere (the member record; messaging forgets its messages; "
        "feedback scrubs their reviews, cases, threads and survey answers, keeping ratings and scores); "
        "purchases, spend and points stay as aggregates. Idempotent. Scope `members:privacy`."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def erase_member(body: ErasureBody, member: PrivacyMember, members: MembersDep) -> ErasureOut:
    caller, member_id = member
    return await members.erase(caller.tenant_id, member_id, body.reason)
