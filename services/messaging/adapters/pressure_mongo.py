"""Each member's recent contacts, for frequency caps, kept in the member's contact document
(contacts_mongo.py: `recent`, versioned by `pv`): the care and marketing messages that reached
them in the last days, whatever the channel.

Taking a slot is read, decide (domain/caps.py), write — the write conditional on the version
read, so two messages racing for a member's last slot cannot both take it: the loser reads
again and is told it is capped. The read is the contact the dispatcher already holds (no read
of its own on the common path). A message counts once however often it is dispatched (its id is
in the list), so a send retried after a crash uses no second slot. A slot stays taken even when
every channel then fails: caps err on the side of fewer messages.
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
from services.messaging.adapters.contacts_mongo import CONTACTS, contact_from
from services.messaging.domain import caps
from services.messaging.domain.caps import Contacted
from services.messaging.domain.channels import MessageClass
from services.messaging.domain.contacts import Contact
from services.messaging.domain.policy import CapRule

INDEXES: dict[str, list[IndexModel]] = {}  # the contacts' documents, by _id
ATTEMPTS = 20


def _entries(recent: Sequence[Contacted]) -> list[Document]:
    return [{"at": c.at.astimezone(UTC), "c": c.message_class.value, "m": c.message_id} for c in recent]


class MongoPressure:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._contacts = db[CONTACTS]

    async def take(
        self,
        tenant_id: str,
        member_id: str,
        message_id: str,
        message_class: MessageClass,
        rules: Sequence[CapRule],
        zone: ZoneInfo,
        now: datetime,
        seen: Contact | None = None,
    ) -> CapRule | None:
        """Counts the message against the member's caps: None when it may go (counted, once),
        else the rule that stops it (nothing counted). `seen`: the member as just read."""
        key = f"{tenant_id}:{member_id}"
        for attempt in range(ATTEMPTS):
            if attempt or seen is None:
                if attempt:
                    await asyncio.sleep(random.uniform(0, 0.002 * attempt))
                doc = await self._contacts.find_one({"_id": key, "tenant_id": tenant_id})
                seen = contact_from(doc) if doc else Contact(tenant_id, member_id)
            if any(c.message_id == message_id for c in seen.recent):
                return None
            rule = caps.stopping_rule(rules, seen.recent, message_class, now, zone)
            if rule is not None:
                return rule
            kept = [*caps.prune(seen.recent, now), Contacted(now, message_class, message_id)]
            if await self._write(key, tenant_id, member_id, seen.recent_version, _entries(kept)):
                return None
        raise Unavailable("the member's contact record is changing too fast; try again")

    async def _write(
        self, key: str, tenant_id: str, member_id: str, version: int, kept: list[Document]
    ) -> bool:
        """The new list if it is still the version read (0: none was ever written)."""
        guard = {"pv": version} if version else {"pv": {"$exists": False}}
        try:
            result = await retry_busy(
                lambda: self._contacts.update_one(
                    {"_id": key, "tenant_id": tenant_id, **guard},
                    {"$set": {"recent": kept, "pv": version + 1}, "$setOnInsert": {"member_id": member_id}},
                    upsert=True,
                )
            )
        except DuplicateKeyError:  # the document exists with another version: read again
            return False
        return result.matched_count == 1 or result.upserted_id is not None

    async def forget_member(self, tenant_id: str, member_id: str) -> None:
        await retry_busy(
            lambda: self._contacts.update_one(
                {"_id": f"{tenant_id}:{member_id}", "tenant_id": tenant_id},
                {"$unset": {"recent": "", "pv": ""}},
            )
        )
