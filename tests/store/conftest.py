"""Fixtures of the store tests: a fresh database on the server MONGODB_URL names, dropped afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient, MongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.database import Database

from tests.support import fresh_namespace, server_urls

Doc = dict[str, Any]

# Enough connections that every concurrent write of a test is in flight at once.
POOL_SIZE = 200


@pytest.fixture
def db() -> Iterator[Database[Doc]]:
    """A database of this test alone (sync client)."""
    client: MongoClient[Doc] = MongoClient(server_urls()[0], tz_aware=True)
    name = f"{fresh_namespace()}store"
    try:
        yield client[name]
    finally:
        client.drop_database(name)
        client.close()


@pytest.fixture
async def adb() -> AsyncIterator[AsyncDatabase[Doc]]:
    """A database of this test alone, on an async client with a pool as big as its concurrency."""
    client: AsyncMongoClient[Doc] = AsyncMongoClient(server_urls()[0], tz_aware=True, maxPoolSize=POOL_SIZE)
    name = f"{fresh_namespace()}store"
    try:
        yield client[name]
    finally:
        await client.drop_database(name)
        await client.close()
