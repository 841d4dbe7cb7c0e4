"""Messaging use cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ulid import ULID

from chassis.errors import InvalidArgument, NotFound
from services.messaging.domain.model import InboxMessage, welcome_text
from services.messaging.service.ports import InboxRepository

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class MemberRegistered:
    event_id: str
    tenant_id: str
    member_id: str
    name: str
    surname: str
    occurred_at: datetime


async def on_member_registered(evt: MemberRegistered, repo: InboxRepository) -> bool:
    """Put one welcome message in the new member's inbox, however often the event arrives."""
    await repo.know_member(evt.tenant_id, evt.member_id)
    title, body = welcome_text(evt.name, evt.surname)
    message = InboxMessage(
        id=str(ULID()),
        tenant_id=evt.tenant_id,
        member_id=evt.member_id,
        kind="welcome",
        title=title,
        body=body,
        source_event_id=evt.event_id,
        created_at=evt.occurred_at,
    )
    return await repo.add_once(message)


async def list_inbox(
    tenant_id: str, member_id: str, page_size: int, page_token: str, repo: InboxRepository
) -> tuple[list[InboxMessage], str]:
    """A page of the inbox and the token of the next one ("" after the last page)."""
    if not tenant_id:
        raise InvalidArgument("tenant_id", "tenant_id is required")
    if not member_id:
        raise InvalidArgument("member_id", "member_id is required")
    if page_size < 0:
        raise InvalidArgument("page_size", "page_size must not be negative")
    size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    before = _decode_token(page_token)
    if not await repo.member_known(tenant_id, member_id):
        raise NotFound(f"member {member_id} not found")
    items = await repo.list_for_member(tenant_id, member_id, size + 1, before)
    if len(items) > size:
        return items[:size], items[size - 1].id
    return items, ""


def _decode_token(token: str) -> str | None:
    if not token:
        return None
    try:
        return str(ULID.from_str(token))
    except ValueError:
        raise InvalidArgument("page_token", "page_token is not one this service issued") from None
