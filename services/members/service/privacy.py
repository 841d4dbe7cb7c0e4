"""Personal-information requests: export everything about a member, or erase it.

Erasure anonymises the member in one write (domain.privacy says what goes and what stays) with
member_erased, for other services' copies. The write is made only if the member is not erased
yet, so of two requests at once (two replicas) exactly one erases and announces it, and a merge
that read the member before judges it again as erased.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from chassis.errors import NotFound
from services.members.domain import privacy
from services.members.service.ports import PrivacyRepository


class Privacy:
    def __init__(
        self, store: PrivacyRepository, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._store = store
        self._clock = clock

    async def export(self, tenant_id: str, member_id: str) -> str:
        """Everything stored about the member, as JSON."""
        exported = await self._store.export(tenant_id, member_id)
        if exported is None:
            raise NotFound(f"member {member_id} not found")
        return exported

    async def erase(self, tenant_id: str, member_id: str, reason: str) -> bool:
        """True when erased now, False when it already was."""
        erased = await self._store.erase(tenant_id, privacy.erasure(member_id, reason, self._clock()))
        if erased is None:
            raise NotFound(f"member {member_id} not found")
        return erased
