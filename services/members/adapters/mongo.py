"""Members in MongoDB. Documents are mapped to the domain here and only here."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.mongo import Document, find_for_tenant, insert_once
from services.members.adapters import events
from services.members.domain.model import Member, Profile, Referrer
from services.members.domain.programme_versions import Tenants

MEMBERS = "members"
CONSENT_CHANGES = "consent_changes"  # every consent change with its time and source

NO_PHONE = "none:"  # placeholder prefix: a mini-program member without a phone keeps the index unique

INDEXES = {
    MEMBERS: [
        IndexModel([("tenant_id", ASCENDING), ("phone", ASCENDING)], unique=True, name="tenant_phone"),
        # Members holding a reservation of capped rule points, oldest first (adapters/rule_caps_mongo.py).
        IndexModel([("cap_holds_since", ASCENDING)], name="cap_holds_since"),
    ],
}


# Fields later changes update in place; present from the start so segment filters find them.
NEW_MEMBER_DEFAULTS: Document = {
    "tier": "normal",
    "tags": [],
    "points_balance": 0,
}


def to_doc(m: Member) -> Document:
    return (
        {
            "_id": m.id,
            "tenant_id": m.tenant_id,
            "phone": m.phone or f"{NO_PHONE}{m.id}",
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
            "consent": m.consent,
            "preferred_channel": m.preferred_channel,
        }
        | ({"openid": m.openid} if m.openid else {})
        | ({"tier": m.tier} if m.tier else {})
        | ({"referred_by": {"kind": r.kind, "id": r.id, "code": r.code}} if (r := m.referred_by) else {})
        | ({"birthday": {"month": b[0], "day": b[1], "year": b[2]}} if (b := m.profile.birthday) else {})
    )


def from_doc(d: Document) -> Member:
    return Member(
        id=d["_id"],
        tenant_id=d["tenant_id"],
        phone="" if d["phone"].startswith(NO_PHONE) else d["phone"],
        name=d.get("name", ""),
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
        consent=dict(d.get("consent", {})),
        preferred_channel=d.get("preferred_channel", ""),
        blacklist_reason=(d.get("blacklist") or {}).get("reason", ""),
        openid=d.get("openid", ""),
        referred_by=Referrer(r["kind"], r["id"], r.get("code", "")) if (r := d.get("referred_by")) else None,
        tier=d.get("tier", ""),
    )


class MongoMemberRepository:
    def __init__(self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox) -> None:
        self._members = db[MEMBERS]
        self._consent_history = db[CONSENT_CHANGES]
        self._topic = topic
        self._outbox = out

    async def add(self, member: Member) -> Member | None:
        registered = events.member_registered(member)
        doc = NEW_MEMBER_DEFAULTS | to_doc(member) | outbox.embed(self._topic, registered)
        if not await insert_once(self._members, doc):
            return None
        self._outbox.wake()
        return member

    async def get(self, tenant_id: str, member_id: str) -> Member | None:
        doc = await find_for_tenant(self._members, tenant_id, member_id)
        return from_doc(doc) if doc else None

    async def get_by_phone(self, tenant_id: str, phone: str) -> Member | None:
        doc = await self._members.find_one({"tenant_id": tenant_id, "phone": phone})
        if doc and doc.get("merged_into"):  # the person lives on in the survivor
            doc = await find_for_tenant(self._members, tenant_id, doc["merged_into"])
        return from_doc(doc) if doc else None

    async def update(
        self, tenant_id: str, member_id: str, fields: dict[str, Any], unset: tuple[str, ...] = ()
    ) -> Member | None:
        """Set (and unset) profile fields of a member of this tenant; None when there is none.

        One atomic update with the tenant in its filter: nothing derived from what was read, so
        nothing to lose to a concurrent writer of other fields (a purchase, the outbox relay).
        """
        change: dict[str, Any] = {}
        announced = any(k in fields for k in events.PROFILE_FIELDS)
        if fields:
            change["$set"] = dict(fields)
        if announced:  # messaging greets and routes by these: member_profile_changed, same write
            changed = events.member_profile_changed(
                tenant_id=tenant_id, member_id=member_id, fields=fields, at=datetime.now(UTC)
            )
            change["$set"] |= outbox.embed_set(self._topic, changed)
        if unset:
            change["$unset"] = dict.fromkeys(unset, "")
        doc = await self._members.find_one_and_update(
            self._mine(tenant_id, member_id), change, return_document=ReturnDocument.AFTER
        )
        if doc is not None and announced:
            self._outbox.wake()
        return from_doc(doc) if doc else None

    async def set_blacklist(self, tenant_id: str, member_id: str, reason: str, at: datetime) -> Member | None:
        """Put on (reason) or take off ("") the blacklist, with member_blacklist_changed."""
        changed = events.member_blacklist_changed(
            tenant_id=tenant_id, member_id=member_id, reason=reason, at=at
        )
        change: dict[str, Any] = {"$set": outbox.embed_set(self._topic, changed)}
        if reason:
            change["$set"]["blacklist"] = {"reason": reason, "at": at}
        else:
            change["$unset"] = {"blacklist": ""}
        doc = await self._members.find_one_and_update(
            self._mine(tenant_id, member_id), change, return_document=ReturnDocument.AFTER
        )
        if doc is None:
            return None
        self._outbox.wake()
        return from_doc(doc)

    async def set_consent(
        self, tenant_id: str, member_id: str, channel: str, granted: bool, source: str, at: datetime
    ) -> Member | None:
        """Record the change in the history and on the member, with member_consent_changed.

        The history entry is written first, so no change is ever without its record; the member
        then changes in one atomic update with the tenant in its filter. When there is no such
        member the entry is taken back. A crash between the two leaves a record of a request
        that repeating it carries out.
        """
        changed = events.member_consent_changed(
            tenant_id=tenant_id, member_id=member_id, channel=channel, granted=granted, source=source, at=at
        )
        await insert_once(
            self._consent_history,
            {
                "_id": changed.id,
                "tenant_id": tenant_id,
                "member_id": member_id,
                "channel": channel,
                "granted": granted,
                "source": source,
                "at": at,
            },
        )
        doc = await self._members.find_one_and_update(
            self._mine(tenant_id, member_id),
            {"$set": {f"consent.{channel}": granted} | outbox.embed_set(self._topic, changed)},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            await self._consent_history.delete_one({"_id": changed.id, "tenant_id": tenant_id})
            return None
        self._outbox.wake()
        return from_doc(doc)

    @staticmethod
    def _mine(tenant_id: str, member_id: str) -> Document:
        """The member, only in its tenant: an `_id` lookup with the wall in the same filter."""
        return {"_id": member_id, "tenant_id": tenant_id}


def in_tenants(tenants: Tenants) -> Document:
    """The filter on `tenant_id` for a daily step that covers these tenants."""
    return {"tenant_id": {"$nin" if tenants.all_but else "$in": sorted(tenants.names)}}


def marker_key(effect_id: str) -> str:
    """The effect's field name under `_applied`: its id, or a hash of it when the id could not
    be one (a till's refund id may hold a dot, which a field path would split)."""
    if "." in effect_id or effect_id.startswith("$") or "\0" in effect_id:
        return "h" + hashlib.sha256(effect_id.encode()).hexdigest()[:24]
    return effect_id


def rule_points(doc: Document) -> dict[str, int]:
    """The points each earning rule gave the member so far, by rule id (for caps: with the
    shares reserved for purchases in flight, domain/rule_caps.py)."""
    given: Document = doc.get("rule_points") or {}
    return {v["rule_id"]: int(v["points"]) for v in given.values() if isinstance(v, dict)}
