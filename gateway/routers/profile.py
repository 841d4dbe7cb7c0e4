"""A member's profile, consent and blacklist; merging duplicates; inbound SMS replies ("reply T")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from gateway.deps import ManageMember, MembersDep, WriteConsent, WriteConsentKey
from gateway.schemas.problems import responses
from gateway.schemas.profile import (
    BlacklistBody,
    Channel,
    ConsentBody,
    MergeBody,
    ProfileOut,
    SmsReplyBody,
    SmsReplyOut,
    UpdateProfileBody,
)

router = APIRouter(prefix="/v1", tags=["profile"])


@router.patch(
    "/members/{member_id}",
    summary="Change a member's profile",
    description="Only the fields sent change. Scope `members:write`.",
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def update_profile(body: UpdateProfileBody, member: ManageMember, members: MembersDep) -> ProfileOut:
    caller, member_id = member
    return await members.update_profile(caller.tenant_id, member_id, body)


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
    members: MembersDep,
) -> ProfileOut:
    caller, member_id = member
    source = body.source or ("mini_program" if caller.kind == "member" else caller.kind)
    return await members.set_consent(caller.tenant_id, member_id, channel, body.granted, source)


@router.put(
    "/members/{member_id}/blacklist",
    summary="Blacklist a member",
    description="With a reason (e.g. a confirmed extortionist): they drop out of segments and campaigns. "
    "Scope `members:write`.",
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def blacklist(body: BlacklistBody, member: ManageMember, members: MembersDep) -> ProfileOut:
    caller, member_id = member
    return await members.set_blacklist(caller.tenant_id, member_id, body.reason)


@router.delete(
    "/members/{member_id}/blacklist",
    status_code=204,
    summary="Take a member off the blacklist",
    description="Scope `members:write`.",
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def unblacklist(member: ManageMember, members: MembersDep) -> Response:
    caller, member_id = member
    await members.set_blacklist(caller.tenant_id, member_id, "")
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
async def sms_reply(body: SmsReplyBody, caller: WriteConsentKey, members: MembersDep) -> SmsReplyOut:
    return await members.sms_reply(caller.tenant_id, body)


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
async def merge(body: MergeBody, member: ManageMember, members: MembersDep) -> ProfileOut:
    caller, member_id = member
    return await members.merge(caller.tenant_id, member_id, body.duplicate_id)
