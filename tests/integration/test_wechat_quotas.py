"""WeChat subscribe-message quotas on the real store: a grant counts once per grant id however
often (or however concurrently) it is recorded; concurrent takes never spend more than was
granted; a take repeated for the same message spends nothing more and answers the same openid;
tenants never see each other's quotas; an erased member's quotas (their openid) are gone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from chassis import mongo
from chassis.errors import InvalidArgument
from services.messaging.adapters import quotas_mongo
from services.messaging.adapters.quotas_mongo import KEPT_IDS, QUOTAS, MongoWechatQuotas, quota_id
from tests.support import fresh_namespace, server_urls

pytestmark = pytest.mark.servers

Doc = dict[str, Any]
TPL = "wx-tpl-Gift_1"


@pytest.fixture
async def db() -> AsyncIterator[AsyncDatabase[Doc]]:
    mongodb, _ = server_urls()
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongodb, tz_aware=True, maxPoolSize=60)
    database = client[f"{fresh_namespace()}messaging"]
    await mongo.ensure_indexes(database, quotas_mongo.INDEXES)
    try:
        yield database
    finally:
        await client.drop_database(database.name)
        await client.close()


async def test_three_grants_one_repeated_leave_two_sends(db: AsyncDatabase[Doc]) -> None:
    quotas = MongoWechatQuotas(db)
    assert await quotas.grant("t1", "m1", TPL, "openid-1", "g1") == 1
    assert await quotas.grant("t1", "m1", TPL, "openid-1", "g2") == 2
    assert await quotas.grant("t1", "m1", TPL, "openid-1", "g1") == 2  # the same acceptance again
    assert await quotas.remaining("t1", "m1", TPL) == 2
    doc = await db[QUOTAS].find_one({"_id": quota_id("t1", "m1", TPL), "tenant_id": "t1"})
    assert doc is not None
    assert (doc["member_id"], doc["provider_template_id"], doc["openid"]) == ("m1", TPL, "openid-1")
    assert doc["grants"] == ["g1", "g2"]


async def test_twenty_concurrent_takes_spend_exactly_the_two_sends(db: AsyncDatabase[Doc]) -> None:
    quotas = MongoWechatQuotas(db)
    for grant_id in ("g1", "g2", "g1"):
        await quotas.grant("t1", "m1", TPL, "openid-1", grant_id)

    answers = await asyncio.gather(*(quotas.take("t1", "m1", TPL, f"msg-{i}") for i in range(20)))

    winners = [f"msg-{i}" for i, openid in enumerate(answers) if openid is not None]
    assert len(winners) == 2
    assert {answers[int(w.split("-")[1])] for w in winners} == {"openid-1"}
    assert await quotas.remaining("t1", "m1", TPL) == 0
    # A winner's send retried: the same openid, nothing more spent; a loser stays refused.
    assert await quotas.take("t1", "m1", TPL, winners[0]) == "openid-1"
    assert await quotas.remaining("t1", "m1", TPL) == 0
    loser = next(f"msg-{i}" for i, openid in enumerate(answers) if openid is None)
    assert await quotas.take("t1", "m1", TPL, loser) is None


async def test_a_take_repeated_while_sends_remain_spends_one(db: AsyncDatabase[Doc]) -> None:
    quotas = MongoWechatQuotas(db)
    await quotas.grant("t1", "m1", TPL, "openid-1", "g1")
    await quotas.grant("t1", "m1", TPL, "openid-1", "g2")
    assert await quotas.take("t1", "m1", TPL, "msg-1") == "openid-1"
    assert await quotas.take("t1", "m1", TPL, "msg-1") == "openid-1"
    assert await quotas.remaining("t1", "m1", TPL) == 1


async def test_concurrent_first_grants_each_count_once(db: AsyncDatabase[Doc]) -> None:
    """Racing first grants create one document (the `_id` decides) and every grant is counted:
    the losers of the insert count theirs on the document the winner made."""
    quotas = MongoWechatQuotas(db)
    grant_ids = [f"g{i % 8}" for i in range(24)]  # 8 acceptances, each recorded three times

    await asyncio.gather(*(quotas.grant("t1", "m1", TPL, "openid-1", g) for g in grant_ids))

    assert await quotas.remaining("t1", "m1", TPL) == 8


async def test_nothing_granted_nothing_to_take(db: AsyncDatabase[Doc]) -> None:
    quotas = MongoWechatQuotas(db)
    assert await quotas.remaining("t1", "m1", TPL) == 0
    assert await quotas.take("t1", "m1", TPL, "msg-1") is None


async def test_tenants_and_templates_are_apart(db: AsyncDatabase[Doc]) -> None:
    quotas = MongoWechatQuotas(db)
    await quotas.grant("t1", "m1", TPL, "openid-1", "g1")
    assert await quotas.remaining("t2", "m1", TPL) == 0
    assert await quotas.take("t2", "m1", TPL, "msg-1") is None
    assert await quotas.remaining("t1", "m1", "other-tpl") == 0
    assert await quotas.remaining("t1", "m1", TPL) == 1


async def test_an_erased_member_has_no_quota_left(db: AsyncDatabase[Doc]) -> None:
    quotas = MongoWechatQuotas(db)
    await quotas.grant("t1", "m1", TPL, "openid-1", "g1")
    await quotas.grant("t1", "m1", "other-tpl", "openid-1", "g2")
    await quotas.grant("t2", "m1", TPL, "openid-9", "g3")

    await quotas.forget_member("t1", "m1")

    assert await db[QUOTAS].count_documents({"tenant_id": "t1", "member_id": "m1"}) == 0
    assert await quotas.remaining("t2", "m1", TPL) == 1  # another tenant's member of that id


async def test_the_kept_ids_are_bounded(db: AsyncDatabase[Doc]) -> None:
    quotas = MongoWechatQuotas(db)
    for i in range(KEPT_IDS + 3):
        await quotas.grant("t1", "m1", TPL, "openid-1", f"g{i}")
    doc = await db[QUOTAS].find_one({"_id": quota_id("t1", "m1", TPL), "tenant_id": "t1"})
    assert doc is not None
    assert doc["remaining"] == KEPT_IDS + 3
    assert doc["grants"] == [f"g{i}" for i in range(3, KEPT_IDS + 3)]  # the newest, in order


async def test_a_grant_without_its_ids_is_refused_naming_the_field(db: AsyncDatabase[Doc]) -> None:
    quotas = MongoWechatQuotas(db)
    with pytest.raises(InvalidArgument) as refused:
        await quotas.grant("t1", "m1", TPL, "", "g1")
    assert refused.value.field == "openid"
    assert await db[QUOTAS].count_documents({"tenant_id": "t1"}) == 0
