"""Members use cases: functions of (command, dependencies)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from ulid import ULID

from chassis.errors import InvalidArgument, NotFound
from services.members.domain.model import CONSENT_CHANNELS, Enrolment, Member, normalise_phone
from services.members.service.ports import DirectoryRepository, MemberRepository


async def enroll(
    cmd: Enrolment, repo: MemberRepository, directory: DirectoryRepository | None = None
) -> tuple[Member, bool]:
    """Enrol, or return the member who already has this phone (created=False).

    Insert first and let the unique (tenant, phone) index decide: one round trip for a new
    customer, and two tills enrolling the same customer at once still give one member and
    one member_registered event.
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
    )
    stored = await repo.add(member)
    if stored is not None:
        return stored, True
    winner = await repo.get_by_phone(cmd.tenant_id, cmd.phone)
    if winner is None:  # the other member vanished (erased) between our insert and this read
        raise NotFound("member was removed while enrolling; try again")
    return winner, False


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
