"""What coupons knows about members, kept current from members' events (a local projection).

The claim path must not call the members service per claim (a flash claim would be thousands
of calls at once), so the tier and the blacklist of each member live here, keyed
`<tenant>:<member>`, and a segment audience is copied in when its template activates, one
document `<template>:<member>` per member: each check is one indexed `_id` read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from chassis.mongo import Document, insert_once
from services.coupons.domain.audience import MemberView

PROFILES = "member_profiles"
AUDIENCES = "segment_audiences"


class MongoAudience:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._profiles = db[PROFILES]
        self._audiences = db[AUDIENCES]

    async def member(self, tenant_id: str, member_id: str) -> MemberView | None:
        doc = await self._profiles.find_one({"_id": f"{tenant_id}:{member_id}"})
        if doc is None:
            return None
        return MemberView(
            tier=doc.get("tier", ""),
            blacklisted=bool(doc.get("blacklisted")),
            gone=bool(doc.get("erased") or doc.get("merged_into")),
        )

    async def registered(self, tenant_id: str, member_id: str, tier: str, at: datetime) -> None:
        doc = {"_id": f"{tenant_id}:{member_id}", "tenant_id": tenant_id, "tier": tier, "at": at}
        if not await insert_once(self._profiles, doc):
            await self.change(tenant_id, member_id, {"tier": tier} if tier else {})

    async def change(self, tenant_id: str, member_id: str, fields: dict[str, Any]) -> None:
        """Set fields of the member's view (creating it if its member_registered is still to come)."""
        if not fields:
            return
        await self._profiles.update_one(
            {"_id": f"{tenant_id}:{member_id}"},
            {"$set": fields, "$setOnInsert": {"tenant_id": tenant_id}},
            upsert=True,
        )

    async def in_segment(self, template_id: str, member_id: str) -> bool:
        return await self._audiences.find_one({"_id": f"{template_id}:{member_id}"}, {"_id": 1}) is not None

    async def add_to_segment(self, tenant_id: str, template_id: str, member_ids: list[str]) -> None:
        for member_id in member_ids:
            await insert_once(
                self._audiences,
                {"_id": f"{template_id}:{member_id}", "tenant_id": tenant_id, "template_id": template_id},
            )
