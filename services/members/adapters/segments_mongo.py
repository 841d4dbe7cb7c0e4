"""Saved segments, and evaluating segment filters over the members collection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from chassis.mongo import Document, find_for_tenant
from services.members.adapters.mongo import MEMBERS, from_doc
from services.members.domain.model import Member
from services.members.service.ports import SavedSegment

SEGMENTS = "segments"
STREAM_BATCH = 1000


class MongoSegmentRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._segments = db[SEGMENTS]
        self._members = db[MEMBERS]

    async def add(self, segment: SavedSegment) -> None:
        await self._segments.insert_one(
            {
                "_id": segment.id,
                "tenant_id": segment.tenant_id,
                "name": segment.name,
                "criteria": segment.criteria,
                "created_at": segment.created_at,
            }
        )

    async def get(self, tenant_id: str, segment_id: str) -> SavedSegment | None:
        d = await find_for_tenant(self._segments, tenant_id, segment_id)
        if d is None:
            return None
        return SavedSegment(
            id=d["_id"],
            tenant_id=d["tenant_id"],
            name=d["name"],
            criteria=d["criteria"],
            created_at=d["created_at"],
        )

    async def count_and_sample(self, query: dict[str, Any], sample_size: int) -> tuple[int, list[Member]]:
        # `query` always carries the tenant (segments.to_filter puts it in).
        count = await self._members.count_documents(query)
        docs = await self._members.find(query).limit(sample_size).to_list()
        return count, [from_doc(d) for d in docs]

    async def member_ids(self, query: dict[str, Any]) -> AsyncIterator[str]:
        # One cursor read in batches: memory stays at one batch whatever the audience size.
        cursor = self._members.find(query, {"_id": 1}, batch_size=STREAM_BATCH).sort("_id", 1)
        async for d in cursor:
            yield d["_id"]
