"""Messages in MongoDB: one document per message (`_id` = the message id), its delivery history
in it, the event its outcome announces embedded in the write that records the outcome (outbox).

- Once per key: a unique index on (tenant, key) decides; the loser reads the stored message.
- A dispatcher holds a message while it sends it: `claim` is one update conditional on the
  version read and on no live lease (`lease_until` past), setting a lease; `save` is one update
  conditional on the version the claim left, which releases it. A crash while holding it leaves
  a lease that runs out, and the next pass sends it (at least once: providers get the message id
  as their idempotency key). A new message is inserted already leased to the request that made
  it, so it is sent inline without a claim.
- Every query names the tenant, except `due`, the dispatcher's range over (state, due_at)
  across tenants; each message it returns is then claimed with its tenant.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from chassis import outbox
from chassis.mongo import Document, retry_busy
from services.messaging.adapters import events
from services.messaging.domain.channels import Channel, MessageClass
from services.messaging.domain.events import MessageFact
from services.messaging.domain.messages import LEASE, Attempt, Message, Outcome, State

MESSAGES = "messages"
FREE = datetime(1970, 1, 1, tzinfo=UTC)
INDEXES = {
    MESSAGES: [
        IndexModel([("tenant_id", ASCENDING), ("key", ASCENDING)], unique=True, name="one_message_per_key"),
        IndexModel([("state", ASCENDING), ("due_at", ASCENDING)], name="due"),
        IndexModel(
            [("tenant_id", ASCENDING), ("member_id", ASCENDING), ("_id", DESCENDING)], name="member_messages"
        ),
        IndexModel(
            [("tenant_id", ASCENDING), ("template_id", ASCENDING), ("_id", DESCENDING)],
            name="template_messages",
        ),
        IndexModel(
            [("tenant_id", ASCENDING), ("member_id", ASCENDING), ("sent_at", DESCENDING)], name="member_sent"
        ),
        IndexModel([("tenant_id", ASCENDING), ("created_at", ASCENDING)], name="tenant_created"),
    ],
}


def message_doc(m: Message) -> Document:
    return {
        "_id": m.id,
        "tenant_id": m.tenant_id,
        "member_id": m.member_id,
        "key": m.key,
        "template_id": m.template_id,
        "message_class": m.message_class.value,
        "channels": [c.value for c in m.channels],
        "position": m.position,
        "channel": m.channel.value if m.channel else "",
        "state": m.state.value,
        "due_at": m.due_at,
        "created_at": m.created_at,
        "sent_at": m.sent_at,
        "deferred": m.deferred,
        "attempts": m.attempts,
        "reason": m.reason,
        "history": [
            {
                "channel": a.channel,
                "outcome": a.outcome.value,
                "at": a.at,
                "reason": a.reason,
                "provider": a.provider,
                "provider_message_id": a.provider_message_id,
            }
            for a in m.history
        ],
        "variables": dict(m.variables),
        "source": m.source,
        "store_id": m.store_id,
        "staff_id": m.staff_id,
        "for_store": m.for_store,
        "staff_task_id": m.staff_task_id,
        "provider_message_id": m.provider_message_id,
        "version": m.version,
    }


def _utc(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def message_from(d: Document) -> Message:
    return Message(
        id=d["_id"],
        tenant_id=d["tenant_id"],
        member_id=d["member_id"],
        key=d["key"],
        template_id=d["template_id"],
        message_class=MessageClass(d["message_class"]),
        channels=tuple(Channel(c) for c in d["channels"]),
        position=d["position"],
        state=State(d["state"]),
        due_at=_utc(d["due_at"]) or FREE,
        created_at=_utc(d["created_at"]) or FREE,
        sent_at=_utc(d.get("sent_at")),
        deferred=d.get("deferred", False),
        attempts=d.get("attempts", 0),
        reason=d.get("reason", ""),
        history=tuple(
            Attempt(
                channel=a["channel"],
                outcome=Outcome(a["outcome"]),
                at=_utc(a["at"]) or FREE,
                reason=a.get("reason", ""),
                provider=a.get("provider", ""),
                provider_message_id=a.get("provider_message_id", ""),
            )
            for a in d.get("history", [])
        ),
        variables=dict(d.get("variables", {})),
        source=d.get("source", ""),
        store_id=d.get("store_id", ""),
        staff_id=d.get("staff_id", ""),
        for_store=d.get("for_store", False),
        staff_task_id=d.get("staff_task_id", ""),
        provider_message_id=d.get("provider_message_id", ""),
        version=d["version"],
    )


class MongoMessages:
    def __init__(
        self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox, lease: timedelta = LEASE
    ) -> None:
        self._messages = db[MESSAGES]
        self._lease = lease
        self._topic = topic
        self._outbox = out

    async def insert(self, m: Message, leased_until: datetime | None) -> tuple[Message, bool]:
        """Stored once per (tenant, key), held by this request until `leased_until` (None: not
        held); when the key was used, the stored message and False."""
        doc = message_doc(m) | {"lease_until": leased_until or FREE}
        try:
            await retry_busy(lambda: self._messages.insert_one(doc))
        except DuplicateKeyError:
            stored = await self.by_key(m.tenant_id, m.key)
            if stored is None:  # the message id collided, not the key: vanishingly rare
                raise
            return stored, False
        return m, True

    async def get(self, tenant_id: str, message_id: str) -> Message | None:
        d = await self._messages.find_one({"_id": message_id, "tenant_id": tenant_id})
        return message_from(d) if d else None

    async def by_key(self, tenant_id: str, key: str) -> Message | None:
        d = await self._messages.find_one({"tenant_id": tenant_id, "key": key})
        return message_from(d) if d else None

    async def due(self, now: datetime, limit: int) -> list[Message]:
        """Pending messages due by `now`, oldest due first, across tenants (the dispatcher)."""
        cursor = (
            self._messages.find({"state": State.PENDING.value, "due_at": {"$lte": now}})
            .sort("due_at", ASCENDING)
            .limit(limit)
        )
        return [
            message_from(d) for d in await cursor.to_list() if (_utc(d.get("lease_until")) or FREE) <= now
        ]

    async def claim(self, m: Message, now: datetime) -> Message | None:
        """Holds the message for one dispatcher for the lease; None when someone else has it."""
        d = await retry_busy(
            lambda: self._messages.find_one_and_update(
                {
                    "_id": m.id,
                    "tenant_id": m.tenant_id,
                    "version": m.version,
                    "state": State.PENDING.value,
                    "lease_until": {"$lte": now},
                },
                {"$set": {"lease_until": now + self._lease, "version": m.version + 1}},
                return_document=ReturnDocument.AFTER,
            )
        )
        return message_from(d) if d else None

    async def save(self, m: Message, expected_version: int, facts: Sequence[MessageFact] = ()) -> bool:
        """Writes the message as `m` if still at `expected_version`, releasing any lease, with
        its events; False when another writer changed it first (nothing written)."""
        fields = message_doc(m) | {"version": expected_version + 1, "lease_until": FREE}
        del fields["_id"]
        if facts:
            fields |= outbox.embed_set(self._topic, *events.envelopes(facts))
        result = await retry_busy(
            lambda: self._messages.update_one(
                {"_id": m.id, "tenant_id": m.tenant_id, "version": expected_version}, {"$set": fields}
            )
        )
        if result.matched_count != 1:
            return False
        if facts:
            self._outbox.wake()
        return True

    async def forget_member(self, tenant_id: str, member_id: str) -> None:
        """Erasure: the values the member's messages were rendered with go (names, codes, links);
        the records of what was sent when, by which channel, stay for the reports."""
        await retry_busy(
            lambda: self._messages.update_many(
                {"tenant_id": tenant_id, "member_id": member_id}, {"$set": {"variables": {}}}
            )
        )

    async def find(
        self, tenant_id: str, member_id: str, template_id: str, limit: int, before_id: str | None
    ) -> list[Message]:
        query: dict[str, Any] = {"tenant_id": tenant_id}
        if member_id:
            query["member_id"] = member_id
        if template_id:
            query["template_id"] = template_id
        if before_id:
            query["_id"] = {"$lt": before_id}
        docs = await self._messages.find(query).sort("_id", DESCENDING).limit(limit).to_list()
        return [message_from(d) for d in docs]
