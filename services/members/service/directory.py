"""Directory use cases: stores, staff, and the handover of a leaving assistant's members."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

from ulid import ULID

from chassis.errors import NotFound
from services.members.domain.directory import (
    Handover,
    Role,
    Staff,
    StaffStatus,
    Store,
    check_handover,
    display_name,
    new_referral_code,
    store_code,
)
from services.members.service.ports import DirectoryRepository, HandoverRepository

HANDOVER_BATCH = 500


class Directory:
    """The tenant's stores and their staff."""

    def __init__(self, repo: DirectoryRepository) -> None:
        self._repo = repo

    async def create_store(self, tenant_id: str, code: str, name: str, city: str) -> Store:
        """Idempotent on the store code: the existing store when the code is taken."""
        store = Store(
            tenant_id=tenant_id,
            code=store_code(code),
            name=display_name("name", name),
            city=" ".join(city.split())[:64],
            created_at=datetime.now(UTC),
        )
        return await self._repo.add_store(store)

    async def list_stores(self, tenant_id: str) -> list[Store]:
        return await self._repo.list_stores(tenant_id)

    async def add_staff(self, tenant_id: str, code: str, name: str, role: Role) -> Staff:
        """A new assistant (or manager) of the store with this code, with a referral code."""
        store = await self._repo.get_store(tenant_id, store_code(code))
        if store is None:
            raise NotFound(f"store {code} not found")
        staff = Staff(
            id=str(ULID()),
            tenant_id=tenant_id,
            store_code=store.code,
            name=display_name("name", name),
            role=role,
            status=StaffStatus.ACTIVE,
            referral_codes=(new_referral_code(),),
        )
        return await self._repo.add_staff(staff)

    async def get_staff(self, tenant_id: str, staff_id: str) -> Staff:
        staff = await self._repo.get_staff(tenant_id, staff_id)
        if staff is None:
            raise NotFound(f"staff {staff_id} not found")
        return staff

    async def list_staff(self, tenant_id: str, store_code: str) -> list[Staff]:
        """The staff of one store ("": of every store)."""
        return await self._repo.list_staff(tenant_id, store_code)


def handover_id(tenant_id: str, from_staff_id: str, to_staff_id: str) -> str:
    """Deterministic, so asking twice for the same handover finds the first one."""
    return hashlib.sha256(f"{tenant_id}\x1f{from_staff_id}\x1f{to_staff_id}".encode()).hexdigest()[:26]


class Handovers:
    """A leaving assistant's members handed to a successor: started here, run in the background
    (`run_handover`, by the handover worker, which `started` wakes)."""

    def __init__(
        self, directory: Directory, handovers: HandoverRepository, started: Callable[[], None]
    ) -> None:
        self._directory = directory
        self._handovers = handovers
        self._started = started

    async def start(
        self, tenant_id: str, from_staff_id: str, to_staff_id: str, requested_by: str
    ) -> Handover:
        """Idempotent: the same leaver and successor find the handover started first."""
        leaving = await self._directory.get_staff(tenant_id, from_staff_id)
        successor = await self._directory.get_staff(tenant_id, to_staff_id)
        check_handover(leaving, successor)
        handover = await self._handovers.create_or_get(
            Handover(
                id=handover_id(tenant_id, leaving.id, successor.id),
                tenant_id=tenant_id,
                from_staff_id=leaving.id,
                to_staff_id=successor.id,
                requested_by=requested_by[:64],
                done=False,
                members_moved=0,
                started_at=datetime.now(UTC),
                finished_at=None,
            )
        )
        self._started()
        return handover

    async def get(self, tenant_id: str, handover_id: str) -> Handover:
        handover = await self._handovers.get(tenant_id, handover_id)
        if handover is None:
            raise NotFound(f"handover {handover_id} not found")
        return handover


async def run_handover(
    handover: Handover, handovers: HandoverRepository, batch: int = HANDOVER_BATCH
) -> None:
    """Move a leaver's members to the successor, then announce each member once.

    Ownership follows succession: a member keeps the assistant they were assigned to, and an
    assistant who left resolves to their successor. So the move itself is one write to the
    leaver's record, not one per member (on FerretDB v1 every update scans its collection,
    which made a per-member move of 10,000 members take many minutes). The announcements are
    then streamed in batches from a cursor, each batch recorded once; safe to resume after a
    crash and safe to run twice at once.
    """
    await handovers.transfer(handover)
    after = await handovers.cursor(handover)
    while ids := await handovers.members_after(handover, after, batch):
        await handovers.announce(handover, ids)
        after = ids[-1]
    await handovers.finish(handover)
