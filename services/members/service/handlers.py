"""Members use cases: enrol a member, find one, read their activity and referral code.

Every member returned is as seen now (`with_current_owner`): owned by whoever succeeded the
assistant they were assigned to.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

from ulid import ULID

from chassis.errors import InvalidArgument, NotFound
from services.members.domain import earning
from services.members.domain.model import (
    CONSENT_CHANNELS,
    Activity,
    Enrolment,
    Member,
    Referrer,
    normalise_phone,
)
from services.members.service.ports import (
    MemberHistory,
    MemberLinks,
    MemberRepository,
    ProgrammeBook,
    StaffLookup,
)

OPENID_WAIT_SECONDS = 2.0


class Members:
    def __init__(
        self,
        repo: MemberRepository,
        directory: StaffLookup,
        links: MemberLinks,
        history: MemberHistory,
        programmes: ProgrammeBook,
        default_region: str,
    ) -> None:
        self._repo = repo
        self._directory = directory
        self._links = links
        self._history = history
        self._programmes = programmes
        self._region = default_region

    @property
    def default_region(self) -> str:
        """Where a phone number given without its country code is (to parse an Enrolment)."""
        return self._region

    async def enrol(self, cmd: Enrolment) -> tuple[Member, bool]:
        """Enrol on the first tier of the tenant's ladder, or return the member who already has
        this phone or openid (created=False).

        Insert first and let the unique (tenant, phone) index decide: one round trip for a new
        customer, and two tills enrolling the same customer at once still give one member and
        one member_registered event. An openid is claimed before the insert, by its own unique
        document, so two taps of a mini-program's sign-up button also give one member.
        """
        first_tier = (await self._programmes.current(cmd.tenant_id)).programme.ladder.names[0]
        member, created = await self._enrol(cmd, first_tier)
        return await with_current_owner(member, self._directory), created

    async def _enrol(self, cmd: Enrolment, first_tier: str) -> tuple[Member, bool]:
        owner_staff_id, home_store = "", cmd.store_id
        if cmd.staff_code:
            staff = await self._directory.staff_by_code(cmd.tenant_id, cmd.staff_code)
            if staff is None:
                raise InvalidArgument("staff_code", "no assistant has this code")
            owner_staff_id, home_store = staff.id, home_store or staff.store_code
        elif cmd.owner_staff_id:
            owner = await self._directory.get_staff(cmd.tenant_id, cmd.owner_staff_id)
            if owner is None:
                raise InvalidArgument("owner_staff_id", "no such assistant")
            owner_staff_id, home_store = owner.id, home_store or owner.store_code
        referrer, referrer_store = await self._referrer(cmd)
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
        if cmd.openid:
            existing = await self._member_with_openid(cmd, member.id)
            if existing is not None:
                return existing, False
        stored = await self._repo.add(member)
        if stored is not None:
            return stored, True
        winner = await self._repo.get_by_phone(cmd.tenant_id, cmd.phone)
        if winner is None:  # the other member vanished (erased) between our insert and this read
            raise NotFound("member was removed while enrolling; try again")
        if cmd.openid:  # the person enrolled at a till before: link the openid
            await self._links.relink_openid(cmd.tenant_id, cmd.openid, member.id, winner.id)
        return winner, False

    async def _referrer(self, cmd: Enrolment) -> tuple[Referrer | None, str]:
        """Whose referral link this is (an assistant's badge code or a member's referral code),
        and the assistant's store."""
        if not cmd.referral_code:
            return None, ""
        staff = await self._directory.staff_by_code(cmd.tenant_id, cmd.referral_code)
        if staff is not None:
            return Referrer("staff", staff.id, cmd.referral_code), staff.store_code
        member_id = await self._links.member_for_referral_code(cmd.tenant_id, cmd.referral_code)
        if member_id is None:
            raise InvalidArgument("referral_code", "no member or assistant has this referral code")
        return Referrer("member", member_id, cmd.referral_code), ""

    async def _member_with_openid(self, cmd: Enrolment, new_id: str) -> Member | None:
        """The member this openid already belongs to, or None once it is claimed for `new_id`.

        A claim whose member never appears (its enrolment crashed between the claim and the
        insert) is taken over after a short wait, so the openid is never stuck.
        """
        owner = await self._links.claim_openid(cmd.tenant_id, cmd.openid, cmd.unionid, new_id)
        if owner == new_id:
            return None
        deadline = asyncio.get_running_loop().time() + OPENID_WAIT_SECONDS
        while True:
            member = await self._repo.get(cmd.tenant_id, owner)
            if member is not None:
                return member
            if asyncio.get_running_loop().time() > deadline:
                await self._links.relink_openid(cmd.tenant_id, cmd.openid, owner, new_id)
                return None
            await asyncio.sleep(0.05)

    async def get(self, tenant_id: str, member_id: str) -> Member:
        member = await self._repo.get(tenant_id, member_id)
        if member is None:
            raise NotFound(f"member {member_id} not found")
        return await with_current_owner(member, self._directory)

    async def find_by_phone(self, tenant_id: str, phone: str) -> Member:
        member = await self._repo.get_by_phone(tenant_id, normalise_phone(phone, self._region))
        if member is None:
            raise NotFound("no member has this phone number")
        return await with_current_owner(member, self._directory)

    async def find_by_openid(self, tenant_id: str, openid: str) -> Member:
        member_id = await self._links.member_for_openid(tenant_id, openid.strip())
        member = await self._repo.get(tenant_id, member_id) if member_id else None
        if member is None:
            raise NotFound("no member has this openid")
        return await with_current_owner(member, self._directory)

    async def referral_code(self, tenant_id: str, member_id: str) -> str:
        """The member's referral code (made on first request)."""
        code = await self._links.referral_code(tenant_id, member_id)
        if code is None:
            raise NotFound(f"member {member_id} not found")
        return code

    async def activity(self, tenant_id: str, member_id: str, store_id: str) -> Activity:
        found = await self._history.activity(tenant_id, member_id, store_id.strip())
        if found is None:
            raise NotFound(f"member {member_id} not found")
        return found

    async def read(self, tenant_id: str, member_id: str, store_id: str) -> tuple[Member, earning.MemberFacts]:
        """The member, and what scoring a cart in `store_id` needs to know of them. The same
        read as ports.MemberHistory.read, so the programme's commands read members through this
        (never None: NotFound instead)."""
        found = await self._history.read(tenant_id, member_id, store_id.strip())
        if found is None:
            raise NotFound(f"member {member_id} not found")
        return found


async def with_current_owner(member: Member, directory: StaffLookup) -> Member:
    """The member as seen now: owned by whoever succeeded their assigned assistant."""
    if not member.owner_staff_id:
        return member
    owner = await directory.resolve_owner(member.tenant_id, member.owner_staff_id)
    return member if owner == member.owner_staff_id else replace(member, owner_staff_id=owner)
