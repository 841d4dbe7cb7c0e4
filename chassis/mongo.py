"""MongoDB access through PyMongo's asyncio API (Motor is end-of-life).

Works on MongoDB and on FerretDB v1, so it relies only on single-document atomic updates
and unique indexes: no multi-document transactions, change streams or $lookup.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from pymongo import AsyncMongoClient, IndexModel, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from chassis.errors import Unavailable

Document = dict[str, Any]
T = TypeVar("T")
BUSY_ATTEMPTS = 6
VERSION = "_v"  # bumped by every update_versioned write
VERSIONED_ATTEMPTS = 50


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

    The tenant is in the filter itself, as in every query: a point read on the `_id` index
    on MongoDB and on our FerretDB (which pushes an `_id` equality down whatever else the
    filter holds, infra/ferretdb/patches).
    """
    return await collection.find_one({"_id": doc_id, "tenant_id": tenant_id}, projection)


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


async def update_versioned(
    collection: AsyncCollection[Document],
    query: Document,
    decide: Callable[[Document], Document | None],
) -> Document | None:
    """Read-decide-write one document without a lock: optimistic concurrency on `_v`.

    `decide` gets the document as read and returns the update to make (or None: no change).
    The update is applied only if the document's version is still the one read, and bumps
    it; when another writer got there first the document is read again and `decide` asked
    again. Returns the document after the change (as read when unchanged), None when no
    document matches `query`. Writers that set fields derived from what they read use this;
    an independent atomic update (an `$inc`, a `$set` of a field nobody derives) needs not.
    """
    for attempt in range(VERSIONED_ATTEMPTS):
        if attempt:  # lost a race: let the winners through before reading again (jittered)
            await asyncio.sleep(random.uniform(0, 0.001 * min(attempt, 20)))
        doc = await collection.find_one(query)
        if doc is None:
            return None
        change = decide(doc)
        if change is None:
            return doc
        version = {VERSION: doc[VERSION]} if VERSION in doc else {VERSION: {"$exists": False}}
        change = {**change, "$inc": {**change.get("$inc", {}), VERSION: 1}}
        after: Document | None = await collection.find_one_and_update(
            {**query, "_id": doc["_id"], **version}, change, return_document=ReturnDocument.AFTER
        )
        if after is not None:
            return after
    raise Unavailable("the record is changing too fast; try again")
