"""What the members use cases need from the outside world."""

from __future__ import annotations

from typing import Protocol

from services.members.domain.model import Member


class MemberRepository(Protocol):
    async def add(self, member: Member) -> Member | None:
        """Store a new member with its member_registered event; None when the phone is taken."""

    async def get(self, tenant_id: str, member_id: str) -> Member | None: ...

    async def get_by_phone(self, tenant_id: str, phone: str) -> Member | None: ...
