"""The report's read of the messages the sending pipeline writes (collection `messages`): the
tenant's messages requested in a period, only the fields the report counts (a projection).

It needs the index (tenant_id, created_at) on `messages`, which the pipeline's adapter declares
with the collection it owns.
"""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase

from chassis.mongo import Document
from services.messaging.domain.reports import ReportedMessage

MESSAGES = "messages"
_COUNTED = {"template_id": 1, "channel": 1, "state": 1, "deferred": 1}


def period(field: str, since: datetime | None, until: datetime | None) -> Document:
    """The filter fragment of [since, until) on `field`; unset ends are open."""
    bounds: Document = {}
    if since is not None:
        bounds["$gte"] = since
    if until is not None:
        bounds["$lt"] = until
    return {field: bounds} if bounds else {}


class MongoReports:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._messages = db[MESSAGES]

    async def requested_between(
        self, tenant_id: str, since: datetime | None, until: datetime | None, limit: int
    ) -> list[ReportedMessage]:
        query = {"tenant_id": tenant_id} | period("created_at", since, until)
        found = self._messages.find(query, _COUNTED).limit(limit)
        return [
            ReportedMessage(
                id=d["_id"],
                template_id=d.get("template_id", ""),
                channel=d.get("channel") or "",
                state=d.get("state", ""),
                deferred=bool(d.get("deferred")),
            )
            async for d in found
        ]
