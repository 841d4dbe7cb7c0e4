"""`make bench-messaging`: BENCH_MESSAGES send requests (default 100,000) through messaging's
sending pipeline — read the template, the member's view, the policy; decide the channel
(consent, fallback), quiet hours and caps (the member's contact record, one guarded write);
record the message; hand it to a provider stub; record the outcome with its event — against a
bare loop of the same store writes (insert the message, write the contact record, update the
message) in the same run, at the same concurrency, on the same store.

The pipeline runs in this process as the service runs it (service/sending.py and dispatch.py on
the real adapters), so the figure is the pipeline's, not the gRPC edge's. Members get
BENCH_MESSAGES_PER_MEMBER messages each (default 4) so the caps record is read and rewritten as
it is in production, under a cap high enough that every message goes. The goal: the pipeline at
>= 0.5 x the bare loop's messages/s. Results go to bench/results/messaging-<timestamp>.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from regulars.messaging.v1 import events_pb2, messaging_pb2
from ulid import ULID

from bench import goals, load
from chassis import mongo, outbox
from chassis.cloudevents import Envelope, new_event
from devstack.processes import ROOT
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
from services.messaging.adapters import mongo as inbox_mongo
from services.messaging.domain.channels import Channel, MessageClass
from services.messaging.domain.contacts import Contact
from services.messaging.domain.policy import CapRule
from services.messaging.domain.templates import ChannelText, Template
from services.messaging.service.cached import CachedPolicies, CachedTemplates
from services.messaging.service.dispatch import Dispatcher, Pipeline
from services.messaging.service.engagement import Engagement
from services.messaging.service.ports import Outgoing, ProviderResult
from services.messaging.service.sending import Sending, SendRequest
from services.messaging.service.tasks import StaffTasks
from services.messaging.service.templates import Templates

console = load.console
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "100000"))
PER_MEMBER = int(os.environ.get("BENCH_MESSAGES_PER_MEMBER", "4"))
CONCURRENCY = int(os.environ.get("BENCH_MESSAGING_CONCURRENCY", "32"))
TENANT = "bench-messaging"
NOON = datetime(2026, 12, 2, 4, tzinfo=UTC)  # 12:00 in Asia/Shanghai: outside quiet hours
Doc = dict[str, Any]


class _NoRelay:
    def wake(self) -> None:  # the events stay embedded; the relay is measured elsewhere
        pass


class Stub:
    """The provider: accepts at once (what is measured is the pipeline, not a network)."""

    name = "stub"

    async def send(self, out: Outgoing) -> ProviderResult:
        return ProviderResult(ok=True, provider=self.name, provider_message_id=out.message_id)


class Members:
    async def phone(self, tenant_id: str, member_id: str) -> str:
        return "+8613800000000"

    async def contact(self, tenant_id: str, member_id: str) -> Contact | None:
        return None

    async def staff_name(self, tenant_id: str, staff_id: str) -> str:
        return ""

    async def store_name(self, tenant_id: str, store_id: str) -> str:
        return ""


@dataclass(frozen=True)
class Run:
    name: str
    messages: int
    seconds: float
    errors: int

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


async def drive(name: str, count: int, one: Callable[[int], Awaitable[None]]) -> Run:
    """`count` calls of `one(i)` by CONCURRENCY workers; errors counted, not raised."""
    next_i = 0
    errors = 0

    async def worker() -> None:
        nonlocal next_i, errors
        while next_i < count:
            i, next_i = next_i, next_i + 1
            try:
                await one(i)
            except Exception:
                errors += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return Run(name, count, time.perf_counter() - start, errors)


async def seed_contacts(db: AsyncDatabase[Doc], members: int) -> None:
    """The members' view, as members' events leave it: names and consent to app push."""
    await db[contacts_mongo.CONTACTS].insert_many(
        [
            {
                "_id": f"{TENANT}:m{i:07d}",
                "tenant_id": TENANT,
                "member_id": f"m{i:07d}",
                "name": "Li",
                "consent": {"app": True},
            }
            for i in range(members)
        ]
    )


async def setup(db: AsyncDatabase[Doc], members: int) -> Sending:
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
    relay = cast(outbox.Outbox, _NoRelay())
    clock = lambda: NOON  # noqa: E731
    template_store = templates_mongo.MongoTemplates(db)
    await Templates(template_store, clock).save(
        Template(
            TENANT, "care-note", "Care note", MessageClass.CARE, {Channel.PUSH: ChannelText("Hi {{ name }}")}
        ),
        "bench",
    )
    policies = policy_mongo.MongoPolicies(db)
    policy = await policies.current(TENANT)
    caps = (CapRule("care", "day", PER_MEMBER + 1),)
    await policies.save(replace(policy, caps=caps, version=policy.version + 1))
    contacts = contacts_mongo.MongoContacts(db)
    await seed_contacts(db, members)
    messages = messages_mongo.MongoMessages(db, "bench-topic", relay)
    links = links_mongo.MongoLinks(db, "bench-topic", relay, "https://r.example", "bench-link-secret-0000")
    engagement = Engagement(
        links,
        conversions_mongo.MongoConversions(db, "bench-topic", relay),
        reports_mongo.MongoReports(db),
        policies,
    )
    templates, sending_policies = CachedTemplates(template_store, 1.0), CachedPolicies(policies, 1.0)
    dispatcher = Dispatcher(
        Pipeline(
            messages=messages,
            contacts=contacts,
            templates=templates,
            policies=sending_policies,
            pressure=pressure_mongo.MongoPressure(db),
            providers={c: Stub() for c in (Channel.SMS, Channel.WECHAT, Channel.PUSH, Channel.WEBHOOK)},
            quotas=quotas_mongo.MongoWechatQuotas(db),
            tasks=StaffTasks(tasks_mongo.MongoStaffTasks(db, "bench-topic", relay), engagement),
            links=links,
            inbox=inbox_mongo.MongoInboxRepository(db),
            members=Members(),
        )
    )
    return Sending(messages, templates, sending_policies, dispatcher, clock)


def event(message_id: str) -> Envelope:
    """An event the size of a message_sent: the message with its one step of history."""
    payload = events_pb2.MessageSent(
        message=messaging_pb2.Message(
            id=message_id,
            tenant_id=TENANT,
            member_id="m0000001",
            message_key="care:0",
            template_id="care-note",
            message_class="care",
            state="sent",
            channel="push",
            channels=["push"],
            history=[messaging_pb2.DeliveryAttempt(channel="push", outcome="sent", provider="stub")],
        )
    )
    return new_event(source="regulars/messaging", tenant_id=TENANT, subject="m0000001", payload=payload)


def member_of(i: int) -> str:
    return f"m{i % max(MESSAGES // PER_MEMBER, 1):07d}"


async def pipeline(db: AsyncDatabase[Doc]) -> Run:
    sending = await setup(db, max(MESSAGES // PER_MEMBER, 1))

    async def one(i: int) -> None:
        message, _ = await sending.send(
            SendRequest(TENANT, member_of(i), f"care:{i}", "care-note", channels=["push"])
        )
        if message.state.value != "sent":
            raise RuntimeError(f"message {i} ended {message.state.value}: {message.reason}")

    return await drive("pipeline (decide, caps, record, provider stub)", MESSAGES, one)


async def bare(db: AsyncDatabase[Doc]) -> Run:
    """The pipeline's three writes of one message, nothing read or decided: insert the message,
    add it to the member's recent contacts, record it sent with its event."""
    msgs, contacts = db["messages"], db[contacts_mongo.CONTACTS]
    await msgs.create_index([("tenant_id", 1), ("key", 1)], unique=True)
    await seed_contacts(db, max(MESSAGES // PER_MEMBER, 1))

    async def one(i: int) -> None:
        mid = str(ULID())
        await msgs.insert_one(
            {
                "_id": mid,
                "tenant_id": TENANT,
                "key": f"care:{i}",
                "state": "pending",
                "version": 0,
                "at": NOON,
            }
        )
        contact = {"at": NOON, "c": "care", "m": mid}
        await contacts.update_one(  # the member's recent contacts, one more (caps)
            {"_id": f"{TENANT}:{member_of(i)}", "tenant_id": TENANT},
            {"$push": {"recent": contact}, "$inc": {"pv": 1}},
        )
        sent = {"state": "sent", "version": 1, "sent_at": NOON + timedelta(milliseconds=1)}
        await msgs.update_one(  # with its message_sent embedded, as the pipeline writes it
            {"_id": mid, "tenant_id": TENANT, "version": 0},
            {"$set": sent | outbox.embed_set("bench-topic", event(mid))},
        )

    return await drive("bare loop of the same writes", MESSAGES, one)


async def main() -> None:
    url = os.environ["MONGODB_URL"]
    client: AsyncMongoClient[Doc] = AsyncMongoClient(url, tz_aware=True, maxPoolSize=CONCURRENCY * 2)
    names = [f"bench_messaging_{ULID()}".lower() for _ in range(2)]
    try:
        console.print(f"[bold]messaging pipeline[/]: {MESSAGES:,} sends, {CONCURRENCY} in flight")
        base = await bare(client[names[0]])
        console.print(
            f"  {base.name}: {base.rate:,.0f} messages/s ({base.seconds:.1f} s, {base.errors} errors)"
        )
        via = await pipeline(client[names[1]])
        console.print(f"  {via.name}: {via.rate:,.0f} messages/s ({via.seconds:.1f} s, {via.errors} errors)")
        ratio = via.rate / base.rate if base.rate else 0.0
        goal = goals.Goal(
            "messaging pipeline >= 0.5 x the bare loop of its writes",
            f"{ratio:.2f} ({via.rate:,.0f} vs {base.rate:,.0f} messages/s, {MESSAGES:,} sends)",
            ratio >= 0.5 and via.errors == 0,
        )
        rows = goals.show([goal]) + [
            {"name": r.name, "messages": r.messages, "seconds": r.seconds, "rate": r.rate, "errors": r.errors}
            for r in (base, via)
        ]
        out = ROOT / "bench" / "results" / f"messaging-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(rows, indent=2, default=str))
        console.print(f"results: {out.relative_to(ROOT)}")
    finally:
        for name in names:
            await client.drop_database(name)
        await client.close()


if __name__ == "__main__":
    asyncio.run(main())
