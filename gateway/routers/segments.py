"""Segments: saved filters over members, previewed on demand (audiences stream over gRPC)."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct
from regulars.members.v1 import members_pb2

from gateway.clients.channels import call_metadata
from gateway.deps import ClientsDep, ReadSegments, WriteSegments
from gateway.routers.members import member_out
from gateway.schemas.problems import responses
from gateway.schemas.segments import CreateSegmentBody, PreviewBody, PreviewOut, SegmentCriteria, SegmentOut

router = APIRouter(prefix="/v1/segments", tags=["segments"])
SegmentId = Annotated[str, Path(min_length=1, max_length=64, description="Segment id")]


def _struct(criteria: SegmentCriteria) -> Struct:
    struct = Struct()
    struct.update(criteria.given())  # type: ignore[arg-type]
    return struct


def _segment(s: members_pb2.Segment) -> SegmentOut:
    return SegmentOut(
        id=s.id,
        name=s.name,
        criteria=json_format.MessageToDict(s.criteria),
        created_at=s.created_at.ToDatetime(tzinfo=UTC),
    )


def _preview(p: members_pb2.SegmentPreview) -> PreviewOut:
    return PreviewOut(count=p.count, sample=[member_out(m) for m in p.sample])


@router.post(
    "",
    status_code=201,
    summary="Save a segment",
    description="A named filter, evaluated whenever it is used. Scope `segments:write`.",
    responses=responses(400, 401, 403, 422, 429, 503),
)
async def create_segment(
    body: CreateSegmentBody, caller: WriteSegments, clients: ClientsDep, request: Request
) -> SegmentOut:
    saved = await clients.members.CreateSegment(
        members_pb2.CreateSegmentRequest(
            tenant_id=caller.tenant_id, name=body.name, criteria=_struct(body.criteria)
        ),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return _segment(saved)


@router.post(
    "/preview",
    summary="Preview criteria",
    description="How many members match, and a sample, without saving. Scope `segments:read`.",
    responses=responses(400, 401, 403, 422, 429, 503),
)
async def preview_criteria(
    body: PreviewBody, caller: ReadSegments, clients: ClientsDep, request: Request
) -> PreviewOut:
    reply = await clients.members.PreviewSegment(
        members_pb2.PreviewSegmentRequest(
            tenant_id=caller.tenant_id, criteria=_struct(body.criteria), sample_size=body.sample_size
        ),
        timeout=request.app.state.settings.segment_preview_timeout_seconds,
        metadata=call_metadata(request),
    )
    return _preview(reply)


@router.get(
    "/{segment_id}",
    summary="Read a segment",
    description="Scope `segments:read`.",
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def get_segment(
    segment_id: SegmentId, caller: ReadSegments, clients: ClientsDep, request: Request
) -> SegmentOut:
    saved = await clients.members.GetSegment(
        members_pb2.GetSegmentRequest(tenant_id=caller.tenant_id, segment_id=segment_id),
        timeout=clients.timeout,
        metadata=call_metadata(request),
    )
    return _segment(saved)


@router.get(
    "/{segment_id}/preview",
    summary="Preview a saved segment",
    description="How many members match now, and a sample. Scope `segments:read`.",
    responses=responses(401, 403, 404, 422, 429, 503),
)
async def preview_segment(
    segment_id: SegmentId,
    caller: ReadSegments,
    clients: ClientsDep,
    request: Request,
    sample_size: Annotated[int, Query(ge=1, le=100)] = 10,
) -> PreviewOut:
    reply = await clients.members.PreviewSegment(
        members_pb2.PreviewSegmentRequest(
            tenant_id=caller.tenant_id, segment_id=segment_id, sample_size=sample_size
        ),
        timeout=request.app.state.settings.segment_preview_timeout_seconds,
        metadata=call_metadata(request),
    )
    return _preview(reply)
