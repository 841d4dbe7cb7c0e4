"""Members routes: enrol a customer, read a member, read their in-app inbox."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from regulars.common.v1 import paging_pb2
from regulars.members.v1 import members_pb2
from regulars.messaging.v1 import messaging_pb2

from gateway.clients.channels import call_metadata
from gateway.deps import ClientsDep, ReadMember, WriteMembers
from gateway.errors import Problem
from gateway.schemas.members import (
    EnrollMemberBody,
    InboxMessageOut,
    InboxPage,
    MemberOut,
    ReferralCodeOut,
    ReferrerOut,
    birthday_out,
)
from gateway.schemas.problems import responses

router = APIRouter(prefix="/v1/members", tags=["members"])


def member_out(m: members_pb2.Member) -> MemberOut:
    birthday = birthday_out(m.birthday.month, m.birthday.day, m.birthday.year)
    return MemberOut(
        id=m.id,
        phone=m.phone,
        name=m.name,
        surname=m.surname,
        home_store_id=m.home_store_id,
        owner_staff_id=m.owner_staff_id or None,
        gender=m.gender or "unknown",
        birthday=birthday,
        tags=list(m.tags),
        registered_at=m.registered_at.ToDatetime(tzinfo=UTC),
        tier=m.tier,
        referred_by=ReferrerOut(kind=m.referred_by_kind, id=m.referred_by_id)  # type: ignore[arg-type]
        if m.referred_by_kind in ("member", "staff")
        else None,
    )


def _metadata(request: Request) -> tuple[tuple[str, str], ...]:
    return call_metadata(request)


@router.post(
    "",
    status_code=201,
    summary="Enrol a customer as a member",
    description=(
        "Membership has no threshold: a phone number and a name are enough. Enrolling a phone "
        "that is already a member returns that member with 200 instead of 201. A welcome "
        "message then appears in the member's inbox. A mini-program may enrol with the user's "
        "`openid` alone (enrolling it again returns the same member; with a phone already "
        "enrolled at a till, the openid joins that member). A referral link's `referral_code` "
        "links the new member to whoever shared it. Scope `members:write`; send an "
        "`Idempotency-Key` to retry safely."
    ),
    responses={
        200: {"model": MemberOut, "description": "Already a member"},
        **responses(400, 401, 403, 409, 422, 429, 503),
    },
)
async def enroll_member(
    body: EnrollMemberBody,
    caller: WriteMembers,
    clients: ClientsDep,
    request: Request,
    response: Response,
) -> MemberOut:
    store_id = body.store_id or caller.store_id or ""
    if caller.store_id and store_id != caller.store_id:
        raise Problem(
            403,
            "forbidden",
            "Forbidden",
            f"this API key is restricted to store {caller.store_id}",
            field="store_id",
        )
    reply = await clients.members.EnrollMember(
        members_pb2.EnrollMemberRequest(
            tenant_id=caller.tenant_id,
            phone=body.phone,
            name=body.name,
            surname=body.surname,
            store_id=store_id,
            channel="mini_program" if body.openid else "referral" if body.referral_code else "store_app",
            staff_code=body.staff_code,
            owner_staff_id=caller.subject if caller.kind == "staff" and not body.staff_code else "",
            gender=body.gender,
            birthday=members_pb2.Birthday(
                month=body.birthday.month, day=body.birthday.day, year=body.birthday.year or 0
            )
            if body.birthday
            else None,
            tags=body.tags,
            notes=body.notes,
            openid=body.openid,
            unionid=body.unionid,
            referral_code=body.referral_code,
        ),
        timeout=clients.timeout,
        metadata=_metadata(request),
    )
    response.status_code = 201 if reply.created else 200
    response.headers["Location"] = f"/v1/members/{reply.member.id}"
    return member_out(reply.member)


@router.get(
    "/{member_id}",
    summary="Read a member",
    description=(
        "The member's profile, within the caller's tenant. Scope `members:read`; a member "
        "session sees only its own member."
    ),
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def get_member(member: ReadMember, clients: ClientsDep, request: Request) -> MemberOut:
    caller, member_id = member
    reply = await clients.members.GetMember(
        members_pb2.GetMemberRequest(tenant_id=caller.tenant_id, member_id=member_id),
        timeout=clients.timeout,
        metadata=_metadata(request),
    )
    return member_out(reply)


@router.get(
    "/{member_id}/referral-code",
    summary="Get a member's referral code",
    description=(
        "The member's own referral code (made on first request). A friend who enrols with it is "
        "linked to the member; on the friend's first purchase the member is thanked and rewarded "
        "once. Scope `members:read`; a member session gets its own."
    ),
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def get_referral_code(member: ReadMember, clients: ClientsDep, request: Request) -> ReferralCodeOut:
    caller, member_id = member
    reply = await clients.members.GetReferralCode(
        members_pb2.GetReferralCodeRequest(tenant_id=caller.tenant_id, member_id=member_id),
        timeout=clients.timeout,
        metadata=_metadata(request),
    )
    return ReferralCodeOut(member_id=reply.member_id, code=reply.code)


@router.get(
    "/{member_id}/inbox",
    summary="Read a member's in-app inbox",
    description=(
        "Messages for the member, newest first, a page at a time. Scope `members:read`; a "
        "member session sees only its own inbox. 404 until messaging has heard of the member "
        "(usually within a second of enrolment)."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def list_inbox(
    member: ReadMember,
    clients: ClientsDep,
    request: Request,
    page_size: Annotated[int, Query(ge=1, le=100, description="Items per page")] = 20,
    page_token: Annotated[str, Query(max_length=64, description="next_page_token of the previous page")] = "",
) -> InboxPage:
    reply = await clients.messaging.ListInbox(
        messaging_pb2.ListInboxRequest(
            tenant_id=member[0].tenant_id,
            member_id=member[1],
            page=paging_pb2.PageRequest(page_size=page_size, page_token=page_token),
        ),
        timeout=clients.timeout,
        metadata=_metadata(request),
    )
    return InboxPage(
        items=[
            InboxMessageOut(
                id=m.id,
                kind=m.kind,
                title=m.title,
                body=m.body,
                created_at=m.created_at.ToDatetime(tzinfo=UTC),
            )
            for m in reply.messages
        ],
        next_page_token=reply.page.next_page_token or None,
    )
