"""Each member's recent contacts in MongoDB, for frequency caps: one document per member
(`_id` = tenant:member) listing the care and marketing messages that went in the last days.

Taking a slot is read, decide (domain/caps.py), write — the write conditional on the version
read, so two messages racing for a member's last slot cannot both take it: the loser reads
again and is told it is capped. A message counts once however often it is dispatched (its id
is in the list), so a send retried after a crash uses no second slot.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pymongo import IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from chassis.errors import Unavailable
from chassis.mongo import Document, retry_busy
from services.messaging.domain import caps
from services.messaging.domain.caps import Contacted
from services.messaging.domain.channels import MessageClass
from services.messaging.domain.policy import CapRule

PRESSURE = "contact_pressure"
INDEXES: dict[str, list[IndexModel]] = {PRESSURE: []}  # point reads by _id only
ATTEMPTS = 20


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _recent(doc: Document | None) -> list[Contacted]:
    if doc is None:
        return []
    return [Contacted(_utc(c["at"]), MessageClass(c["c"]), c["m"]) for c in doc.get("recent", [])]


def _entries(recent: Sequence[Contacted]) -> list[Document]:
    return [{"at": c.at, "c": c.message_class.value, "m": c.message_id} for c in recent]


class MongoPressure:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._pressure = db[PRESSURE]

    async def take(
        self,
        tenant_id: str,
        member_id: str,
        message_id: str,
        message_class: MessageClass,
        rules: Sequence[CapRule],
        zone: ZoneInfo,
        now: datetime,
    ) -> CapRule | None:
        """Counts the message against the member's caps: None when it may go (counted, once),
        else the rule that stops it (nothing counted)."""
        key = f"{tenant_id}:{member_id}"
        for attempt in range(ATTEMPTS):
            if attempt:
                await asyncio.sleep(random.uniform(0, 0.002 * attempt))
            doc = await self._pressure.find_one({"_id": key, "tenant_id": tenant_id})
            recent = _recent(doc)
            if any(c.message_id == message_id for c in recent):
                return None
            rule = caps.stopping_rule(rules, recent, message_class, now, zone)
            if rule is not None:
                return rule
            kept = _entries([*caps.prune(recent, now), Contacted(now, message_class, message_id)])
            if await self._write(key, tenant_id, doc["v"] if doc else None, kept):
                return None
        raise Unavailable("the member's contact record is changing too fast; try again")

    async def _write(self, key: str, tenant_id: str, version: int | None, kept: list[Document]) -> bool:
        """The new list if the document is still as read (absent when `version` is None)."""
        if version is None:
            try:
                await retry_busy(
                    lambda: self._pressure.insert_one(
                        {"_id": key, "tenant_id": tenant_id, "recent": kept, "v": 1}
                    )
                )
            except DuplicateKeyError:
                return False
            return True
        result = await retry_busy(
            lambda: self._pressure.update_one(
                {"_id": key, "tenant_id": tenant_id, "v": version},
                {"$set": {"recent": kept, "v": version + 1}},
            )
        )
        return result.matched_count == 1

    async def forget_member(self, tenant_id: str, member_id: str) -> None:
        await self._pressure.delete_one({"_id": f"{tenant_id}:{member_id}", "tenant_id": tenant_id})
