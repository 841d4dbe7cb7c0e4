"""Erased members in MongoDB: one marker per erased member (`_id` derived from the tenant and
the member), written once, before any of their content is scrubbed.

The marker is what a later write for that member checks (service/erasure.py): written first, so
a write that finds no marker after its own write happened before the marker, and the scrub that
follows the marker finds that write. Nothing personal is in it.
"""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase

from chassis.mongo import Document, find_for_tenant, insert_once
from services.feedback.domain.keys import derived_id

ERASED = "erased_members"


def marker_id(tenant_id: str, member_id: str) -> str:
    return derived_id(tenant_id, "erased", member_id)


class MongoErasures:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._erased = db[ERASED]

    async def record(self, tenant_id: str, member_id: str, at: datetime) -> datetime:
        """Mark the member erased (once); when they were first marked."""
        doc = {
            "_id": marker_id(tenant_id, member_id),
            "tenant_id": tenant_id,
            "member_id": member_id,
            "at": at,
        }
        if await insert_once(self._erased, doc):
            return at
        found = await self.erased_at(tenant_id, member_id)
        return found or at

    async def erased_at(self, tenant_id: str, member_id: str) -> datetime | None:
        found = await find_for_tenant(self._erased, tenant_id, marker_id(tenant_id, member_id), {"at": 1})
        return found["at"] if found else None
