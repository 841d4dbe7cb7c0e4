"""Personal-information requests: export a member's data, erase a member."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from regulars.members.v1 import members_pb2

from gateway.clients.channels import call_metadata
from gateway.deps import ClientsDep, PrivacyMember
from gateway.schemas.problems import responses

router = APIRouter(prefix="/v1/members", tags=["privacy"])


class ErasureBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "PIPL request 2026-118"}]}
    )

    reason: str = Field(min_length=1, max_length=200, description="For the audit trail")


class ErasureOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"member_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAE", "erased_now": True}]}
    )

    member_id: str
    erased_now: bool = Field(description="False when the member had already been erased")


class ExportOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"member_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAE", "data": {"member": {}, "purchases": []}}]
        }
    )

    member_id: str
    data: dict[str, Any] = Field(description="The member record, purchases, points ledger, consent history")


@router.get(
    "/{member_id}/export",
    summary="Export a member's data",
    description="Everything stored about the member, for an access request. Scope `members:privacy`.",
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def export_member(member: PrivacyMember, clients: ClientsDep, request: Request) -> ExportOut:
    caller, member_id = member
    reply = await clients.members.ExportMember(
        members_pb2.ExportMemberRequest(tenant_id=caller.tenant_id, member_id=member_id),
        timeout=clients.timeout * 5,
        metadata=call_metadata(request),
    )
    return ExportOut(member_id=reply.member_id, data=json.loads(reply.json))


@router.post(
    "/{member_id}/erasure",
    summary="Erase a member",
    description=(
        "Personal data is anonymised everywhere (the member record; messaging forgets its messages); "
        "purchases, spend and points stay as aggregates. Idempotent. Scope `members:privacy`."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def erase_member(
    body: ErasureBody, member: PrivacyMember, clients: ClientsDep, request: Request
) -> ErasureOut:
    caller, member_id = member
    reply = await clients.members.EraseMember(
        members_pb2.EraseMemberRequest(tenant_id=caller.tenant_id, member_id=member_id, reason=body.reason),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return ErasureOut(member_id=reply.member_id, erased_now=reply.erased_now)
