"""Inbox messages in MongoDB; documents map to the domain here only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from chassis.mongo import Document, insert_once
from services.messaging.domain.model import InboxMessage

INBOX = "inbox_messages"
MEMBERS = "members"  # messaging's view of members, fed by members' events

INDEXES = {
    INBOX: [
        IndexModel(
            [("tenant_id", ASCENDING), ("kind", ASCENDING), ("source_event_id", ASCENDING)],
            unique=True,
            name="one_message_per_event",
        ),
        IndexModel(
            [("tenant_id", ASCENDING), ("member_id", ASCENDING), ("_id", DESCENDING)],
            name="member_inbox",
        ),
    ],
}


def to_doc(m: InboxMessage) -> Document:
    return {
        "_id": m.id,
        "tenant_id": m.tenant_id,
        "member_id": m.member_id,
        "kind": m.kind,
        "title": m.title,
        "body": m.body,
        "source_event_id": m.source_event_id,
        "created_at": m.created_at,
        "read_at": m.read_at,
        "message_id": m.message_id,
    }


def from_doc(d: Document) -> InboxMessage:
    return InboxMessage(
        id=d["_id"],
        tenant_id=d["tenant_id"],
        member_id=d["member_id"],
        kind=d["kind"],
        title=d["title"],
        body=d["body"],
        source_event_id=d["source_event_id"],
        created_at=d["created_at"],
        read_at=d.get("read_at"),
        message_id=d.get("message_id", ""),
    )


class MongoInboxRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._inbox = db[INBOX]
        self._members = db[MEMBERS]

    async def know_member(self, tenant_id: str, member_id: str) -> None:
        await self._members.update_one(
            {"_id": member_id, "tenant_id": tenant_id},
            {"$setOnInsert": {"tenant_id": tenant_id}},
            upsert=True,
        )

    async def member_known(self, tenant_id: str, member_id: str) -> bool:
        return (
            await self._members.find_one({"_id": member_id, "tenant_id": tenant_id}, {"_id": 1}) is not None
        )

    async def forget_member(self, tenant_id: str, member_id: str) -> None:
        await self._inbox.delete_many({"tenant_id": tenant_id, "member_id": member_id})

    async def add_once(self, message: InboxMessage) -> bool:
        return await insert_once(self._inbox, to_doc(message))

    async def list_for_member(
        self, tenant_id: str, member_id: str, limit: int, before_id: str | None
    ) -> list[InboxMessage]:
        query: dict[str, Any] = {"tenant_id": tenant_id, "member_id": member_id}
        if before_id:
            query["_id"] = {"$lt": before_id}
        docs = await self._inbox.find(query).sort("_id", DESCENDING).limit(limit).to_list()
        return [from_doc(d) for d in docs]

    async def mark_read(
        self, tenant_id: str, member_id: str, inbox_id: str, now: datetime
    ) -> tuple[InboxMessage, bool] | None:
        """Marks it read once; (the message, whether this call did), None when it is not theirs."""
        d = await self._inbox.find_one_and_update(
            {"_id": inbox_id, "tenant_id": tenant_id, "member_id": member_id, "read_at": None},
            {"$set": {"read_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        if d is not None:
            return from_doc(d), True
        d = await self._inbox.find_one({"_id": inbox_id, "tenant_id": tenant_id, "member_id": member_id})
        return (from_doc(d), False) if d else None
