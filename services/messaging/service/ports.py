"""What the messaging use cases need from the outside world."""

from __future__ import annotations

from typing import Protocol

from services.messaging.domain.model import InboxMessage


class InboxRepository(Protocol):
    async def know_member(self, tenant_id: str, member_id: str) -> None:
        """Remember that the member exists (idempotent): messaging's own view of members."""

    async def member_known(self, tenant_id: str, member_id: str) -> bool: ...

    async def forget_member(self, tenant_id: str, member_id: str) -> None:
        """Delete the member's messages (they greet by name): an erasure request."""

    async def add_once(self, message: InboxMessage) -> bool:
        """Store unless a message from the same source event exists; True when stored."""

    async def list_for_member(
        self, tenant_id: str, member_id: str, limit: int, before_id: str | None
    ) -> list[InboxMessage]:
        """Newest first, ids strictly below `before_id` when given."""
