"""Attributed conversions in MongoDB, and the sent messages attribution weighs.

- `conversions`: one document per (tenant, kind, ref) (`_id` = tenant:kind:ref), inserted once
  with message_converted embedded (outbox): a redelivered purchase or claim finds its id taken
  and writes nothing. Each holds the message it went to (its template, channel, assistant,
  store and request time), so the report and the assistants' revenue group conversions in the
  store (`$match` on an index, then `$group`) without reading the messages again.
- The member's messages sent in a window are read from the pipeline's `messages` on its index
  (tenant_id, member_id, sent_at).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.mongo import Document, insert_once
from services.messaging.adapters import engagement_events
from services.messaging.adapters.reports_mongo import MESSAGES, period
from services.messaging.domain.attribution import Candidate, Conversion
from services.messaging.domain.reports import MessageOutcome

CONVERSIONS = "conversions"
INDEXES = {
    CONVERSIONS: [
        IndexModel([("tenant_id", ASCENDING), ("at", ASCENDING)], name="conversions_by_time"),
        IndexModel(
            [("tenant_id", ASCENDING), ("store_id", ASCENDING), ("at", ASCENDING)], name="store_conversions"
        ),
        IndexModel(
            [("tenant_id", ASCENDING), ("message_created_at", ASCENDING)], name="conversions_by_request"
        ),
    ],
}
OUTBOX_COLLECTIONS = [CONVERSIONS]
_SENT = {
    f: 1
    for f in (
        "template_id",
        "channel",
        "staff_id",
        "store_id",
        "message_class",
        "created_at",
        "state",
        "sent_at",
    )
}


def conversion_doc(c: Conversion) -> Document:
    m = c.message
    return {
        "_id": c.id,
        "tenant_id": c.tenant_id,
        "member_id": c.member_id,
        "kind": c.kind.value,
        "ref": c.ref,
        "at": c.at,
        "via": c.via.value,
        "revenue_minor": c.revenue_minor,
        "currency": c.currency,
        "message_id": m.message_id,
        "template_id": m.template_id,
        "channel": m.channel,
        "staff_id": m.staff_id,
        "store_id": m.store_id,
        "message_class": m.message_class,
        "message_created_at": m.created_at,
    }


class MongoConversions:
    def __init__(self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox) -> None:
        self._conversions = db[CONVERSIONS]
        self._messages = db[MESSAGES]
        self._topic = topic
        self._outbox = out

    async def sent_between(
        self, tenant_id: str, member_id: str, start: datetime, end: datetime
    ) -> list[Candidate]:
        query = {"tenant_id": tenant_id, "member_id": member_id, "sent_at": {"$gte": start, "$lte": end}}
        return [
            Candidate(
                message_id=d["_id"],
                template_id=d.get("template_id", ""),
                channel=d.get("channel") or "",
                staff_id=d.get("staff_id") or "",
                store_id=d.get("store_id") or "",
                message_class=d.get("message_class", ""),
                created_at=d["created_at"],
                state=d.get("state", ""),
                sent_at=d.get("sent_at"),
            )
            async for d in self._messages.find(query, _SENT)
        ]

    async def record(self, conversion: Conversion) -> bool:
        doc = conversion_doc(conversion) | outbox.embed(self._topic, engagement_events.converted(conversion))
        stored = await insert_once(self._conversions, doc)
        if stored:
            self._outbox.wake()
        return stored

    async def by_staff(
        self, tenant_id: str, store_id: str, since: datetime | None, until: datetime | None
    ) -> list[tuple[str, str, int, int]]:
        match = (
            {"tenant_id": tenant_id}
            | ({"store_id": store_id} if store_id else {})
            | period("at", since, until)
        )
        key = {"staff": "$staff_id", "currency": "$currency"}
        return [
            (staff, currency, n, revenue)
            for (staff, currency), (n, revenue) in (await self._sum(match, key)).items()
        ]

    async def outcomes(
        self, tenant_id: str, since: datetime | None, until: datetime | None
    ) -> dict[str, MessageOutcome]:
        match = {"tenant_id": tenant_id} | period("message_created_at", since, until)
        key = {"message": "$message_id", "currency": "$currency"}
        conversions: dict[str, int] = defaultdict(int)
        amounts: dict[str, dict[str, int]] = defaultdict(dict)
        for (message, currency), (n, revenue) in (await self._sum(match, key)).items():
            conversions[message] += n
            amounts[message][currency] = revenue
        return {m: MessageOutcome(conversions[m], amounts[m]) for m in conversions}

    async def _sum(self, match: Document, key: dict[str, str]) -> dict[tuple[str, str], tuple[int, int]]:
        """(conversions, revenue) per (the two fields of) `key` over the matched conversions."""
        cursor = await self._conversions.aggregate(
            [
                {"$match": match},
                {"$group": {"_id": key, "n": {"$sum": 1}, "revenue": {"$sum": "$revenue_minor"}}},
            ]
        )
        a, b = list(key)
        return {(g["_id"][a], g["_id"][b]): (int(g["n"]), int(g["revenue"])) async for g in cursor}
