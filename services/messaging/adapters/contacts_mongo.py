"""Messaging's view of members in MongoDB (`contacts`, `_id` = tenant:member), kept current
from members' events. Each event sets only the fields it is about, so events of different
kinds never overwrite each other; a consent change is applied unless a later one for the same
channel is already recorded (the filter says so), so reordered events leave the latest.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from chassis.mongo import Document, retry_busy
from services.messaging.domain.caps import Contacted
from services.messaging.domain.channels import MessageClass
from services.messaging.domain.contacts import Contact

CONTACTS = "contacts"
INDEXES: dict[str, list[IndexModel]] = {CONTACTS: []}  # point reads by _id only


def _key(tenant_id: str, member_id: str) -> str:
    return f"{tenant_id}:{member_id}"


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def contact_from(d: Document) -> Contact:
    return Contact(
        tenant_id=d["tenant_id"],
        member_id=d["member_id"],
        name=d.get("name", ""),
        surname=d.get("surname", ""),
        gender=d.get("gender", ""),
        consent=dict(d.get("consent", {})),
        consent_at={k: _utc(v) for k, v in d.get("consent_at", {}).items()},
        preferred_channel=d.get("preferred_channel", ""),
        owner_staff_id=d.get("owner_staff_id", ""),
        home_store_id=d.get("home_store_id", ""),
        time_zone=d.get("time_zone", ""),
        points_balance=d.get("points_balance", 0),
        tier=d.get("tier", ""),
        erased=d.get("erased", False),
        recent=tuple(Contacted(_utc(c["at"]), MessageClass(c["c"]), c["m"]) for c in d.get("recent", [])),
        recent_version=d.get("pv", 0),
    )


def _profile(c: Contact) -> Document:
    return {
        "name": c.name,
        "surname": c.surname,
        "gender": c.gender,
        "preferred_channel": c.preferred_channel,
        "owner_staff_id": c.owner_staff_id,
        "home_store_id": c.home_store_id,
        "tier": c.tier,
    }


class MongoContacts:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._contacts = db[CONTACTS]

    async def get(self, tenant_id: str, member_id: str) -> Contact | None:
        d = await self._contacts.find_one({"_id": _key(tenant_id, member_id), "tenant_id": tenant_id})
        return contact_from(d) if d else None

    async def _set(self, tenant_id: str, member_id: str, fields: Document) -> None:
        await retry_busy(
            lambda: self._contacts.update_one(
                {"_id": _key(tenant_id, member_id), "tenant_id": tenant_id},
                {"$set": fields, "$setOnInsert": {"member_id": member_id}},
                upsert=True,
            )
        )

    async def put_if_absent(self, contact: Contact) -> Contact:
        doc: dict[str, Any] = {
            "_id": _key(contact.tenant_id, contact.member_id),
            "tenant_id": contact.tenant_id,
            "member_id": contact.member_id,
            **_profile(contact),
            "consent": dict(contact.consent),
            "consent_at": dict(contact.consent_at),
            "points_balance": contact.points_balance,
        }
        try:
            await retry_busy(lambda: self._contacts.insert_one(doc))
        except DuplicateKeyError:
            stored = await self.get(contact.tenant_id, contact.member_id)
            return stored or contact
        return contact

    async def registered(self, contact: Contact) -> None:
        """The member as enrolled. The owner and tier are filled only when no later event
        (member_staff_assigned, member_tier_changed) set them first."""
        later = {"owner_staff_id": contact.owner_staff_id, "tier": contact.tier}
        profile = {k: v for k, v in _profile(contact).items() if k not in later}
        await self._set(contact.tenant_id, contact.member_id, profile)
        for name, value in later.items():
            await self._fill(contact.tenant_id, contact.member_id, name, value)

    async def _fill(self, tenant_id: str, member_id: str, name: str, value: str) -> None:
        """Sets the field unless it is there already."""
        await retry_busy(
            lambda: self._contacts.update_one(
                {"_id": _key(tenant_id, member_id), "tenant_id": tenant_id, name: {"$exists": False}},
                {"$set": {name: value}},
            )
        )

    async def consent_changed(
        self, tenant_id: str, member_id: str, channel: str, granted: bool, at: datetime
    ) -> None:
        await self._set_unless_later(
            tenant_id, member_id, f"consent_at.{channel}", at, {f"consent.{channel}": granted}
        )

    async def profile_changed(
        self, tenant_id: str, member_id: str, fields: dict[str, str], at: datetime
    ) -> None:
        """Names, gender, preferred channel as changed, unless a later change is recorded."""
        await self._set_unless_later(tenant_id, member_id, "profile_at", at, fields)

    async def _set_unless_later(
        self, tenant_id: str, member_id: str, stamp: str, at: datetime, fields: Document
    ) -> None:
        """Sets `fields` and `stamp` = `at`, unless `stamp` already holds a later moment: the
        filter says so, and the upsert then collides with the document that does (events
        reorder; the latest change stays)."""
        try:
            await retry_busy(
                lambda: self._contacts.update_one(
                    {
                        "_id": _key(tenant_id, member_id),
                        "tenant_id": tenant_id,
                        "$or": [{stamp: {"$exists": False}}, {stamp: {"$lte": at}}],
                    },
                    {"$set": {**fields, stamp: at}, "$setOnInsert": {"member_id": member_id}},
                    upsert=True,
                )
            )
        except DuplicateKeyError:
            return  # a later change is recorded: it stays

    async def owner_changed(self, tenant_id: str, member_id: str, staff_id: str) -> None:
        await self._set(tenant_id, member_id, {"owner_staff_id": staff_id})

    async def points_changed(self, tenant_id: str, member_id: str, balance: int, at: datetime) -> None:
        """The balance after a change, unless a later change is already recorded."""
        await self._set_unless_later(tenant_id, member_id, "points_at", at, {"points_balance": balance})

    async def tier_changed(self, tenant_id: str, member_id: str, tier: str) -> None:
        await self._set(tenant_id, member_id, {"tier": tier})

    async def erase(self, tenant_id: str, member_id: str) -> None:
        """Names and consent go; what stays says only that the member was erased (no sends)."""
        await retry_busy(
            lambda: self._contacts.replace_one(
                {"_id": _key(tenant_id, member_id), "tenant_id": tenant_id},
                {"tenant_id": tenant_id, "member_id": member_id, "erased": True},
                upsert=True,
            )
        )
