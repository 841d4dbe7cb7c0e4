"""Messaging engagement on the real store, in a database of its own: a link is stored once per
token; taps, however many and however they race, write one message_clicked and count each;
an inbox read engages its own member's message only; a purchase redelivered (even at once)
is one conversion with one message_converted, attributed by the rule to a message of the
pipeline's shape; assistants' revenue and the report are summed in the store as documented."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from pymongo import ASCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from regulars.messaging.v1 import events_pb2

from chassis import mongo, outbox
from services.messaging.adapters import conversions_mongo, links_mongo
from services.messaging.adapters.conversions_mongo import MongoConversions
from services.messaging.adapters.links_mongo import MongoLinks
from services.messaging.adapters.reports_mongo import MongoReports
from services.messaging.domain.channels import Channel, MessageClass
from services.messaging.domain.messages import Message
from services.messaging.domain.policy import MessagingPolicy, defaults
from services.messaging.domain.reports import Row
from services.messaging.service.engagement import Engagement
from tests.support import fresh_namespace, server_urls

pytestmark = pytest.mark.servers

Doc = dict[str, Any]
TOPIC = "messaging-engagement-store-topic"
T0 = datetime(2026, 5, 4, 9, 30, 12, 345000, tzinfo=UTC)  # to the millisecond, as BSON keeps it
HOUR = timedelta(hours=1)
BASE = "https://r.shop.example"
# What the sending pipeline declares on its `messages` (attribution's read of sent messages).
MESSAGE_INDEXES = {
    "messages": [
        IndexModel(
            [("tenant_id", ASCENDING), ("member_id", ASCENDING), ("sent_at", ASCENDING)], name="member_sent"
        ),
        IndexModel([("tenant_id", ASCENDING), ("created_at", ASCENDING)], name="requested"),
    ]
}


class _Relay:
    """Stands in for the outbox relay: counts wake-ups, never publishes."""

    def __init__(self) -> None:
        self.woken = 0

    def wake(self) -> None:
        self.woken += 1


class _DefaultPolicies:
    async def current(self, tenant_id: str) -> MessagingPolicy:
        return defaults(tenant_id)  # attribution window 72 hours


@dataclass
class Store:
    db: AsyncDatabase[Doc]
    links: MongoLinks
    conversions: MongoConversions
    engagement: Engagement
    relay: _Relay


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    mongodb, _ = server_urls()
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongodb, tz_aware=True, maxPoolSize=50)
    db = client[f"{fresh_namespace()}messaging"]
    await mongo.ensure_indexes(db, links_mongo.INDEXES | conversions_mongo.INDEXES | MESSAGE_INDEXES)
    counting = _Relay()
    relay = cast(outbox.Outbox, counting)  # only woken: nothing is published here
    links = MongoLinks(db, TOPIC, relay, BASE + "/", "integration-link-secret", clock=lambda: T0)
    conversions = MongoConversions(db, TOPIC, relay)
    engagement = Engagement(links, conversions, MongoReports(db), _DefaultPolicies(), lambda: T0)
    try:
        yield Store(db, links, conversions, engagement, counting)
    finally:
        await client.drop_database(db.name)
        await client.close()


def message_doc(message_id: str, tenant_id: str = "t1", **changes: Any) -> Doc:
    """A message document exactly as the sending pipeline writes it."""
    return {
        "_id": message_id,
        "tenant_id": tenant_id,
        "member_id": "m1",
        "key": f"key-{message_id}",
        "template_id": "birthday",
        "message_class": "care",
        "channels": ["sms", "inbox"],
        "position": 0,
        "channel": "sms",
        "state": "sent",
        "due_at": T0,
        "created_at": T0,
        "sent_at": T0,
        "deferred": False,
        "attempts": 0,
        "reason": "",
        "source": "journey",
        "store_id": "s1",
        "staff_id": "a1",
        "staff_task_id": "",
        "version": 2,
    } | changes


def a_message(message_id: str = "M1", **changes: Any) -> Message:
    fields: dict[str, Any] = {
        "id": message_id,
        "tenant_id": "t1",
        "member_id": "m1",
        "key": f"key-{message_id}",
        "template_id": "birthday",
        "message_class": MessageClass.CARE,
        "channels": (Channel.SMS,),
        "due_at": T0,
        "created_at": T0,
        "store_id": "s1",
        "staff_id": "a1",
    } | changes
    return Message(**fields)


async def events_of(db: AsyncDatabase[Doc], collection: str, doc_id: str) -> list[Doc]:
    doc = await db[collection].find_one({"_id": doc_id})
    assert doc is not None
    return list((doc.get("_outbox") or {}).values())


async def tracked(store: Store, message: Message, url: str = "https://shop.example/gift") -> str:
    token, short = store.links.tracked_url(message, url)
    assert short == f"{BASE}/r/{token}"
    await store.links.save(message, [(token, url)])
    return token


# Links


async def test_a_link_is_stored_once_per_token_with_its_message(store: Store) -> None:
    message = a_message()
    token = await tracked(store, message)
    assert store.links.tracked_url(message, "https://shop.example/gift")[0] == token  # a retried render
    await store.links.save(message, [(token, "https://shop.example/gift")])

    assert await store.db["links"].count_documents({}) == 1
    doc = await store.db["links"].find_one({"_id": token})
    assert doc == {
        "_id": token,
        "tenant_id": "t1",
        "message_id": "M1",
        "member_id": "m1",
        "template_id": "birthday",
        "channel": "sms",
        "staff_id": "a1",
        "store_id": "s1",
        "message_class": "care",
        "message_created_at": T0,
        "url": "https://shop.example/gift",
        "created_at": T0,
    }
    other = store.links.tracked_url(message, "https://shop.example/other")[0]
    assert other != token
    assert await store.links.find(other) is None


# Clicks


async def test_two_clicks_write_one_message_clicked_and_count_two(store: Store) -> None:
    token = await tracked(store, a_message())

    first = await store.engagement.click(token, "Mozilla/5.0 (iPhone)", T0 + HOUR)
    again = await store.engagement.click(token, "Mozilla/5.0 (Android)", T0 + 2 * HOUR)

    assert (first.url, first.tenant_id, first.message_id) == ("https://shop.example/gift", "t1", "M1")
    assert again == first
    doc = await store.db["engagements"].find_one({"_id": "t1:M1"})
    assert doc is not None
    assert (doc["clicks"], doc["reads"], doc["first_at"], doc["last_at"]) == (2, 0, T0 + HOUR, T0 + 2 * HOUR)
    assert doc["user_agent"] == "Mozilla/5.0 (Android)"
    events = await events_of(store.db, "engagements", "t1:M1")
    assert [(e["type"], e["subject"], e["tenant_id"], e["source"], e["topic"]) for e in events] == [
        ("regulars.messaging.v1.message_clicked", "m1", "t1", "regulars/messaging", TOPIC)
    ]
    assert events[0]["time"] == T0 + HOUR
    clicked = events_pb2.MessageClicked.FromString(bytes(events[0]["data"]))
    assert (clicked.message_id, clicked.template_id, clicked.channel, clicked.url, clicked.staff_id) == (
        "M1",
        "birthday",
        "sms",
        "https://shop.example/gift",
        "a1",
    )
    assert clicked.at.ToDatetime(tzinfo=UTC) == T0 + HOUR
    assert store.relay.woken == 1


async def test_racing_first_clicks_write_one_event_and_count_every_tap(store: Store) -> None:
    token = await tracked(store, a_message())

    await asyncio.gather(*(store.engagement.click(token, "", T0 + HOUR) for _ in range(12)))

    doc = await store.db["engagements"].find_one({"_id": "t1:M1"})
    assert doc is not None
    assert doc["clicks"] == 12
    assert len(await events_of(store.db, "engagements", "t1:M1")) == 1


async def test_an_inbox_read_engages_its_own_members_message_with_an_empty_url(store: Store) -> None:
    await store.db["messages"].insert_one(message_doc("M7", channel="inbox", template_id="welcome"))

    assert await store.engagement.inbox_read("t2", "M7", "m1", T0) is False  # another tenant's id
    assert await store.engagement.inbox_read("t1", "M7", "m9", T0) is False  # another member's
    assert await store.engagement.inbox_read("t1", "M7", "m1", T0 + HOUR) is True
    assert await store.engagement.inbox_read("t1", "M7", "m1", T0 + 2 * HOUR) is False

    assert await store.db["engagements"].count_documents({}) == 1
    doc = await store.db["engagements"].find_one({"_id": "t1:M7"})
    assert doc is not None
    assert (doc["reads"], doc["clicks"], doc["channel"], doc["template_id"]) == (2, 0, "inbox", "welcome")
    (event,) = await events_of(store.db, "engagements", "t1:M7")
    read = events_pb2.MessageClicked.FromString(bytes(event["data"]))
    assert (read.message_id, read.url, read.channel) == ("M7", "", "inbox")


# Attribution


async def test_a_purchase_redelivered_three_times_is_one_conversion(store: Store) -> None:
    token = await tracked(store, a_message("M1", staff_id="a1"))
    await store.db["messages"].insert_one(message_doc("M1"))
    await store.db["messages"].insert_one(message_doc("M2", staff_id="a2", sent_at=T0 + 3 * HOUR))
    await store.engagement.click(token, "", T0 + HOUR)
    at = T0 + 5 * HOUR

    await store.engagement.purchase_made("t1", "m1", "P-1", 18800, "CNY", at)
    await asyncio.gather(
        *(store.engagement.purchase_made("t1", "m1", "P-1", 18800, "CNY", at) for _ in range(2))
    )

    assert await store.db["conversions"].count_documents({}) == 1
    doc = await store.db["conversions"].find_one({"_id": "t1:purchase:P-1"})
    assert doc is not None
    assert (doc["message_id"], doc["via"], doc["staff_id"], doc["revenue_minor"], doc["currency"]) == (
        "M1",  # clicked beats the later-sent M2
        "click",
        "a1",
        18800,
        "CNY",
    )
    (event,) = await events_of(store.db, "conversions", "t1:purchase:P-1")
    assert (event["type"], event["subject"], event["tenant_id"]) == (
        "regulars.messaging.v1.message_converted",
        "m1",
        "t1",
    )
    converted = events_pb2.MessageConverted.FromString(bytes(event["data"]))
    assert (converted.message_id, converted.kind, converted.ref, converted.staff_id) == (
        "M1",
        "purchase",
        "P-1",
        "a1",
    )
    assert (converted.revenue.currency, converted.revenue.minor_units) == ("CNY", 18800)
    assert converted.at.ToDatetime(tzinfo=UTC) == at


async def test_without_a_click_the_latest_care_or_marketing_message_sent_in_the_window_earns_it(
    store: Store,
) -> None:
    await store.db["messages"].insert_many(
        [
            message_doc("old", sent_at=T0 - 73 * HOUR, created_at=T0 - 73 * HOUR),  # before the window
            message_doc("care", sent_at=T0 - 5 * HOUR, staff_id="a1"),
            message_doc(
                "promo", message_class="marketing", state="delivered", sent_at=T0 - 2 * HOUR, staff_id="a2"
            ),
            message_doc("receipt", message_class="transactional", sent_at=T0 - HOUR),
            message_doc("bounced", state="failed", sent_at=T0 - HOUR),
            message_doc("waiting", state="pending", sent_at=None),
            message_doc("other", member_id="m2", sent_at=T0 - HOUR),
            message_doc("foreign", tenant_id="t2", sent_at=T0 - HOUR),
        ]
    )

    got = await store.engagement.coupon_claimed("t1", "m1", "C-1", T0)
    assert got is not None
    assert (got.message.message_id, got.message.staff_id, got.via.value) == ("promo", "a2", "sent")
    assert await store.engagement.purchase_made("t1", "m1", "P-9", 100, "CNY", T0 - 74 * HOUR) is None
    assert await store.db["conversions"].count_documents({}) == 1


async def test_revenue_by_staff_sums_the_conversions_of_the_period_and_store(store: Store) -> None:
    await store.db["messages"].insert_many(
        [
            message_doc("a1-s1", member_id="m1", staff_id="a1", store_id="s1"),
            message_doc("a1-s2", member_id="m2", staff_id="a1", store_id="s2"),
            message_doc("a2-s1", member_id="m3", staff_id="a2", store_id="s1"),
            message_doc("nobody", member_id="m4", staff_id="", store_id="s1"),
        ]
    )
    e = store.engagement
    await e.purchase_made("t1", "m1", "P-1", 10000, "CNY", T0 + HOUR)
    await e.purchase_made("t1", "m1", "P-2", 2500, "CNY", T0 + 2 * HOUR)
    await e.coupon_claimed("t1", "m1", "C-1", T0 + 2 * HOUR)
    await e.purchase_made("t1", "m2", "P-3", 7000, "CNY", T0 + HOUR)
    await e.purchase_made("t1", "m3", "P-4", 900, "CNY", T0 + HOUR)
    await e.purchase_made("t1", "m4", "P-5", 123, "CNY", T0 + HOUR)
    await e.purchase_made("t1", "m1", "P-6", 50000, "CNY", T0 + 30 * HOUR)  # after the period

    until = T0 + 24 * HOUR
    assert await e.revenue_by_staff("t1", "", T0, until) == {"a1": (4, 19500, "CNY"), "a2": (1, 900, "CNY")}
    assert await e.revenue_by_staff("t1", "s1", T0, until) == {"a1": (3, 12500, "CNY"), "a2": (1, 900, "CNY")}
    assert await e.revenue_by_staff("t1", "s1", None, None) == {
        "a1": (4, 62500, "CNY"),
        "a2": (1, 900, "CNY"),
    }
    assert await e.revenue_by_staff("t2", "", None, None) == {}


# The report


async def test_the_report_counts_the_periods_messages_clicks_and_conversions(store: Store) -> None:
    inside = [
        message_doc("M1", channel="sms", deferred=True),
        message_doc("M2", channel="sms", state="delivered", member_id="m2", sent_at=T0 + HOUR),
        message_doc("M3", channel="sms", state="failed", sent_at=None, member_id="m3"),
        message_doc("M4", channel="wechat", state="capped", sent_at=None),
        message_doc("M5", template_id="promo", channel="", state="skipped", sent_at=None),
    ]
    outside = [
        message_doc("M0", created_at=T0 - HOUR, member_id="m9"),
        message_doc("M9", tenant_id="t2", member_id="m8"),
    ]
    await store.db["messages"].insert_many(inside + outside)
    token = await tracked(store, a_message("M1"))
    await store.engagement.click(token, "", T0 + HOUR)
    await store.engagement.purchase_made("t1", "m1", "P-1", 8800, "CNY", T0 + 2 * HOUR)  # M1, clicked
    await store.engagement.purchase_made("t1", "m2", "P-2", 1200, "CNY", T0 + 2 * HOUR)  # M2, sent
    await store.engagement.coupon_claimed("t1", "m2", "C-2", T0 + 2 * HOUR)
    await store.engagement.purchase_made("t1", "m9", "P-9", 99, "CNY", T0 + 2 * HOUR)  # M0: before the period

    rows = await store.engagement.report("t1", T0, T0 + 24 * HOUR)

    assert rows == [
        Row(
            "birthday",
            "sms",
            requested=3,
            sent=2,
            deferred=1,
            failed=1,
            clicked=1,
            converted=2,
            revenue_minor=10000,
            currency="CNY",
        ),
        Row("birthday", "wechat", requested=1, capped=1),
        Row("promo", "", requested=1, skipped=1),
    ]
