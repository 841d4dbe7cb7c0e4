"""Members' events as messaging uses them: its view of each member (names, consent, owner,
points, tier) kept current, a welcome in a new member's inbox, staff tasks following a member
to their new assistant, and an erased member forgotten everywhere messaging keeps them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from services.messaging.domain.contacts import Contact
from services.messaging.service import handlers
from services.messaging.service.ports import ContactStore, InboxRepository


class TaskRouting(Protocol):
    async def member_reassigned(
        self, tenant_id: str, member_id: str, staff_id: str, previous_staff_id: str, at: datetime
    ) -> object: ...

    async def forget_member(self, tenant_id: str, member_id: str) -> object: ...


class Forgetting(Protocol):
    """A store that keeps something of the member (contact counts, WeChat openids)."""

    async def forget_member(self, tenant_id: str, member_id: str) -> object: ...


class MembersView:
    def __init__(
        self,
        contacts: ContactStore,
        inbox: InboxRepository,
        tasks: TaskRouting,
        others: Sequence[Forgetting] = (),
    ) -> None:
        self._contacts = contacts
        self._inbox = inbox
        self._tasks = tasks
        self._others = tuple(others)

    async def registered(self, evt: handlers.MemberRegistered, contact: Contact) -> None:
        await self._contacts.registered(contact)
        await handlers.on_member_registered(evt, self._inbox)

    async def consent_changed(
        self, tenant_id: str, member_id: str, channel: str, granted: bool, at: datetime
    ) -> None:
        await self._contacts.consent_changed(tenant_id, member_id, channel, granted, at)

    async def profile_changed(
        self, tenant_id: str, member_id: str, fields: dict[str, str], at: datetime
    ) -> None:
        await self._contacts.profile_changed(tenant_id, member_id, fields, at)

    async def staff_assigned(
        self, tenant_id: str, member_id: str, staff_id: str, previous_staff_id: str, at: datetime
    ) -> None:
        await self._contacts.owner_changed(tenant_id, member_id, staff_id)
        await self._tasks.member_reassigned(tenant_id, member_id, staff_id, previous_staff_id, at)

    async def points_changed(self, tenant_id: str, member_id: str, balance: int, at: datetime) -> None:
        await self._contacts.points_changed(tenant_id, member_id, balance, at)

    async def tier_changed(self, tenant_id: str, member_id: str, tier: str) -> None:
        await self._contacts.tier_changed(tenant_id, member_id, tier)

    async def erased(self, tenant_id: str, member_id: str) -> None:
        """Names, consent, inbox, tasks, contact counts, WeChat openids, tracked links and the
        values messages were rendered with go; the contact stays marked erased
        so nothing more is sent (a message already requested ends skipped)."""
        await self._contacts.erase(tenant_id, member_id)
        await self._inbox.forget_member(tenant_id, member_id)
        await self._tasks.forget_member(tenant_id, member_id)
        for store in self._others:
            await store.forget_member(tenant_id, member_id)
