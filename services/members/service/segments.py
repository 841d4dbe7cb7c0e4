"""Segment use cases: save, preview and stream the members matching a spec.

Ownership follows succession (see directory.run_handover), so "members of assistant X"
also means the members of everyone X succeeded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ulid import ULID

from chassis.errors import InvalidArgument, NotFound
from services.members.domain.model import Member
from services.members.domain.segments import SegmentSpec, parse_segment, spec_to_dict, to_filter
from services.members.service.ports import DirectoryRepository, SavedSegment, SegmentRepository

SAMPLE_DEFAULT = 10
SAMPLE_MAX = 100


class Segments:
    def __init__(self, repo: SegmentRepository, directory: DirectoryRepository) -> None:
        self._repo = repo
        self._directory = directory

    async def create(self, tenant_id: str, name: str, criteria: dict[str, Any]) -> SavedSegment:
        name = " ".join(name.split())
        if not name or len(name) > 100:
            raise InvalidArgument("name", "name is required (at most 100 characters)")
        spec = parse_segment(criteria)
        segment = SavedSegment(
            id=str(ULID()),
            tenant_id=tenant_id,
            name=name,
            criteria=spec_to_dict(spec),
            created_at=datetime.now(UTC),
        )
        await self._repo.add(segment)
        return segment

    async def get(self, tenant_id: str, segment_id: str) -> SavedSegment:
        saved = await self._repo.get(tenant_id, segment_id)
        if saved is None:
            raise NotFound(f"segment {segment_id} not found")
        return saved

    async def preview(
        self, tenant_id: str, segment_id: str, criteria: dict[str, Any] | None, sample_size: int
    ) -> tuple[int, list[Member]]:
        """How many members match the saved segment (or, without a segment_id, the criteria),
        and a sample of them."""
        spec = await self._spec(tenant_id, segment_id, criteria)
        if sample_size < 0:
            raise InvalidArgument("sample_size", "sample_size must not be negative")
        query = await self._filter(tenant_id, spec)
        return await self._repo.count_and_sample(query, min(sample_size or SAMPLE_DEFAULT, SAMPLE_MAX))

    async def stream(
        self, tenant_id: str, segment_id: str, criteria: dict[str, Any] | None, after: str = ""
    ) -> AsyncIterator[str]:
        """Matching ids in ascending order, after `after` when resuming."""
        spec = await self._spec(tenant_id, segment_id, criteria)
        query = await self._filter(tenant_id, spec)
        if after:
            query = {"$and": [query, {"_id": {"$gt": after}}]}
        async for member_id in self._repo.member_ids(query):
            yield member_id

    async def _spec(self, tenant_id: str, segment_id: str, criteria: dict[str, Any] | None) -> SegmentSpec:
        if segment_id:
            return parse_segment((await self.get(tenant_id, segment_id)).criteria)
        if criteria is None:
            raise InvalidArgument("criteria", "give a segment_id or criteria")
        return parse_segment(criteria)

    async def _filter(self, tenant_id: str, spec: SegmentSpec) -> dict[str, Any]:
        if spec.owner_staff_ids:
            owners: set[str] = set()
            for staff_id in spec.owner_staff_ids:
                owners |= await self._directory.predecessors(tenant_id, staff_id)
            spec = replace(spec, owner_staff_ids=tuple(sorted(owners)))
        return to_filter(spec, tenant_id, datetime.now(UTC))
