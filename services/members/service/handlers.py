"""Members use cases: functions of (command, dependencies)."""

from __future__ import annotations

from datetime import UTC, datetime

from ulid import ULID

from chassis.errors import NotFound
from services.members.domain.model import Enrolment, Member, normalise_phone
from services.members.service.ports import MemberRepository


async def enroll(cmd: Enrolment, repo: MemberRepository) -> tuple[Member, bool]:
    """Enrol, or return the member who already has this phone (created=False).

    Insert first and let the unique (tenant, phone) index decide: one round trip for a new
    customer, and two tills enrolling the same customer at once still give one member and
    one member_registered event.
    """
    member = Member(
        id=str(ULID()),
        tenant_id=cmd.tenant_id,
        phone=cmd.phone,
        name=cmd.name,
        surname=cmd.surname,
        home_store_id=cmd.store_id,
        channel=cmd.channel,
        registered_at=datetime.now(UTC),
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
