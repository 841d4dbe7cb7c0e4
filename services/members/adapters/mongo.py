"""Members in MongoDB. Documents are mapped to the domain here and only here."""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.mongo import Document, find_for_tenant, insert_once
from services.members.adapters import events
from services.members.domain.model import Member, Profile

MEMBERS = "members"

INDEXES = {
    MEMBERS: [
        IndexModel([("tenant_id", ASCENDING), ("phone", ASCENDING)], unique=True, name="tenant_phone"),
    ],
}


# Fields later changes update in place; present from the start so segment filters find them.
NEW_MEMBER_DEFAULTS: Document = {
    "tier": "normal",
    "tags": [],
    "points_balance": 0,
    "consent": {"sms": False, "wechat": False, "app": False, "phone": False},
}


def to_doc(m: Member) -> Document:
    return {
        "_id": m.id,
        "tenant_id": m.tenant_id,
        "phone": m.phone,
        "name": m.name,
        "surname": m.surname,
        "home_store_id": m.home_store_id,
        "channel": m.channel,
        "registered_at": m.registered_at,
        "owner_staff_id": m.owner_staff_id,
        "gender": m.profile.gender,
        "tags": list(m.profile.tags),
        "notes": m.profile.notes,
        "card_no": m.profile.card_no,
    } | ({"birthday": {"month": b[0], "day": b[1], "year": b[2]}} if (b := m.profile.birthday) else {})


def from_doc(d: Document) -> Member:
    return Member(
        id=d["_id"],
        tenant_id=d["tenant_id"],
        phone=d["phone"],
        name=d["name"],
        surname=d.get("surname", ""),
        home_store_id=d.get("home_store_id", ""),
        channel=d.get("channel", ""),
        registered_at=d["registered_at"],
        owner_staff_id=d.get("owner_staff_id", ""),
        profile=Profile(
            gender=d.get("gender", "unknown"),
            birthday=(b["month"], b["day"], b.get("year")) if (b := d.get("birthday")) else None,
            tags=tuple(d.get("tags", ())),
            notes=d.get("notes", ""),
            card_no=d.get("card_no", ""),
        ),
    )


class MongoMemberRepository:
    def __init__(self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox) -> None:
        self._members = db[MEMBERS]
        self._topic = topic
        self._outbox = out

    async def add(self, member: Member) -> Member | None:
        registered = events.member_registered(member)
        doc = NEW_MEMBER_DEFAULTS | to_doc(member) | outbox.embed(self._topic, registered)
        if not await insert_once(self._members, doc):
            return None
        await self._outbox.track(MEMBERS, member.id)
        return member

    async def get(self, tenant_id: str, member_id: str) -> Member | None:
        doc = await find_for_tenant(self._members, tenant_id, member_id)
        return from_doc(doc) if doc else None

    async def get_by_phone(self, tenant_id: str, phone: str) -> Member | None:
        doc = await self._members.find_one({"tenant_id": tenant_id, "phone": phone})
        return from_doc(doc) if doc else None
