"""Event types derived from the proto, and subscriptions that decode the payload and refuse one
addressed to another tenant before any handler runs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from google.protobuf.message import Message
from regulars.coupons.v1 import events_pb2 as coupon_events
from regulars.members.v1 import events_pb2, members_pb2

from chassis.cloudevents import Envelope, event_type, new_event, topic_of
from chassis.consumer import PermanentError, by_event_type, on, payload_tenant

AT = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def envelope(payload: Message, tenant_id: str) -> Envelope:
    return new_event(source="test", tenant_id=tenant_id, subject="m1", payload=payload, time=AT)


def test_an_event_type_is_the_proto_package_and_the_message_name_in_snake_case() -> None:
    assert event_type(events_pb2.MemberRegistered) == "regulars.members.v1.member_registered"
    assert (
        event_type(events_pb2.MemberBirthdayMonthStarted)
        == "regulars.members.v1.member_birthday_month_started"
    )
    assert event_type(coupon_events.CouponIssued()) == "regulars.coupons.v1.coupon_issued"
    assert topic_of(events_pb2.DESCRIPTOR) == "regulars.members.v1"


def test_a_new_event_takes_its_type_from_its_payload() -> None:
    e = envelope(events_pb2.MemberErased(member_id="m1", tenant_id="t1"), "t1")
    assert e.type == "regulars.members.v1.member_erased"


def test_the_tenant_of_a_payload_is_its_own_or_that_of_the_message_it_carries() -> None:
    assert payload_tenant(events_pb2.MemberRegistered(tenant_id="t1")) == "t1"
    made = events_pb2.PurchaseMade(purchase=members_pb2.Purchase(id="p1", tenant_id="t2"))
    assert payload_tenant(made) == "t2"
    assert payload_tenant(members_pb2.PurchaseLine(sku="A")) is None


async def test_a_subscribed_handler_gets_the_decoded_payload() -> None:
    seen: list[tuple[str, str]] = []

    async def registered(env: Envelope, e: events_pb2.MemberRegistered) -> None:
        seen.append((env.id, e.name))

    table = by_event_type(on(events_pb2.MemberRegistered, registered))
    env = envelope(events_pb2.MemberRegistered(member_id="m1", tenant_id="t1", name="Li"), "t1")

    await table[env.type](env)

    assert seen == [(env.id, "Li")]


@pytest.mark.parametrize(
    "payload",
    [
        events_pb2.MemberRegistered(member_id="m1", tenant_id="other"),
        events_pb2.PurchaseMade(purchase=members_pb2.Purchase(id="p1", tenant_id="other")),
    ],
)
async def test_a_payload_addressed_to_another_tenant_is_refused_before_the_handler_runs(
    payload: events_pb2.MemberRegistered | events_pb2.PurchaseMade,
) -> None:
    called = []

    async def handler(env: Envelope, e: object) -> None:
        called.append(e)

    table = by_event_type(on(events_pb2.MemberRegistered, handler), on(events_pb2.PurchaseMade, handler))
    env = envelope(payload, "t1")

    with pytest.raises(PermanentError, match="tenant"):
        await table[env.type](env)
    assert called == []


async def test_an_undecodable_payload_is_permanent() -> None:
    async def handler(env: Envelope, e: events_pb2.MemberRegistered) -> None:
        raise AssertionError("not reached")

    _, handle = on(events_pb2.MemberRegistered, handler)
    env = replace(envelope(events_pb2.MemberRegistered(tenant_id="t1"), "t1"), data=b"\xff\xff\xff")

    with pytest.raises(PermanentError):
        await handle(env)


def test_an_event_type_may_be_subscribed_once() -> None:
    async def handler(env: Envelope, e: events_pb2.MemberErased) -> None: ...

    with pytest.raises(ValueError, match="twice"):
        by_event_type(on(events_pb2.MemberErased, handler), on(events_pb2.MemberErased, handler))
