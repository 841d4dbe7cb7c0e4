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
from services.members.service.ports import MemberRepository


def _found(member: Member | None, member_id: str) -> Member:
    if member is None:
        raise NotFound(f"member {member_id} not found")
    return member


async def update_profile(
    tenant_id: str,
    member_id: str,
    repo: MemberRepository,
    *,
    name: str | None = None,
    surname: str | None = None,
    gender: str | None = None,
    birthday: tuple[int, int, int] | None = None,
    tags: Sequence[str] | None = None,
    notes: str | None = None,
    preferred_channel: str | None = None,
) -> Member:
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
    return _found(await repo.update(tenant_id, member_id, fields), member_id)


async def set_consent(
    tenant_id: str, member_id: str, channel: str, granted: bool, source: str, repo: MemberRepository
) -> Member:
    channel = consent_channel("channel", channel)
    source = " ".join(source.split())[:64] or "unknown"
    member = await repo.set_consent(tenant_id, member_id, channel, granted, source, datetime.now(UTC))
    return _found(member, member_id)


async def handle_sms_reply(
    tenant_id: str, phone: str, text: str, default_region: str, repo: MemberRepository
) -> tuple[bool, str]:
    """ "Reply T to unsubscribe": True (and the member) when the reply withdrew SMS consent."""
    member = await repo.get_by_phone(tenant_id, normalise_phone(phone, default_region))
    if member is None or not is_unsubscribe(text):
        return False, member.id if member else ""
    await repo.set_consent(tenant_id, member.id, "sms", False, "sms_reply", datetime.now(UTC))
    return True, member.id


async def set_blacklist(tenant_id: str, member_id: str, reason: str, repo: MemberRepository) -> Member:
    member = await repo.set_blacklist(tenant_id, member_id, blacklist_reason(reason), datetime.now(UTC))
    return _found(member, member_id)
