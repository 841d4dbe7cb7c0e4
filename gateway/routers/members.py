"""Members routes: enrol a customer, read a member, read their in-app inbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from gateway.deps import MembersDep, MessagingDep, ReadMember, WriteMembers, in_callers_store
from gateway.schemas.members import EnrollMemberBody, InboxPage, MemberOut, ReferralCodeOut
from gateway.schemas.problems import responses

router = APIRouter(prefix="/v1/members", tags=["members"])
EnrolmentAtStore = Annotated[EnrollMemberBody, in_callers_store(EnrollMemberBody)]


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
    caller: WriteMembers, body: EnrolmentAtStore, members: MembersDep, response: Response
) -> MemberOut:
    owner = caller.subject if caller.kind == "staff" and not body.staff_code else ""
    member, created = await members.enroll(caller.tenant_id, body, owner_staff_id=owner)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/v1/members/{member.id}"
    return member


@router.get(
    "/{member_id}",
    summary="Read a member",
    description=(
        "The member's profile, within the caller's tenant. Scope `members:read`; a member "
        "session sees only its own member."
    ),
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def get_member(member: ReadMember, members: MembersDep) -> MemberOut:
    caller, member_id = member
    return await members.get(caller.tenant_id, member_id)


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
async def get_referral_code(member: ReadMember, members: MembersDep) -> ReferralCodeOut:
    caller, member_id = member
    return await members.referral_code(caller.tenant_id, member_id)


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
    messaging: MessagingDep,
    page_size: Annotated[int, Query(ge=1, le=100, description="Items per page")] = 20,
    page_token: Annotated[str, Query(max_length=64, description="next_page_token of the previous page")] = "",
) -> InboxPage:
    caller, member_id = member
    return await messaging.inbox(caller.tenant_id, member_id, page_size, page_token)
