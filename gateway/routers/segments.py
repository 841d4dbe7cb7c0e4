"""Segments: saved filters over members, previewed on demand (audiences stream over gRPC)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from gateway.deps import MembersDep, ReadSegments, WriteSegments
from gateway.schemas.problems import responses
from gateway.schemas.segments import CreateSegmentBody, PreviewBody, PreviewOut, SegmentOut

router = APIRouter(prefix="/v1/segments", tags=["segments"])
SegmentId = Annotated[str, Path(min_length=1, max_length=64, description="Segment id")]


@router.post(
    "",
    status_code=201,
    summary="Save a segment",
    description="A named filter, evaluated whenever it is used. Scope `segments:write`.",
    responses=responses(400, 401, 403, 422, 429, 503),
)
async def create_segment(body: CreateSegmentBody, caller: WriteSegments, members: MembersDep) -> SegmentOut:
    return await members.create_segment(caller.tenant_id, body.name, body.criteria)


@router.post(
    "/preview",
    summary="Preview criteria",
    description="How many members match, and a sample, without saving. Scope `segments:read`.",
    responses=responses(400, 401, 403, 422, 429, 503),
)
async def preview_criteria(body: PreviewBody, caller: ReadSegments, members: MembersDep) -> PreviewOut:
    return await members.preview(caller.tenant_id, body.sample_size, criteria=body.criteria)


@router.get(
    "/{segment_id}",
    summary="Read a segment",
    description="Scope `segments:read`.",
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def get_segment(segment_id: SegmentId, caller: ReadSegments, members: MembersDep) -> SegmentOut:
    return await members.get_segment(caller.tenant_id, segment_id)


@router.get(
    "/{segment_id}/preview",
    summary="Preview a saved segment",
    description="How many members match now, and a sample. Scope `segments:read`.",
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def preview_segment(
    segment_id: SegmentId,
    caller: ReadSegments,
    members: MembersDep,
    sample_size: Annotated[int, Query(ge=1, le=100)] = 10,
) -> PreviewOut:
    return await members.preview(caller.tenant_id, sample_size, segment_id=segment_id)
