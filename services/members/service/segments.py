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


async def create_segment(
    tenant_id: str, name: str, criteria: dict[str, Any], repo: SegmentRepository
) -> SavedSegment:
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
    await repo.add(segment)
    return segment


async def resolve_spec(
    tenant_id: str, segment_id: str, criteria: dict[str, Any] | None, repo: SegmentRepository
) -> SegmentSpec:
    if segment_id:
        saved = await repo.get(tenant_id, segment_id)
        if saved is None:
            raise NotFound(f"segment {segment_id} not found")
        return parse_segment(saved.criteria)
    if criteria is None:
        raise InvalidArgument("criteria", "give a segment_id or criteria")
    return parse_segment(criteria)


async def member_filter(
    tenant_id: str, spec: SegmentSpec, directory: DirectoryRepository, now: datetime | None = None
) -> dict[str, Any]:
    if spec.owner_staff_ids:
        owners: set[str] = set()
        for staff_id in spec.owner_staff_ids:
            owners |= await directory.predecessors(tenant_id, staff_id)
        spec = replace(spec, owner_staff_ids=tuple(sorted(owners)))
    return to_filter(spec, tenant_id, now or datetime.now(UTC))


async def preview(
    tenant_id: str,
    spec: SegmentSpec,
    sample_size: int,
    repo: SegmentRepository,
    directory: DirectoryRepository,
) -> tuple[int, list[Member]]:
    if sample_size < 0:
        raise InvalidArgument("sample_size", "sample_size must not be negative")
    query = await member_filter(tenant_id, spec, directory)
    return await repo.count_and_sample(query, min(sample_size or SAMPLE_DEFAULT, SAMPLE_MAX))


async def stream(
    tenant_id: str,
    spec: SegmentSpec,
    repo: SegmentRepository,
    directory: DirectoryRepository,
    after: str = "",
) -> AsyncIterator[str]:
    """Matching ids in ascending order, after `after` when resuming."""
    query = await member_filter(tenant_id, spec, directory)
    if after:
        query = {"$and": [query, {"_id": {"$gt": after}}]}
    async for member_id in repo.member_ids(query):
        yield member_id
