"""Profile, consent and blacklist use cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from chassis.errors import InvalidArgument, NotFound
from services.members.domain.model import (
    Member,
    Profile,
    blacklist_reason,
    consent_channel,
    display_names,
    is_unsubscribe,
    normalise_phone,
)
from services.members.service.handlers import with_current_owner
from services.members.service.ports import MemberRepository, StaffLookup


class Profiles:
    """A member's profile, consent and blacklist; every member returned is as seen now
    (handlers.with_current_owner)."""

    def __init__(self, repo: MemberRepository, directory: StaffLookup, default_region: str) -> None:
        self._repo = repo
        self._directory = directory
        self._region = default_region

    async def update(
        self,
        tenant_id: str,
        member_id: str,
        *,
        name: str | None = None,
        surname: str | None = None,
        gender: str | None = None,
        birthday: tuple[int, int, int] | None = None,
        tags: Sequence[str] | None = None,
        notes: str | None = None,
        preferred_channel: str | None = None,
    ) -> Member:
        """Change the fields given (None: leave it); InvalidArgument when none is given."""
        fields: dict[str, Any] = dict(display_names(name, surname))
        checked = Profile.parse(
            gender=gender or "",
            birthday=birthday,
            tags=tags or (),
            notes=notes or "",
        )
        if gender is not None:
            fields["gender"] = checked.gender
        if birthday is not None and checked.birthday:
            month, day, year = checked.birthday
            fields["birthday"] = {"month": month, "day": day, "year": year}
        if tags is not None:
            fields["tags"] = list(checked.tags)
        if notes is not None:
            fields["notes"] = checked.notes
        if preferred_channel is not None:
            fields["preferred_channel"] = (
                consent_channel("preferred_channel", preferred_channel) if preferred_channel.strip() else ""
            )
        if not fields:
            raise InvalidArgument("member_id", "nothing to change: give at least one field")
        return await self._seen_now(await self._repo.update(tenant_id, member_id, fields), member_id)

    async def set_consent(
        self, tenant_id: str, member_id: str, channel: str, granted: bool, source: str
    ) -> Member:
        channel = consent_channel("channel", channel)
        source = " ".join(source.split())[:64] or "unknown"
        member = await self._repo.set_consent(
            tenant_id, member_id, channel, granted, source, datetime.now(UTC)
        )
        return await self._seen_now(member, member_id)

    async def handle_sms_reply(self, tenant_id: str, phone: str, text: str) -> tuple[bool, str]:
        """ "Reply T to unsubscribe": True (and the member) when the reply withdrew SMS consent."""
        member = await self._repo.get_by_phone(tenant_id, normalise_phone(phone, self._region))
        if member is None or not is_unsubscribe(text):
            return False, member.id if member else ""
        await self._repo.set_consent(tenant_id, member.id, "sms", False, "sms_reply", datetime.now(UTC))
        return True, member.id

    async def set_blacklist(self, tenant_id: str, member_id: str, reason: str) -> Member:
        """Blacklist the member (reason) or clear it ("")."""
        member = await self._repo.set_blacklist(
            tenant_id, member_id, blacklist_reason(reason), datetime.now(UTC)
        )
        return await self._seen_now(member, member_id)

    async def _seen_now(self, member: Member | None, member_id: str) -> Member:
        if member is None:
            raise NotFound(f"member {member_id} not found")
        return await with_current_owner(member, self._directory)
