"""The sending pipeline on the real store, with the service's own stores, its real webhook and
Tencent SMS providers against local stand-ins that check signatures, and a clock the test moves:

- a send request delivered three times (and three at once) records and sends one message;
- a provider that fails twice then succeeds ends in one delivery, retried with back-off;
- a message due at 22:00 (the member's zone) is sent at 09:00 the next day, not before;
- a member who replied T gets no marketing SMS but still gets a transactional one;
- caps count every channel, staff tasks included, and racing messages never pass a cap;
- WeChat sends only with a subscription left, else falls back to the next channel;
- a message whose sender died mid-flight (its lease) is sent by a later pass, once.
Each outcome is announced once, embedded in the write that records it (outbox).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from chassis import mongo, outbox
from services.messaging.adapters import (
    contacts_mongo,
    conversions_mongo,
    links_mongo,
    messages_mongo,
    policy_mongo,
    pressure_mongo,
    quotas_mongo,
    reports_mongo,
    tasks_mongo,
    templates_mongo,
)
from services.messaging.adapters import (
    mongo as inbox_mongo,
)
from services.messaging.adapters.providers.log import LogProvider
from services.messaging.adapters.providers.webhook import WebhookProvider
from services.messaging.domain.channels import Channel, MessageClass
from services.messaging.domain.contacts import Contact
from services.messaging.domain.messages import LEASE, Message, State
from services.messaging.domain.policy import CapRule, defaults
from services.messaging.domain.templates import ChannelText, Template
from services.messaging.service.dispatch import Dispatcher, Pipeline
from services.messaging.service.engagement import Engagement
from services.messaging.service.members_view import MembersView
from services.messaging.service.ports import Outgoing, Provider, ProviderResult
from services.messaging.service.reactions import WithBuiltins
from services.messaging.service.sending import Sending, SendRequest
from services.messaging.service.tasks import StaffTasks
from services.messaging.service.templates import Templates
from tests.integration.test_messaging_providers import PHONE, SECRET, Receiver, TencentSms, sms_provider
from tests.support import fresh_namespace, server_urls

pytestmark = pytest.mark.servers

Doc = dict[str, Any]
TOPIC = "messaging-pipeline-topic"
SHANGHAI = ZoneInfo("Asia/Shanghai")
TENANT = "t1"


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class _Relay:
    def wake(self) -> None:
        pass


class Members:
    """The members service's answers the pipeline asks for (a phone number, names)."""

    async def phone(self, tenant_id: str, member_id: str) -> str:
        return PHONE

    async def contact(self, tenant_id: str, member_id: str) -> Contact | None:
        return None  # every member of these tests is known from (stored) members' events

    async def staff_name(self, tenant_id: str, staff_id: str) -> str:
        return "Chen"

    async def store_name(self, tenant_id: str, store_id: str) -> str:
        return "Jing'an"


@dataclass
class Recording:
    """A provider that accepts everything and remembers what it was handed."""

    name: str = "recording"
    sent: list[Outgoing] = field(default_factory=list)

    async def send(self, out: Outgoing) -> ProviderResult:
        self.sent.append(out)
        return ProviderResult(ok=True, provider=self.name, provider_message_id=f"r-{len(self.sent)}")


@dataclass
class Platform:
    db: AsyncDatabase[Doc]
    clock: Clock
    sending: Sending
    dispatcher: Dispatcher
    contacts: contacts_mongo.MongoContacts
    templates: Templates
    policies: policy_mongo.MongoPolicies
    quotas: quotas_mongo.MongoWechatQuotas
    providers: dict[Channel, Provider]
    view: MembersView

    async def member(self, member_id: str, **changes: Any) -> None:
        await self.contacts.put_if_absent(
            replace(
                Contact(TENANT, member_id, name="Li", surname="Wang", gender="female", home_store_id="s1"),
                **changes,
            )
        )

    async def template(
        self, template_id: str, cls: MessageClass, *channels: Channel, **texts: ChannelText
    ) -> None:
        bodies = {
            c: texts.get(c.value)
            or ChannelText(
                title="Hello",
                body="{{ title }} {{ surname }}, see you soon",
                provider_template_id="tpl-1" if c in (Channel.SMS, Channel.WECHAT) else "",
            )
            for c in channels
        }
        if Channel.WECHAT in bodies and "wechat" not in texts:
            bodies[Channel.WECHAT] = ChannelText(body="thing1: {{ surname }}", provider_template_id="wx-1")
        await self.templates.save(Template(TENANT, template_id, template_id, cls, bodies), "test")

    async def send(self, key: str, template_id: str, member_id: str = "m1", **changes: Any) -> Message:
        message, _ = await self.sending.send(
            replace(SendRequest(TENANT, member_id, key, template_id), **changes)
        )
        return message

    async def stored(self, message_id: str) -> Doc:
        doc = await self.db[messages_mongo.MESSAGES].find_one({"_id": message_id, "tenant_id": TENANT})
        assert doc is not None
        return doc


Make = Callable[..., Awaitable[Platform]]
Serve = Callable[..., Awaitable[str]]


def announced(doc: Doc, kind: str) -> int:
    return sum(1 for e in doc.get("_outbox", {}).values() if e["type"] == f"regulars.messaging.v1.{kind}")


@pytest.fixture
async def platform() -> AsyncIterator[Callable[..., Awaitable[Platform]]]:
    mongodb, _ = server_urls()
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongodb, tz_aware=True, maxPoolSize=100)
    dbs: list[AsyncDatabase[Doc]] = []

    async def make(at: datetime, providers: dict[Channel, Provider] | None = None) -> Platform:
        db = client[f"{fresh_namespace()}messaging"]
        dbs.append(db)
        await mongo.ensure_indexes(
            db,
            inbox_mongo.INDEXES
            | messages_mongo.INDEXES
            | templates_mongo.INDEXES
            | quotas_mongo.INDEXES
            | tasks_mongo.INDEXES
            | links_mongo.INDEXES
            | conversions_mongo.INDEXES,
        )
        relay = cast(outbox.Outbox, _Relay())
        clock = Clock(at)
        template_store = templates_mongo.MongoTemplates(db)
        policies = policy_mongo.MongoPolicies(db)
        messages = messages_mongo.MongoMessages(db, TOPIC, relay)
        links = links_mongo.MongoLinks(db, TOPIC, relay, "https://r.example", "a-test-secret-of-16+")
        engagement = Engagement(
            links,
            conversions_mongo.MongoConversions(db, TOPIC, relay),
            reports_mongo.MongoReports(db),
            policies,
        )
        contacts = contacts_mongo.MongoContacts(db)
        quotas = quotas_mongo.MongoWechatQuotas(db)
        chosen: dict[Channel, Provider] = {
            c: LogProvider(f"log:{c.value}") for c in (Channel.SMS, Channel.WECHAT, Channel.PUSH)
        }
        chosen[Channel.WEBHOOK] = WebhookProvider(timeout_seconds=5)
        chosen |= providers or {}
        tasks = StaffTasks(tasks_mongo.MongoStaffTasks(db, TOPIC, relay), engagement, clock)
        inbox = inbox_mongo.MongoInboxRepository(db)
        pressure = pressure_mongo.MongoPressure(db)
        dispatcher = Dispatcher(
            Pipeline(
                messages=messages,
                contacts=contacts,
                templates=WithBuiltins(template_store),
                policies=policies,
                pressure=pressure,
                providers=chosen,
                quotas=quotas,
                tasks=tasks,
                links=links,
                inbox=inbox,
                members=Members(),
            )
        )
        return Platform(
            db,
            clock,
            Sending(messages, WithBuiltins(template_store), policies, dispatcher, clock),
            dispatcher,
            contacts,
            Templates(template_store, clock),
            policies,
            quotas,
            chosen,
            MembersView(contacts, inbox, tasks, [pressure, quotas, links, messages]),
        )

    try:
        yield make
    finally:
        for db in dbs:
            await client.drop_database(db.name)
        await client.close()


async def set_policy(p: Platform, **changes: Any) -> None:
    current = await p.policies.current(TENANT)
    assert await p.policies.save(replace(current, version=current.version + 1, **changes))


async def test_a_send_request_delivered_three_times_sends_once(
    platform: Make,
) -> None:
    sms = Recording("sms")
    p = await platform(shanghai(2, 12), {Channel.SMS: sms})
    await p.member("m1")
    await p.template("receipt", MessageClass.TRANSACTIONAL, Channel.SMS)

    first = await p.send("receipt:R-1", "receipt")
    again = [await p.send("receipt:R-1", "receipt") for _ in range(2)]
    at_once = await asyncio.gather(*(p.send("receipt:R-2", "receipt") for _ in range(3)))

    assert (first.state, first.channel) == (State.SENT, Channel.SMS)
    assert {m.id for m in again} == {first.id}
    assert len({m.id for m in at_once}) == 1
    assert [o.message_id for o in sms.sent].count(first.id) == 1
    assert [o.message_id for o in sms.sent].count(at_once[0].id) == 1
    assert len(sms.sent) == 2
    assert await p.db[messages_mongo.MESSAGES].count_documents({"tenant_id": TENANT}) == 2
    assert announced(await p.stored(first.id), "message_sent") == 1
    assert (sms.sent[0].body, sms.sent[0].to.phone) == ("Ms Wang, see you soon", PHONE)


async def test_a_webhook_failing_twice_then_accepting_is_delivered_once_after_back_off(
    platform: Make, serve: Serve
) -> None:
    receiver = Receiver(statuses=[500, 503])
    url = await serve(receiver)
    p = await platform(shanghai(2, 12))
    await set_policy(p, webhook_url=url, webhook_secret=SECRET)
    await p.member("m1")
    await p.template("order-ready", MessageClass.TRANSACTIONAL, Channel.WEBHOOK)

    m = await p.send("ready:1", "order-ready", channels=["webhook"])
    assert (m.state, m.attempts, m.due_at) == (State.PENDING, 1, p.clock.at + timedelta(seconds=30))
    assert (await p.dispatcher.run(p.clock.at)).sent == 0  # not due yet: nothing tried
    p.clock.at += timedelta(seconds=30)
    second = await p.dispatcher.run(p.clock.at)
    assert (second.sent, second.retried) == (0, 1)
    p.clock.at += timedelta(minutes=1)
    third = await p.dispatcher.run(p.clock.at)
    assert third.sent == 1
    p.clock.at += timedelta(hours=1)
    assert (await p.dispatcher.run(p.clock.at)).sent == 0

    done = await p.sending.get(TENANT, m.id)
    assert done.state is State.SENT
    assert [a.outcome.value for a in done.history] == ["failed", "failed", "sent"]
    assert [s["verified"] for s in receiver.seen] == [True, True, True]
    assert {s["id"] for s in receiver.seen} == {m.id}  # one webhook-id: the receiver can dedupe
    assert announced(await p.stored(m.id), "message_sent") == 1


async def test_a_message_due_at_22_is_sent_at_9_the_next_morning(
    platform: Make,
) -> None:
    push = Recording("push")
    p = await platform(shanghai(2, 22), {Channel.PUSH: push})
    await p.member("m1", consent={"app": True})
    await p.template("new-season", MessageClass.MARKETING, Channel.PUSH)

    m = await p.send("season:1", "new-season", channels=["push"])
    assert (m.state, m.deferred, m.due_at) == (State.PENDING, True, shanghai(3, 9))
    assert (await p.dispatcher.run(shanghai(3, 8, 59))).sent == 0
    assert push.sent == []
    assert (await p.dispatcher.run(shanghai(3, 9))).sent == 1
    sent = await p.sending.get(TENANT, m.id)
    assert (sent.state, sent.sent_at) == (State.SENT, shanghai(3, 9))
    assert [o.message_id for o in push.sent] == [m.id]


async def test_a_member_who_replied_t_gets_no_marketing_sms_but_still_a_transactional_one(
    platform: Make, serve: Serve
) -> None:
    tencent = TencentSms()
    provider = sms_provider(await serve(tencent))
    p = await platform(shanghai(2, 12), {Channel.SMS: provider})
    try:
        await p.member("m1")
        await p.contacts.consent_changed(TENANT, "m1", "sms", True, shanghai(1, 9))
        await p.contacts.consent_changed(TENANT, "m1", "sms", False, shanghai(2, 10))  # replied T
        await p.contacts.consent_changed(TENANT, "m1", "sms", True, shanghai(1, 8))  # an old event, late
        await p.template("promo", MessageClass.MARKETING, Channel.SMS)
        await p.template("receipt", MessageClass.TRANSACTIONAL, Channel.SMS)

        promo = await p.send("promo:1", "promo", channels=["sms"])
        receipt = await p.send("receipt:1", "receipt", channels=["sms"])
    finally:
        await provider.aclose()

    assert (promo.state, promo.reason) == (
        State.SKIPPED,
        "no usable channel (sms: no marketing consent for sms)",
    )
    assert announced(await p.stored(promo.id), "message_failed") == 1
    assert (receipt.state, receipt.history[-1].provider) == (State.SENT, "tencent_sms")
    assert [r["SessionContext"] for r in tencent.requests] == [receipt.id]  # signed right, one SMS
    assert tencent.requests[0]["PhoneNumberSet"] == [PHONE]


async def test_caps_count_every_channel_staff_tasks_included(
    platform: Make,
) -> None:
    p = await platform(shanghai(2, 11))
    await set_policy(p, caps=(CapRule("care", "day", 2),))
    await p.member("m1", owner_staff_id="staff-chen", consent={"phone": True})
    await p.template("call", MessageClass.CARE, Channel.STAFF_TASK)
    await p.template("note", MessageClass.CARE, Channel.INBOX)
    await p.template("receipt", MessageClass.TRANSACTIONAL, Channel.INBOX)

    call = await p.send("call:1", "call", channels=["staff_task"])
    note = await p.send("note:1", "note", channels=["inbox"])
    third = await p.send("note:2", "note", channels=["inbox"])
    receipt = await p.send("receipt:1", "receipt", channels=["inbox"])

    assert call.state is State.SENT
    task = await p.db[tasks_mongo.STAFF_TASKS].find_one({"tenant_id": TENANT, "message_id": call.id})
    assert task is not None
    assert (task["_id"], task["staff_id"]) == (call.staff_task_id, "staff-chen")
    assert note.state is State.SENT
    assert (third.state, third.reason) == (State.CAPPED, "cap care 2 per day")
    assert receipt.state is State.SENT  # transactional: never capped
    p.clock.at = shanghai(3, 11)  # the next day in the member's zone
    assert (await p.send("note:3", "note", channels=["inbox"])).state is State.SENT


async def test_racing_messages_never_pass_a_cap(platform: Make) -> None:
    p = await platform(shanghai(2, 11))
    await set_policy(p, caps=(CapRule("marketing", "day", 2),))
    await p.member("m1", consent={"app": True})
    await p.template("flash", MessageClass.MARKETING, Channel.PUSH)

    sent = await asyncio.gather(*(p.send(f"flash:{i}", "flash", channels=["push"]) for i in range(12)))

    assert sorted(m.state.value for m in sent) == ["capped"] * 10 + ["sent"] * 2


async def test_wechat_goes_only_with_a_subscription_left_then_falls_back(
    platform: Make,
) -> None:
    wechat, sms = Recording("wechat"), Recording("sms")
    p = await platform(shanghai(2, 12), {Channel.WECHAT: wechat, Channel.SMS: sms})
    await p.member("m1")
    await p.template("points", MessageClass.TRANSACTIONAL, Channel.WECHAT, Channel.SMS)
    await p.quotas.grant(TENANT, "m1", "wx-1", "openid-1", "grant-1")

    first = await p.send("points:1", "points", channels=["wechat", "sms"])
    second = await p.send("points:2", "points", channels=["wechat", "sms"])

    assert (first.state, first.channel) == (State.SENT, Channel.WECHAT)
    assert (wechat.sent[0].to.openid, wechat.sent[0].data) == ("openid-1", {"thing1": "Wang"})
    assert (second.state, second.channel) == (State.SENT, Channel.SMS)
    assert second.history[0].reason == "no WeChat subscription left"
    assert await p.quotas.remaining(TENANT, "m1", "wx-1") == 0


async def test_a_message_whose_sender_died_is_sent_by_a_later_pass_once(
    platform: Make,
) -> None:
    push = Recording("push")
    p = await platform(shanghai(2, 12), {Channel.PUSH: push})
    await p.member("m1")
    await p.template("receipt", MessageClass.TRANSACTIONAL, Channel.PUSH)
    template = await p.templates.get(TENANT, "receipt")
    orphan = Message(
        id="01JMSGORPHAN0000000000000A",
        tenant_id=TENANT,
        member_id="m1",
        key="receipt:lost",
        template_id=template.id,
        message_class=template.message_class,
        channels=(Channel.PUSH,),
        due_at=p.clock.at,
        created_at=p.clock.at,
    )
    # What a request leaves when its process dies right after recording the message.
    await messages_mongo.MongoMessages(p.db, TOPIC, cast(outbox.Outbox, _Relay())).insert(
        orphan, p.clock.at + LEASE
    )

    assert (await p.dispatcher.run(p.clock.at + LEASE / 2)).sent == 0  # still held by the dead sender
    passes = await asyncio.gather(*(p.dispatcher.run(p.clock.at + LEASE) for _ in range(3)))
    assert sum(s.sent for s in passes) == 1
    assert [o.message_id for o in push.sent] == [orphan.id]
    assert announced(await p.stored(orphan.id), "message_sent") == 1


async def test_quiet_hours_are_the_tenants_zone_when_the_policy_says_so(
    platform: Make,
) -> None:
    p = await platform(datetime(2026, 12, 2, 14, tzinfo=UTC))  # 22:00 in Shanghai, 14:00 in London
    await set_policy(p, time_zone="Europe/London", quiet_start=time(21), quiet_end=time(9))
    await p.member("m1")
    await p.template("hello", MessageClass.CARE, Channel.INBOX)
    assert (await p.send("hello:1", "hello", channels=["inbox"])).state is State.SENT
    assert defaults(TENANT).time_zone == "Asia/Shanghai"


async def test_an_erased_member_is_forgotten_and_sent_nothing_more(platform: Make) -> None:
    p = await platform(shanghai(2, 12))
    await p.member("m1", owner_staff_id="staff-chen", consent={"phone": True})
    await p.template(
        "gift",
        MessageClass.TRANSACTIONAL,
        Channel.INBOX,
        inbox=ChannelText(title="Gift", body="{{ name }}: {{ link('https://shop.example/gift?m=li') }}"),
    )
    await p.template("call", MessageClass.CARE, Channel.STAFF_TASK)
    gift = await p.send("gift:1", "gift", channels=["inbox"], variables={"coupon_code": "C-123"})
    call = await p.send("call:1", "call", channels=["staff_task"])
    assert (gift.state, call.state) == (State.SENT, State.SENT)
    assert await p.db[links_mongo.LINKS].count_documents({"tenant_id": TENANT, "member_id": "m1"}) == 1

    await p.view.erased(TENANT, "m1")

    contact = await p.contacts.get(TENANT, "m1")
    assert contact is not None
    assert (contact.erased, contact.name, contact.consent) == (True, "", {})
    for collection in (inbox_mongo.INBOX, links_mongo.LINKS, tasks_mongo.STAFF_TASKS):
        assert await p.db[collection].count_documents({"tenant_id": TENANT, "member_id": "m1"}) == 0
    assert (await p.stored(gift.id))["variables"] == {}
    after = await p.send("gift:2", "gift", channels=["inbox"])
    assert (after.state, after.reason) == (State.SKIPPED, "the member is gone")
