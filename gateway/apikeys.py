"""API keys: stored only as a hash, shown once, revocable, several live at once (rotation).

A key reads `rg_<key id>_<secret>`. The id finds the record with one `_id` lookup (the only
indexed lookup FerretDB v1 has); the secret is compared by its SHA-256 (it is random and
long, so a slow password hash would add nothing). Verified keys are cached for
`cache_seconds`, so a revocation takes effect within that time on every gateway replica.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from ulid import ULID

from chassis.mongo import Document
from gateway.identity import Caller

API_KEYS = "api_keys"
PREFIX = "rg_"


@dataclass(frozen=True)
class ApiKey:
    id: str
    tenant_id: str
    name: str
    scopes: tuple[str, ...]
    store_id: str | None
    cors_origins: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None

    def caller(self) -> Caller:
        return Caller(
            tenant_id=self.tenant_id,
            kind="api_key",
            subject=self.id,
            scopes=frozenset(self.scopes),
            store_id=self.store_id,
            cors_origins=self.cors_origins,
        )


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _from_doc(d: Document) -> ApiKey:
    return ApiKey(
        id=d["_id"],
        tenant_id=d["tenant_id"],
        name=d["name"],
        scopes=tuple(d["scopes"]),
        store_id=d.get("store_id"),
        cors_origins=tuple(d.get("cors_origins", ())),
        created_at=d["created_at"],
        revoked_at=d.get("revoked_at"),
    )


def parse(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    if not token.startswith(PREFIX):
        return None
    key_id, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or not key_id or not secret:
        return None
    return key_id, secret


class ApiKeyStore:
    def __init__(self, db: AsyncDatabase[Document], cache_seconds: float) -> None:
        self._keys = db[API_KEYS]
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Document | None]] = {}
        self._origins: set[str] = set()
        self._origins_at = float("-inf")

    async def create(
        self,
        *,
        tenant_id: str,
        name: str,
        scopes: list[str],
        store_id: str | None = None,
        cors_origins: list[str] | None = None,
    ) -> tuple[ApiKey, str]:
        """Store a new key and return it with its plaintext, which is never stored or shown again."""
        key_id = str(ULID()).lower()
        secret = secrets.token_urlsafe(32)
        doc: dict[str, Any] = {
            "_id": key_id,
            "tenant_id": tenant_id,
            "name": name,
            "scopes": sorted(set(scopes)),
            "store_id": store_id,
            "cors_origins": cors_origins or [],
            "secret_sha256": _hash(secret),
            "created_at": datetime.now(UTC),
        }
        await self._keys.insert_one(doc)
        return _from_doc(doc), f"{PREFIX}{key_id}_{secret}"

    async def revoke(self, tenant_id: str, key_id: str) -> bool:
        """True when a live key of this tenant was revoked."""
        result = await self._keys.update_one(
            {"_id": key_id, "tenant_id": tenant_id, "revoked_at": None},
            {"$set": {"revoked_at": datetime.now(UTC)}},
        )
        self._cache.pop(key_id, None)
        return result.modified_count == 1

    async def list(self, tenant_id: str) -> list[ApiKey]:
        docs = await self._keys.find({"tenant_id": tenant_id}).sort("_id", 1).to_list()
        return [_from_doc(d) for d in docs]

    async def allows_origin(self, origin: str) -> bool:
        """Whether any live key lists `origin` (for CORS preflights, which carry no key)."""
        now = time.monotonic()
        if now - self._origins_at >= self._cache_seconds or not self._cache_seconds:
            docs = await self._keys.find({"revoked_at": None}, {"cors_origins": 1}).to_list()
            self._origins = {o for d in docs for o in d.get("cors_origins", [])}
            self._origins_at = now
        return origin in self._origins

    async def authenticate(self, token: str) -> Caller | None:
        parsed = parse(token)
        if parsed is None:
            return None
        key_id, secret = parsed
        doc = await self._lookup(key_id)
        if doc is None or doc.get("revoked_at") is not None:
            return None
        if not hmac.compare_digest(doc["secret_sha256"], _hash(secret)):
            return None
        return _from_doc(doc).caller()

    async def _lookup(self, key_id: str) -> Document | None:
        now = time.monotonic()
        cached = self._cache.get(key_id)
        if cached and now - cached[0] < self._cache_seconds:
            return cached[1]
        doc = await self._keys.find_one({"_id": key_id})
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key_id] = (now, doc)
        return doc
