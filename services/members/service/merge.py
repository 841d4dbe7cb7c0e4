"""Merging two records of one person, step by step, each step safe to repeat after a crash.

1. the duplicate is claimed for the survivor (one conditional write): two merges of one
   duplicate into different survivors, on two replicas, cannot both move it;
2. the survivor takes the duplicate's statistics (with its purchases per store and the points
   each earning rule gave it, so "first purchase in a store" and caps per member count the
   person), balance, tags and applied effects in ONE
   write guarded by its version, once per duplicate (ports.MergeRepository.fold), which keeps
   the points moved; trailing spend, discount share and tier are judged again as for a purchase
   (domain.merge.fold: member_tier_changed when the combined spend reaches another tier);
3. the ledger gets the two moves (out of the duplicate, into the survivor), unique on source;
4. the duplicate's purchases are re-pointed to the survivor;
5. the duplicate is marked merged into the survivor, its balance lowered by what moved, with
   member_merged.
A rerun after a crash skips what is done: the duplicate's data stays unchanged until step 5.
A survivor found merged or erased (before the fold, or by the fold's own read) is refused and
the claim released, so the duplicate can be merged elsewhere.
Left as it was: a purchase recorded for the duplicate while it is being merged stays with the
duplicate (its points and spend are not lost, nor moved).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from chassis.errors import FailedPrecondition, InvalidArgument, NotFound
from services.members.domain import merge
from services.members.domain import points as pts
from services.members.domain.merge import Merged
from services.members.service.ports import MergeRepository, PointsLedger, ProgrammeBook


class Merges:
    def __init__(
        self,
        merges: MergeRepository,
        ledger: PointsLedger,
        programmes: ProgrammeBook,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._merges = merges
        self._ledger = ledger
        self._programmes = programmes
        self._clock = clock

    async def merge(self, tenant_id: str, survivor_id: str, duplicate_id: str) -> None:
        """Fold the duplicate into the survivor; merging it again does nothing more."""
        if survivor_id == duplicate_id:
            raise InvalidArgument("duplicate_id", "a member cannot be merged into itself")
        closed = await self._merges.closed(tenant_id, survivor_id)
        if closed is None:
            raise NotFound(f"member {survivor_id} not found")
        duplicate = await self._merges.claim(tenant_id, survivor_id, duplicate_id)
        if duplicate is None:
            return  # done before
        if closed:
            await self._merges.release(tenant_id, survivor_id, duplicate_id)
            raise FailedPrecondition("survivor_id is already merged or erased")
        now = self._clock()
        rules = (await self._programmes.current(tenant_id)).programme
        moved = await self._merges.fold(
            tenant_id,
            survivor_id,
            duplicate,
            lambda survivor: merge.fold(survivor, duplicate, rules.ladder, now, rules.zone),
        )
        if isinstance(moved, merge.Refused):  # nothing was folded: the claim goes back
            await self._merges.release(tenant_id, survivor_id, duplicate_id)
            raise FailedPrecondition(moved.reason)
        if moved is None:
            raise NotFound(f"member {survivor_id} not found")
        if moved:
            for member_id, delta, reason in (
                (duplicate_id, -moved, "merge_out"),
                (survivor_id, moved, "merge_in"),
            ):
                source = pts.entry_source(pts.EntryReason.MANUAL_ADJUSTMENT, f"{reason}:{duplicate_id}")
                await self._ledger.enter(
                    tenant_id, member_id, delta, pts.EntryReason.MANUAL_ADJUSTMENT, source, now
                )
        await self._merges.repoint_purchases(tenant_id, duplicate_id, survivor_id)
        await self._merges.retire(tenant_id, Merged(survivor_id, duplicate_id, moved, now))
