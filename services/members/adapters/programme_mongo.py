"""Tenants' programmes in MongoDB: the current version per tenant in `programmes` (a point read
by tenant for every purchase), every version in `programme_versions` (the audit trail).

Making a version current is one conditional write of the tenant's document — inserted for
version 1, else updated only while it still holds the version before — with programme_changed
embedded (outbox), so two admins changing the programme at once make one version each or
are told to try again, never a lost change. The version's copy in the trail follows, from the
current document, and is written again (insert-once) by the next save or listing, so a crash
between the two leaves nothing missing for long.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from chassis import outbox
from chassis.mongo import Document, insert_once, retry_busy
from services.members.adapters import events
from services.members.domain import earning
from services.members.domain import programme_versions as pv
from services.members.domain.programme import parse_programme, programme_to_dict

PROGRAMMES = "programmes"
VERSIONS = "programme_versions"
INDEXES = {VERSIONS: [IndexModel([("tenant_id", ASCENDING), ("version", DESCENDING)], name="tenant_version")]}
PARSED_TENANTS = 10_000
_FIELDS = ("tenant_id", "version", "programme", "rules", "changed_by", "changed_at", "sections")


class MongoProgrammes:
    """Every purchase reads its tenant's current version: one point read by tenant. The parsed
    programme is kept per (tenant, version), so the read's document is parsed again only when
    the version changed; every replica sees a change from the next call, as the store does."""

    def __init__(self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox) -> None:
        self._current = db[PROGRAMMES]
        self._versions = db[VERSIONS]
        self._topic = topic
        self._outbox = out
        self._parsed: dict[str, pv.ProgrammeVersion] = {}

    async def current(self, tenant_id: str) -> pv.ProgrammeVersion:
        doc = await self._current.find_one({"_id": tenant_id, "tenant_id": tenant_id})
        if doc is None:
            return pv.defaults(tenant_id)
        kept = self._parsed.get(tenant_id)
        if kept is not None and kept.version == doc["version"]:
            return kept
        if len(self._parsed) >= PARSED_TENANTS:
            self._parsed.clear()  # many tenants: start again rather than grow without bound
        self._parsed[tenant_id] = found = _version(doc)
        return found

    async def version(self, tenant_id: str, version: int) -> pv.ProgrammeVersion | None:
        if version == 0:
            return pv.defaults(tenant_id)
        doc = await self._versions.find_one({"_id": _version_id(tenant_id, version), "tenant_id": tenant_id})
        if doc is None:  # the current one, if its copy in the trail is not written yet
            now = await self._current.find_one({"_id": tenant_id, "tenant_id": tenant_id, "version": version})
            return _version(now) if now else None
        return _version(doc)

    async def history(self, tenant_id: str, limit: int) -> list[pv.ProgrammeVersion]:
        await self._complete_trail(tenant_id)
        found = self._versions.find({"tenant_id": tenant_id}).sort("version", DESCENDING).limit(limit)
        return [_version(d) async for d in found]

    async def customised(self) -> list[pv.ProgrammeVersion]:
        return [_version(d) async for d in self._current.find({}, dict.fromkeys(_FIELDS, 1))]

    async def save(self, version: pv.ProgrammeVersion) -> bool:
        tenant_id = version.tenant_id
        changed = events.programme_changed(version)
        doc = _doc(version)
        if version.version == 1:
            try:
                await retry_busy(
                    lambda: self._current.insert_one(
                        {"_id": tenant_id, **doc, **outbox.embed(self._topic, changed)}
                    )
                )
            except DuplicateKeyError:
                return False
        else:
            await self._complete_trail(tenant_id)
            result = await self._current.update_one(
                {"_id": tenant_id, "tenant_id": tenant_id, "version": version.version - 1},
                {"$set": doc | outbox.embed_set(self._topic, changed)},
            )
            if result.modified_count != 1:
                return False
        self._outbox.wake()
        await insert_once(self._versions, {"_id": _version_id(tenant_id, version.version), **doc})
        return True

    async def _complete_trail(self, tenant_id: str) -> None:
        """Copy the current version into the trail if a crash stopped a save before it did."""
        now = await self._current.find_one(
            {"_id": tenant_id, "tenant_id": tenant_id}, dict.fromkeys(_FIELDS, 1)
        )
        if now is not None:
            await insert_once(self._versions, {**now, "_id": _version_id(tenant_id, int(now["version"]))})


def _version_id(tenant_id: str, version: int) -> str:
    return f"{tenant_id}:{version:09d}"


def _doc(v: pv.ProgrammeVersion) -> Document:
    return {
        "tenant_id": v.tenant_id,
        "version": v.version,
        "programme": programme_to_dict(v.programme),
        "rules": [earning.rule_to_dict(r) for r in v.rules],
        "changed_by": v.changed_by,
        "changed_at": v.changed_at,
        "sections": list(v.sections),
    }


def _version(doc: Document) -> pv.ProgrammeVersion:
    programme = parse_programme(doc["programme"])
    rules: list[Any] = doc.get("rules") or []
    return pv.ProgrammeVersion(
        tenant_id=doc["tenant_id"],
        version=int(doc["version"]),
        programme=programme,
        rules=tuple(earning.parse_rule(r) for r in rules),
        changed_by=doc.get("changed_by", ""),
        changed_at=doc.get("changed_at"),
        sections=tuple(doc.get("sections") or ()),
    )
