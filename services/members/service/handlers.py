"""Members use cases: functions of (command, dependencies)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

from ulid import ULID

from chassis.errors import InvalidArgument, NotFound
from services.members.domain.model import CONSENT_CHANNELS, Enrolment, Member, Referrer, normalise_phone
from services.members.domain.tiers import DEFAULT_LADDER
from services.members.service.ports import DirectoryRepository, MemberLinks, MemberRepository, StaffLookup


async def enroll(
    cmd: Enrolment,
    repo: MemberRepository,
    directory: StaffLookup | None = None,
    links: MemberLinks | None = None,
    first_tier: str = DEFAULT_LADDER.names[0],
) -> tuple[Member, bool]:
    """Enrol, or return the member who already has this phone or openid (created=False).

    Insert first and let the unique (tenant, phone) index decide: one round trip for a new
    customer, and two tills enrolling the same customer at once still give one member and
    one member_registered event. An openid is claimed before the insert, by its own unique
    document, so two taps of a mini-program's sign-up button also give one member.
    """
    owner_staff_id, home_store = "", cmd.store_id
    if cmd.staff_code and directory is not None:
        staff = await directory.staff_by_code(cmd.tenant_id, cmd.staff_code)
        if staff is None:
            raise InvalidArgument("staff_code", "no assistant has this code")
        owner_staff_id, home_store = staff.id, home_store or staff.store_code
    elif cmd.owner_staff_id and directory is not None:
        owner = await directory.get_staff(cmd.tenant_id, cmd.owner_staff_id)
        if owner is None:
            raise InvalidArgument("owner_staff_id", "no such assistant")
        owner_staff_id, home_store = owner.id, home_store or owner.store_code
    referrer, referrer_store = await _referrer(cmd, directory, links)
    if referrer and referrer.kind == "staff" and not owner_staff_id:  # an assistant's link: theirs
        owner_staff_id, home_store = referrer.id, home_store or referrer_store
    member = Member(
        id=str(ULID()),
        tenant_id=cmd.tenant_id,
        phone=cmd.phone,
        name=cmd.name,
        surname=cmd.surname,
        home_store_id=home_store,
        channel=cmd.channel,
        registered_at=datetime.now(UTC),
        owner_staff_id=owner_staff_id,
        profile=cmd.profile,
        consent=dict.fromkeys(CONSENT_CHANNELS, False),  # nothing is sent before the member agrees
        openid=cmd.openid,
        referred_by=referrer,
        tier=first_tier,
    )
    if cmd.openid and links is not None:
        existing = await _member_with_openid(cmd, member.id, repo, links)
        if existing is not None:
            return existing, False
    stored = await repo.add(member)
    if stored is not None:
        return stored, True
    winner = await repo.get_by_phone(cmd.tenant_id, cmd.phone)
    if winner is None:  # the other member vanished (erased) between our insert and this read
        raise NotFound("member was removed while enrolling; try again")
    if cmd.openid and links is not None:  # the person enrolled at a till before: link the openid
        await links.relink_openid(cmd.tenant_id, cmd.openid, member.id, winner.id)
    return winner, False


async def _referrer(
    cmd: Enrolment, directory: StaffLookup | None, links: MemberLinks | None
) -> tuple[Referrer | None, str]:
    """Whose referral link this is (an assistant's badge code or a member's referral code), and
    the assistant's store."""
    if not cmd.referral_code or directory is None or links is None:
        return None, ""
    staff = await directory.staff_by_code(cmd.tenant_id, cmd.referral_code)
    if staff is not None:
        return Referrer("staff", staff.id, cmd.referral_code), staff.store_code
    member_id = await links.member_for_referral_code(cmd.tenant_id, cmd.referral_code)
    if member_id is None:
        raise InvalidArgument("referral_code", "no member or assistant has this referral code")
    return Referrer("member", member_id, cmd.referral_code), ""


OPENID_WAIT_SECONDS = 2.0


async def _member_with_openid(
    cmd: Enrolment, new_id: str, repo: MemberRepository, links: MemberLinks
) -> Member | None:
    """The member this openid already belongs to, or None once it is claimed for `new_id`.

    A claim whose member never appears (its enrolment crashed between the claim and the
    insert) is taken over after a short wait, so the openid is never stuck.
    """
    owner = await links.claim_openid(cmd.tenant_id, cmd.openid, cmd.unionid, new_id)
    if owner == new_id:
        return None
    deadline = asyncio.get_running_loop().time() + OPENID_WAIT_SECONDS
    while True:
        member = await repo.get(cmd.tenant_id, owner)
        if member is not None:
            return member
        if asyncio.get_running_loop().time() > deadline:
            await links.relink_openid(cmd.tenant_id, cmd.openid, owner, new_id)
            return None
        await asyncio.sleep(0.05)


async def find_by_openid(tenant_id: str, openid: str, repo: MemberRepository, links: MemberLinks) -> Member:
    member_id = await links.member_for_openid(tenant_id, openid.strip())
    member = await repo.get(tenant_id, member_id) if member_id else None
    if member is None:
        raise NotFound("no member has this openid")
    return member


async def referral_code(tenant_id: str, member_id: str, links: MemberLinks) -> str:
    code = await links.referral_code(tenant_id, member_id)
    if code is None:
        raise NotFound(f"member {member_id} not found")
    return code


async def find_by_phone(tenant_id: str, phone: str, default_region: str, repo: MemberRepository) -> Member:
    member = await repo.get_by_phone(tenant_id, normalise_phone(phone, default_region))
    if member is None:
        raise NotFound("no member has this phone number")
    return member


async def get_member(tenant_id: str, member_id: str, repo: MemberRepository) -> Member:
    member = await repo.get(tenant_id, member_id)
    if member is None:
        raise NotFound(f"member {member_id} not found")
    return member


async def with_current_owner(member: Member, directory: DirectoryRepository) -> Member:
    """The member as seen now: owned by whoever succeeded their assigned assistant."""
    if not member.owner_staff_id:
        return member
    owner = await directory.resolve_owner(member.tenant_id, member.owner_staff_id)
    return member if owner == member.owner_staff_id else replace(member, owner_staff_id=owner)
