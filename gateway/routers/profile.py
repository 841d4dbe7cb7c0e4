"""A member's profile, consent and blacklist; inbound SMS replies ("reply T")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from regulars.members.v1 import members_pb2

from gateway.clients.channels import call_metadata
from gateway.deps import ClientsDep, ManageMember, WriteConsent, WriteConsentKey
from gateway.schemas.members import birthday_out
from gateway.schemas.problems import responses
from gateway.schemas.profile import (
    BlacklistBody,
    Channel,
    ConsentBody,
    ProfileOut,
    SmsReplyBody,
    SmsReplyOut,
    UpdateProfileBody,
)

router = APIRouter(prefix="/v1", tags=["profile"])


def profile_out(m: members_pb2.Member) -> ProfileOut:
    birthday = birthday_out(m.birthday.month, m.birthday.day, m.birthday.year)
    return ProfileOut(
        id=m.id,
        name=m.name,
        surname=m.surname,
        gender=m.gender or "unknown",
        birthday=birthday,
        tags=list(m.tags),
        notes=m.notes,
        preferred_channel=m.preferred_channel,
        consent=dict(m.consent),
        blacklisted=bool(m.blacklist_reason),
    )


@router.patch(
    "/members/{member_id}",
    summary="Change a member's profile",
    description="Only the fields sent change. Scope `members:write`.",
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def update_profile(
    body: UpdateProfileBody, member: ManageMember, clients: ClientsDep, request: Request
) -> ProfileOut:
    caller, member_id = member
    req = members_pb2.UpdateProfileRequest(tenant_id=caller.tenant_id, member_id=member_id)
    for name in ("name", "surname", "gender", "notes", "preferred_channel"):
        value = getattr(body, name)
        if value is not None:
            setattr(req, name, value)
    if body.birthday is not None:
        req.birthday.CopyFrom(
            members_pb2.Birthday(
                month=body.birthday.month, day=body.birthday.day, year=body.birthday.year or 0
            )
        )
    if body.tags is not None:
        req.tags.extend(body.tags)
        req.replace_tags = True
    reply = await clients.members.UpdateProfile(req, timeout=clients.timeout, metadata=call_metadata(request))
    return profile_out(reply)


@router.put(
    "/members/{member_id}/consent/{channel}",
    summary="Grant or withdraw consent for a channel",
    description=(
        "Every change is kept with its time and source, and messaging stops using a withdrawn "
        "channel. Scope `members:consent` (a member session may change its own)."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def set_consent(
    channel: Annotated[Channel, Path(description="sms, wechat, app or phone")],
    body: ConsentBody,
    member: WriteConsent,
    clients: ClientsDep,
    request: Request,
) -> ProfileOut:
    caller, member_id = member
    source = body.source or ("mini_program" if caller.kind == "member" else caller.kind)
    reply = await clients.members.SetConsent(
        members_pb2.SetConsentRequest(
            tenant_id=caller.tenant_id,
            member_id=member_id,
            channel=channel,
            granted=body.granted,
            source=source,
        ),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return profile_out(reply)


@router.put(
    "/members/{member_id}/blacklist",
    summary="Blacklist a member",
    description="With a reason (e.g. a confirmed extortionist): they drop out of segments and campaigns. "
    "Scope `members:write`.",
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def blacklist(
    body: BlacklistBody, member: ManageMember, clients: ClientsDep, request: Request
) -> ProfileOut:
    caller, member_id = member
    reply = await clients.members.SetBlacklist(
        members_pb2.SetBlacklistRequest(tenant_id=caller.tenant_id, member_id=member_id, reason=body.reason),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return profile_out(reply)


@router.delete(
    "/members/{member_id}/blacklist",
    status_code=204,
    summary="Take a member off the blacklist",
    description="Scope `members:write`.",
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def unblacklist(member: ManageMember, clients: ClientsDep, request: Request) -> Response:
    caller, member_id = member
    await clients.members.SetBlacklist(
        members_pb2.SetBlacklistRequest(tenant_id=caller.tenant_id, member_id=member_id, reason=""),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return Response(status_code=204)


@router.post(
    "/sms-replies",
    summary="Report an inbound SMS reply",
    description=(
        'For the SMS gateway: a reply "T" (or TD, 退订, STOP) withdraws the sender\'s SMS consent. '
        "Scope `members:consent`."
    ),
    responses=responses(400, 401, 403, 422, 429, 503),
)
async def sms_reply(
    body: SmsReplyBody, caller: WriteConsentKey, clients: ClientsDep, request: Request
) -> SmsReplyOut:
    reply = await clients.members.HandleSmsReply(
        members_pb2.HandleSmsReplyRequest(tenant_id=caller.tenant_id, phone=body.phone, text=body.text),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return SmsReplyOut(unsubscribed=reply.unsubscribed, member_id=reply.member_id or None)


class MergeBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"duplicate_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAF"}]}
    )

    duplicate_id: str = Field(min_length=1, max_length=64, description="The other record of the same person")


@router.post(
    "/members/{member_id}/merge",
    summary="Merge a duplicate record into this member",
    description=(
        "A paper card and a mini-program sign-up of one person become one: points, purchases, "
        "statistics and tags move here. This member keeps its assistant; without one it takes the "
        "duplicate's. The duplicate's phone then finds this member. Idempotent. Scope `members:write`."
    ),
    responses=responses(400, 401, 403, 404, 409, 422, 429, 503),
)
async def merge(body: MergeBody, member: ManageMember, clients: ClientsDep, request: Request) -> ProfileOut:
    caller, member_id = member
    reply = await clients.members.MergeMembers(
        members_pb2.MergeMembersRequest(
            tenant_id=caller.tenant_id, survivor_id=member_id, duplicate_id=body.duplicate_id
        ),
        timeout=clients.timeout * 5,
        metadata=call_metadata(request),
    )
    return profile_out(reply)
