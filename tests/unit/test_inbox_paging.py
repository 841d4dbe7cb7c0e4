"""Inbox paging rules, with an in-memory stand-in for the repository port (not for Mongo)."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from ulid import ULID

from chassis.errors import InvalidArgument, NotFound
from services.messaging.domain.model import InboxMessage, welcome_text
from services.messaging.service import handlers


class ListRepository:
    def __init__(self, messages: list[InboxMessage]) -> None:
        self.messages = messages
        self.members = {(m.tenant_id, m.member_id) for m in messages}

    async def know_member(self, tenant_id: str, member_id: str) -> None:
        self.members.add((tenant_id, member_id))

    async def member_known(self, tenant_id: str, member_id: str) -> bool:
        return (tenant_id, member_id) in self.members

    async def forget_member(self, tenant_id: str, member_id: str) -> None:
        self.messages = [m for m in self.messages if (m.tenant_id, m.member_id) != (tenant_id, member_id)]

    async def add_once(self, message: InboxMessage) -> bool:
        if any(m.source_event_id == message.source_event_id for m in self.messages):
            return False
        self.messages.append(message)
        return True

    async def list_for_member(
        self, tenant_id: str, member_id: str, limit: int, before_id: str | None
    ) -> list[InboxMessage]:
        mine = [m for m in self.messages if (m.tenant_id, m.member_id) == (tenant_id, member_id)]
        mine = [m for m in mine if before_id is None or m.id < before_id]
        return sorted(mine, key=lambda m: m.id, reverse=True)[:limit]

    async def mark_read(
        self, tenant_id: str, member_id: str, inbox_id: str, now: datetime
    ) -> tuple[InboxMessage, bool] | None:
        for i, m in enumerate(self.messages):
            if (m.tenant_id, m.member_id, m.id) == (tenant_id, member_id, inbox_id):
                first = m.read_at is None
                self.messages[i] = replace(m, read_at=m.read_at or now)
                return self.messages[i], first
        return None


def message(n: int, member: str = "m1") -> InboxMessage:
    return InboxMessage(
        id=str(ULID.from_timestamp(1_700_000_000 + n)),
        tenant_id="t",
        member_id=member,
        kind="welcome",
        title="t",
        body="b",
        source_event_id=f"e{n}",
        created_at=datetime.now(UTC),
    )


async def test_pages_walk_the_inbox_newest_first_without_gaps_or_repeats() -> None:
    repo = ListRepository([message(n) for n in range(7)] + [message(99, member="m2")])
    seen: list[str] = []
    token = ""
    while True:
        items, token = await handlers.list_inbox("t", "m1", 3, token, repo)
        seen += [m.source_event_id for m in items]
        if not token:
            break
    assert seen == [f"e{n}" for n in range(6, -1, -1)]


async def test_a_page_token_that_was_not_issued_is_rejected() -> None:
    with pytest.raises(InvalidArgument) as err:
        await handlers.list_inbox("t", "m1", 3, "garbage", ListRepository([]))
    assert err.value.field == "page_token"


async def test_the_same_event_twice_gives_one_welcome_message() -> None:
    repo = ListRepository([])
    evt = handlers.MemberRegistered("e1", "t", "m1", "Li", "Wang", datetime.now(UTC))
    assert await handlers.on_member_registered(evt, repo) is True
    assert await handlers.on_member_registered(evt, repo) is False
    assert len(repo.messages) == 1


async def test_the_inbox_of_a_member_unknown_in_the_tenant_is_not_found() -> None:
    repo = ListRepository([message(1)])
    with pytest.raises(NotFound):
        await handlers.list_inbox("other-tenant", "m1", 3, "", repo)


def test_the_welcome_greets_by_name() -> None:
    assert "Li Wang" in welcome_text("Li", "Wang")[1]
