"""MongoDB access through PyMongo's asyncio API (Motor is end-of-life).

Works on MongoDB and on FerretDB v1, so it relies only on single-document atomic updates
and unique indexes: no multi-document transactions, change streams or $lookup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from pymongo import AsyncMongoClient, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

Document = dict[str, Any]
T = TypeVar("T")
BUSY_ATTEMPTS = 6


def is_busy(exc: BaseException) -> bool:
    """FerretDB's SQLite said "database is locked": the write did not happen; it may be retried."""
    return isinstance(exc, OperationFailure) and "SQLITE_BUSY" in str(exc)


async def retry_busy(op: Callable[[], Awaitable[T]]) -> T:
    """Run a write, retrying briefly while the store is busy with concurrent writers."""
    for attempt in range(BUSY_ATTEMPTS):
        try:
            return await op()
        except OperationFailure as exc:
            if not is_busy(exc) or attempt == BUSY_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.01 * 2**attempt)
    raise AssertionError("unreachable")


def connect(url: str) -> AsyncMongoClient[Document]:
    """A client that returns timezone-aware datetimes (UTC) and fails fast when unreachable."""
    return AsyncMongoClient(url, tz_aware=True, serverSelectionTimeoutMS=5000)


async def ensure_indexes(db: AsyncDatabase[Document], indexes: Mapping[str, list[IndexModel]]) -> None:
    """Create the indexes a service declares; re-running is a no-op.

    One index per command: FerretDB v1.24 breaks the connection on a createIndexes
    command that carries several indexes.
    """
    for collection, models in indexes.items():
        for model in models:
            await db[collection].create_indexes([model])


async def find_for_tenant(
    collection: AsyncCollection[Document],
    tenant_id: str,
    doc_id: Any,
    projection: dict[str, int] | None = None,
) -> Document | None:
    """The document with this `_id` if it belongs to `tenant_id`, else None.

    The filter holds `_id` alone: MongoDB answers it from the `_id` index, and it is the
    narrowest filter FerretDB v1 (SQLite) can run. Measured there (v1.24.2), even an `_id`
    filter scans the collection (`explain` shows SCAN; ~1 ms for the first of 20,000
    documents, ~45 ms for the last), so on FerretDB point reads cost with collection size.
    The tenant wall is checked here, on the one document read.
    """
    if projection is not None:
        projection = projection | {"tenant_id": 1}
    doc = await collection.find_one({"_id": doc_id}, projection)
    if doc is None or doc.get("tenant_id") != tenant_id:
        return None
    return doc


async def insert_once(collection: AsyncCollection[Document], doc: Document) -> bool:
    """Insert unless a unique index says it is already there; True when this call inserted.

    The way to make an effect idempotent without transactions: give it a key that is
    unique on the effect's source (an event id, a receipt number) and let the index decide.
    """
    try:
        await retry_busy(lambda: collection.insert_one(doc))
    except DuplicateKeyError:
        return False
    return True
