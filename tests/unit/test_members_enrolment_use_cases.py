"""Enrolment on in-memory fakes of members' ports: one member per phone and per openid however
many tills and taps enrol at once, the assistant and the referrer as the codes say, and a bad
code refused naming its field."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest

from chassis.errors import InvalidArgument
from services.members.domain.directory import Role, Staff, StaffStatus
from services.members.domain.model import Enrolment, Member
from services.members.service.handlers import Members
from tests.unit.fakes_members import FakeProgrammes

TENANT = "t1"


async def _round_trip() -> None:
    await asyncio.sleep(0)  # every call to the store yields, so gathered calls interleave


class FakeRegistry:
    """Members with the store's promise: one per (tenant, phone)."""

    def __init__(self) -> None:
        self.members: dict[str, Member] = {}

    async def add(self, member: Member) -> Member | None:
        await _round_trip()
        if any(m.tenant_id == member.tenant_id and m.phone == member.phone for m in self.members.values()):
            return None
        self.members[member.id] = member
        return member

    async def get(self, tenant_id: str, member_id: str) -> Member | None:
        await _round_trip()
        m = self.members.get(member_id)
        return m if m and m.tenant_id == tenant_id else None

    async def get_by_phone(self, tenant_id: str, phone: str) -> Member | None:
        await _round_trip()
        return next((m for m in self.members.values() if (m.tenant_id, m.phone) == (tenant_id, phone)), None)

    async def update(
        self, tenant_id: str, member_id: str, fields: dict[str, Any], unset: tuple[str, ...] = ()
    ) -> Member | None:
        raise NotImplementedError("not used by enrolment")

    async def set_blacklist(self, tenant_id: str, member_id: str, reason: str, at: datetime) -> Member | None:
        raise NotImplementedError("not used by enrolment")

    async def set_consent(
        self, tenant_id: str, member_id: str, channel: str, granted: bool, source: str, at: datetime
    ) -> Member | None:
        raise NotImplementedError("not used by enrolment")


class FakeLinks:
    """Openids and referral codes, each unique in its tenant."""

    def __init__(self) -> None:
        self.openids: dict[tuple[str, str], str] = {}
        self.codes: dict[tuple[str, str], str] = {}

    async def member_for_openid(self, tenant_id: str, openid: str) -> str | None:
        await _round_trip()
        return self.openids.get((tenant_id, openid))

    async def claim_openid(self, tenant_id: str, openid: str, unionid: str, member_id: str) -> str:
        await _round_trip()
        return self.openids.setdefault((tenant_id, openid), member_id)

    async def relink_openid(self, tenant_id: str, openid: str, from_member: str, to_member: str) -> None:
        await _round_trip()
        if self.openids.get((tenant_id, openid)) == from_member:
            self.openids[(tenant_id, openid)] = to_member

    async def member_for_referral_code(self, tenant_id: str, code: str) -> str | None:
        await _round_trip()
        return self.codes.get((tenant_id, code))

    async def referral_code(self, tenant_id: str, member_id: str) -> str | None:
        raise NotImplementedError("not used by enrolment")


class FakeStaff:
    """The part of the directory enrolment reads: assistants by id and by badge code (and who
    looks after their members: themselves, as nobody here has left)."""

    def __init__(self, *staff: Staff) -> None:
        self.staff = {s.id: s for s in staff}

    async def get_staff(self, tenant_id: str, staff_id: str) -> Staff | None:
        s = self.staff.get(staff_id)
        return s if s and s.tenant_id == tenant_id else None

    async def staff_by_code(self, tenant_id: str, code: str) -> Staff | None:
        return next(
            (s for s in self.staff.values() if s.tenant_id == tenant_id and code in s.referral_codes), None
        )

    async def resolve_owner(self, tenant_id: str, staff_id: str) -> str:
        return staff_id


LI = Staff("staff-li", TENANT, "sh-01", "Li", Role.ASSISTANT, StaffStatus.ACTIVE, ("LI-88",))


def enrolment(phone: str = "+8613800000001", **overrides: Any) -> Enrolment:
    fields: dict[str, Any] = {
        "tenant_id": TENANT,
        "phone": phone,
        "name": "Mei",
        "surname": "Wang",
        "store_id": "",
        "channel": "store_app",
        "default_region": "CN",
    } | overrides
    return Enrolment.parse(**fields)


NO_HISTORY: Any = None  # enrolment reads no purchase history


def members(
    registry: FakeRegistry, staff: FakeStaff | None = None, links: FakeLinks | None = None
) -> Members:
    return Members(registry, staff or FakeStaff(), links or FakeLinks(), NO_HISTORY, FakeProgrammes(), "CN")


async def test_twenty_tills_enrolling_one_phone_at_once_make_one_member() -> None:
    registry = FakeRegistry()
    tills = members(registry)

    answers = await asyncio.gather(*(tills.enrol(enrolment()) for _ in range(20)))

    assert len(registry.members) == 1
    assert {m.id for m, _ in answers} == set(registry.members)
    assert [created for _, created in answers].count(True) == 1


async def test_taps_of_a_mini_program_sign_up_with_one_openid_make_one_member() -> None:
    registry, links = FakeRegistry(), FakeLinks()
    taps = [enrolment(f"+861380000000{i}", openid="wx-1", channel="mini_program") for i in range(3)]

    mini_program = members(registry, links=links)

    answers = await asyncio.gather(*(mini_program.enrol(t) for t in taps))

    assert len(registry.members) == 1
    assert {m.id for m, _ in answers} == set(registry.members)
    assert links.openids[(TENANT, "wx-1")] in registry.members


async def test_a_customer_enrolled_at_a_till_then_in_the_mini_program_keeps_one_record() -> None:
    registry, links = FakeRegistry(), FakeLinks()
    enrolling = members(registry, links=links)
    at_till, _ = await enrolling.enrol(enrolment())

    online, created = await enrolling.enrol(enrolment(openid="wx-2", channel="mini_program"))

    assert (online.id, created) == (at_till.id, False)
    assert links.openids[(TENANT, "wx-2")] == at_till.id  # the openid now leads to the till's record


async def test_an_assistants_badge_code_makes_them_the_owner_and_their_store_the_home() -> None:
    member, _ = await members(FakeRegistry(), FakeStaff(LI)).enrol(enrolment(staff_code="LI-88"))

    assert (member.owner_staff_id, member.home_store_id) == ("staff-li", "sh-01")
    assert member.consent
    assert not any(member.consent.values())  # nothing is sent before the member agrees


async def test_a_members_referral_code_records_the_referrer() -> None:
    registry, links = FakeRegistry(), FakeLinks()
    enrolling = members(registry, FakeStaff(LI), links)
    friend, _ = await enrolling.enrol(enrolment("+8613800000009"))
    links.codes[(TENANT, "FRIEND-1")] = friend.id

    referred, _ = await enrolling.enrol(enrolment(referral_code="FRIEND-1"))

    assert referred.referred_by is not None
    assert (referred.referred_by.kind, referred.referred_by.id) == ("member", friend.id)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"staff_code": "NOBODY"}, "staff_code"),
        ({"owner_staff_id": "ghost"}, "owner_staff_id"),
        ({"referral_code": "NOPE"}, "referral_code"),
    ],
)
async def test_an_unknown_code_is_refused_naming_its_field_and_enrols_nobody(
    overrides: dict[str, str], field: str
) -> None:
    registry = FakeRegistry()

    with pytest.raises(InvalidArgument) as refused:
        await members(registry, FakeStaff(LI), FakeLinks()).enrol(enrolment(**overrides))

    assert refused.value.field == field
    assert registry.members == {}
