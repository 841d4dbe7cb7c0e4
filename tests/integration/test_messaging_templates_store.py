"""Messaging's template and policy stores on the real store, each test in a database of its own:
a template and a policy read back exactly as saved; a tenant never reads another's; a version is
made current once, on the version before only; concurrent saves through the use cases all land,
one version each, none lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from chassis import mongo
from services.messaging.adapters import policy_mongo, templates_mongo
from services.messaging.adapters.policy_mongo import MongoPolicies
from services.messaging.adapters.templates_mongo import MongoTemplates
from services.messaging.domain.channels import Channel, MessageClass
from services.messaging.domain.policy import CapRule, defaults
from services.messaging.domain.templates import ChannelText, Template
from services.messaging.service.policies import Policies
from services.messaging.service.templates import Templates
from tests.support import fresh_namespace, server_urls

pytestmark = pytest.mark.servers

Doc = dict[str, Any]
T0 = datetime(2026, 11, 23, 10, 0, 0, 123000, tzinfo=UTC)  # to the millisecond, as BSON keeps it
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclass
class Store:
    db: AsyncDatabase[Doc]
    templates: MongoTemplates
    policies: MongoPolicies


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    mongodb, _ = server_urls()
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongodb, tz_aware=True)
    db = client[f"{fresh_namespace()}messaging"]
    await mongo.ensure_indexes(db, templates_mongo.INDEXES | policy_mongo.INDEXES)
    try:
        yield Store(db, MongoTemplates(db), MongoPolicies(db))
    finally:
        await client.drop_database(db.name)
        await client.close()


def a_template(
    tenant_id: str = "acme", template_id: str = "birthday-month", body: str = "Hi {{ name }}"
) -> Template:
    return Template(
        tenant_id=tenant_id,
        id=template_id,
        name="Birthday month",
        message_class=MessageClass.MARKETING,
        texts={
            Channel.SMS: ChannelText(body, provider_template_id="SMS_1"),
            Channel.WECHAT: ChannelText("thing1: {{ name }}", title="Gift", provider_template_id="wx-1"),
        },
        script="Call {{ title }} {{ surname }}",
        task_due_hours=48,
        version=1,
        updated_at=T0,
        updated_by="api_key:k1",
    )


async def test_a_template_reads_back_exactly_as_saved_and_only_in_its_tenant(store: Store) -> None:
    template = a_template()
    assert await store.templates.insert(template)
    assert await store.templates.get("acme", "birthday-month") == template
    assert await store.templates.get("other", "birthday-month") is None
    assert await store.templates.for_tenant("other") == []
    doc = await store.db[templates_mongo.TEMPLATES].find_one({"tenant_id": "acme"})
    assert doc is not None
    assert doc["_id"] == "acme:birthday-month"


async def test_a_template_is_inserted_once_and_replaced_on_the_version_before_only(store: Store) -> None:
    assert await store.templates.insert(a_template())
    assert not await store.templates.insert(a_template(body="Again"))
    v2 = replace(a_template(body="Second"), version=2)
    assert await store.templates.replace(v2)
    assert not await store.templates.replace(replace(a_template(body="Stale"), version=2))  # on 1: gone
    assert not await store.templates.replace(replace(a_template(body="Ahead"), version=4))
    assert await store.templates.get("acme", "birthday-month") == v2


async def test_a_tenants_templates_are_listed_by_id(store: Store) -> None:
    for template_id in ("welcome", "birthday-month", "dormant-30"):
        assert await store.templates.insert(a_template(template_id=template_id))
    assert await store.templates.insert(a_template(tenant_id="other", template_id="aaa"))
    assert [t.id for t in await store.templates.for_tenant("acme")] == [
        "birthday-month",
        "dormant-30",
        "welcome",
    ]


async def test_concurrent_saves_of_one_template_each_make_a_version(store: Store) -> None:
    templates = Templates(store.templates, clock=lambda: T0)
    bodies = [f"Hi {{{{ name }}}} {i}" for i in range(6)]
    fresh = replace(a_template(), version=0, updated_at=None)
    saved = await asyncio.gather(
        *(
            templates.save(replace(fresh, texts={Channel.INBOX: ChannelText(b)}), f"k{i}")
            for i, b in enumerate(bodies)
        )
    )
    assert sorted(s.version for s in saved) == [1, 2, 3, 4, 5, 6]
    last = max(saved, key=lambda s: s.version)
    assert await store.templates.get("acme", "birthday-month") == last


async def test_a_tenant_without_a_policy_reads_the_defaults(store: Store) -> None:
    assert await store.policies.current("acme") == defaults("acme")


async def test_a_policy_reads_back_exactly_as_saved_with_the_no_preference_fallback(store: Store) -> None:
    policy = replace(
        defaults("acme"),
        caps=(CapRule("care", "week", 2), CapRule("contact", "day", 3)),
        quiet_start=time(22, 30),
        quiet_end=time(8, 0),
        time_zone="Europe/Paris",
        fallback={"": (Channel.WEBHOOK, Channel.INBOX), "sms": (Channel.SMS,)},
        attribution_hours=48,
        max_attempts=5,
        webhook_url="https://crm.example/h",
        webhook_secret=SECRET,
        version=1,
        updated_by="api_key:k1",
    )
    assert await store.policies.save(policy)
    assert await store.policies.current("acme") == policy
    assert await store.policies.current("other") == defaults("other")
    no_quiet = replace(policy, quiet_start=None, quiet_end=None, caps=(), version=2)
    assert await store.policies.save(no_quiet)
    assert await store.policies.current("acme") == no_quiet


async def test_a_policy_version_is_made_current_once_on_the_version_before(store: Store) -> None:
    v1 = replace(defaults("acme"), max_attempts=4, version=1)
    assert await store.policies.save(v1)
    assert not await store.policies.save(replace(v1, max_attempts=5))  # version 1 again
    assert not await store.policies.save(replace(v1, max_attempts=6, version=3))
    assert not await store.policies.save(replace(v1, version=0))
    assert await store.policies.current("acme") == v1


async def test_concurrent_changes_of_different_fields_all_land(store: Store) -> None:
    policies = Policies(store.policies)
    changes = [
        (replace(defaults("acme"), max_attempts=7), ["max_attempts"]),
        (replace(defaults("acme"), attribution_hours=24), ["attribution_hours"]),
        (replace(defaults("acme"), time_zone="Europe/Paris"), ["time_zone"]),
        (replace(defaults("acme"), caps=()), ["caps"]),
    ]
    made = await asyncio.gather(*(policies.update(c, f, updated_by="a") for c, f in changes))
    assert sorted(p.version for p in made) == [1, 2, 3, 4]
    final = await store.policies.current("acme")
    assert (final.version, final.max_attempts, final.attribution_hours, final.time_zone, final.caps) == (
        4,
        7,
        24,
        "Europe/Paris",
        (),
    )
