"""The messaging policy: what is refused (naming the field), "HH:MM", a change of some fields
only, the update use case's versions (a lost race retried on the newer version, an expected
version held), and the gRPC commands with the webhook secret never shown back."""

from __future__ import annotations

from dataclasses import replace
from datetime import time
from typing import cast

import pytest
from regulars.messaging.v1 import messaging_pb2 as pb

from chassis.errors import FailedPrecondition, InvalidArgument
from services.messaging.domain.channels import Channel
from services.messaging.domain.policy import (
    DEFAULT_FALLBACK,
    SETTINGS,
    CapRule,
    MessagingPolicy,
    defaults,
    merge,
    parse_hhmm,
    validate,
)
from services.messaging.entrypoints.template_commands import Context, TemplateCommands
from services.messaging.entrypoints.template_mapping import SECRET_SET
from services.messaging.service.policies import Policies
from services.messaging.service.templates import Templates
from tests.unit.fakes_messaging_templates import FakePolicies, FakeTemplates

NO_CONTEXT = cast(Context, None)  # the commands never use it
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # 24 bytes


def refused(policy: MessagingPolicy) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        validate(policy)
    return caught.value


# --- Validation --------------------------------------------------------------------------------


def test_the_defaults_are_valid() -> None:
    policy = defaults("acme")
    assert validate(policy) == policy
    assert (policy.version, policy.quiet_start, policy.quiet_end) == (0, time(21), time(9))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tenant_id": ""}, "tenant_id"),
        ({"caps": (CapRule("promo", "day", 1),)}, "caps[0].message_class"),
        ({"caps": (CapRule("care", "day", 1), CapRule("care", "month", 1))}, "caps[1].period"),
        ({"caps": (CapRule("care", "day", -1),)}, "caps[0].limit"),
        ({"caps": (CapRule("care", "day", 1), CapRule("care", "day", 2))}, "caps[1]"),
        ({"quiet_end": None}, "quiet_end"),
        ({"quiet_start": None}, "quiet_start"),
        ({"quiet_start": time(9), "quiet_end": time(9)}, "quiet_end"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone"),
        ({"time_zone": "Asia/Shang\x00hai"}, "time_zone"),
        ({"fallback": {"email": (Channel.SMS,)}}, "fallback.email"),
        ({"fallback": {"wechat": ()}}, "fallback.wechat"),
        ({"fallback": {"": (Channel.SMS, Channel.SMS)}}, 'fallback.""'),
        ({"fallback": {"sms": ("sms", "fax")}}, "fallback.sms"),
        ({"fallback": {"app": (Channel.WEBHOOK,)}}, "fallback.app"),
        ({"attribution_hours": 0}, "attribution_hours"),
        ({"attribution_hours": 721}, "attribution_hours"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": 11}, "max_attempts"),
        ({"webhook_url": "ftp://crm.example", "webhook_secret": SECRET}, "webhook_url"),
        ({"webhook_url": "https://", "webhook_secret": SECRET}, "webhook_url"),
        ({"webhook_url": "http://[::1", "webhook_secret": SECRET}, "webhook_url"),
        ({"webhook_url": "https://crm.example/a b", "webhook_secret": SECRET}, "webhook_url"),
        ({"webhook_url": "https://crm.example"}, "webhook_secret"),
        ({"webhook_secret": "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "webhook_secret"),
        ({"webhook_secret": "whsec_c2hvcnQ="}, "webhook_secret"),  # 5 bytes
        ({"webhook_secret": "whsec_not base64!"}, "webhook_secret"),
    ],
)
def test_each_mistake_names_its_field(changes: dict[str, object], field: str) -> None:
    assert refused(replace(defaults("acme"), **changes)).field == field  # type: ignore[arg-type]


def test_no_quiet_hours_no_caps_and_a_webhook_are_valid() -> None:
    policy = replace(
        defaults("acme"),
        caps=(),
        quiet_start=None,
        quiet_end=None,
        time_zone="Europe/Paris",
        fallback={"": (Channel.WEBHOOK, Channel.INBOX)},
        webhook_url="https://crm.shop.example/hooks",
        webhook_secret=SECRET,
    )
    assert validate(policy) == policy


@pytest.mark.parametrize(
    ("text", "at"), [("21:00", time(21)), ("09:05", time(9, 5)), ("00:00", time(0)), ("", NO_CONTEXT)]
)
def test_parse_hhmm_reads_hours_and_minutes(text: str, at: time | None) -> None:
    assert parse_hhmm(text, "quiet_start") == at


@pytest.mark.parametrize("text", ["24:00", "9:00", "21:60", "21:00:00", "noon", " 21:00"])
def test_parse_hhmm_names_the_field_of_anything_else(text: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_hhmm(text, "quiet_end")
    assert caught.value.field == "quiet_end"


def test_merge_takes_only_the_named_fields_and_refuses_others() -> None:
    current = defaults("acme")
    change = replace(defaults("acme"), time_zone="Europe/Paris", max_attempts=9, caps=())
    merged = merge(current, change, ["time_zone"])
    assert (merged.time_zone, merged.max_attempts, merged.caps) == ("Europe/Paris", 3, current.caps)
    assert merge(current, change, []) == current
    with pytest.raises(InvalidArgument) as caught:
        merge(current, change, ["version"])
    assert caught.value.field == "fields"
    assert "tenant_id" not in SETTINGS
    assert "quiet_start" in SETTINGS


# --- The update use case -----------------------------------------------------------------------


async def test_an_update_makes_the_next_version_with_who_and_only_its_fields() -> None:
    store = FakePolicies()
    policies = Policies(store)
    change = replace(defaults("acme"), caps=(CapRule("marketing", "week", 2),), time_zone="Europe/Paris")
    first = await policies.update(change, ["caps"], updated_by="api_key:k1")
    assert (first.version, first.updated_by, first.caps, first.time_zone) == (
        1,
        "api_key:k1",
        (CapRule("marketing", "week", 2),),
        "Asia/Shanghai",
    )
    assert await policies.get("acme") == first
    assert (await policies.get("other")).version == 0


async def test_an_update_that_changes_nothing_makes_no_version() -> None:
    store = FakePolicies()
    same = await Policies(store).update(defaults("acme"), ["time_zone", "caps"], updated_by="a")
    assert same.version == 0
    assert store.rows == {}


async def test_a_lost_race_is_retried_on_the_newer_version_keeping_both_changes() -> None:
    store = FakePolicies()
    policies = Policies(store)
    store.before_write = [replace(defaults("acme"), max_attempts=5)]  # lands between our read and write
    made = await policies.update(replace(defaults("acme"), time_zone="Europe/Paris"), ["time_zone"], "b")
    assert (made.version, made.time_zone, made.max_attempts) == (2, "Europe/Paris", 5)


async def test_an_expected_version_no_longer_current_is_refused() -> None:
    store = FakePolicies()
    policies = Policies(store)
    await policies.update(replace(defaults("acme"), max_attempts=5), ["max_attempts"], "a")
    with pytest.raises(FailedPrecondition):
        await policies.update(
            replace(defaults("acme"), max_attempts=6), ["max_attempts"], "b", expected_version=3
        )
    held = await policies.update(
        replace(defaults("acme"), max_attempts=6), ["max_attempts"], "b", expected_version=1
    )
    assert held.version == 2


async def test_a_refused_change_saves_nothing() -> None:
    store = FakePolicies()
    with pytest.raises(InvalidArgument):
        await Policies(store).update(replace(defaults("acme"), time_zone="Nowhere/Land"), ["time_zone"], "a")
    assert store.rows == {}


# --- The gRPC commands -------------------------------------------------------------------------


def commands(store: FakePolicies) -> TemplateCommands:
    served = TemplateCommands()
    served.serve_templates(Templates(FakeTemplates()), Policies(store))
    return served


async def get(served: TemplateCommands, tenant_id: str = "acme") -> pb.MessagingPolicy:
    return await served.GetMessagingPolicy(pb.GetMessagingPolicyRequest(tenant_id=tenant_id), NO_CONTEXT)


async def update(served: TemplateCommands, policy: pb.MessagingPolicy, *fields: str) -> pb.MessagingPolicy:
    request = pb.UpdateMessagingPolicyRequest(policy=policy, fields=list(fields))
    return await served.UpdateMessagingPolicy(request, NO_CONTEXT)


async def test_grpc_reads_the_defaults_and_changes_named_fields() -> None:
    served = commands(FakePolicies())
    start = await get(served)
    assert (start.version, start.quiet_start, start.quiet_end, start.time_zone) == (
        0,
        "21:00",
        "09:00",
        "Asia/Shanghai",
    )
    assert {k: list(v.channels) for k, v in start.fallback.items()} == {
        k: [c.value for c in v] for k, v in DEFAULT_FALLBACK.items()
    }
    change = pb.MessagingPolicy(
        tenant_id="acme",
        caps=[pb.CapRule(message_class="care", period="week", limit=4)],
        quiet_start="22:30",
        quiet_end="08:00",
        updated_by="api_key:k1",
    )
    changed = await update(served, change, "caps", "quiet_start", "quiet_end")
    assert changed.version == 1
    assert [(c.message_class, c.period, c.limit) for c in changed.caps] == [("care", "week", 4)]
    assert (changed.quiet_start, changed.quiet_end, changed.time_zone, changed.updated_by) == (
        "22:30",
        "08:00",
        "Asia/Shanghai",
        "api_key:k1",
    )
    assert await get(served) == changed


async def test_grpc_never_shows_the_webhook_secret_and_set_keeps_it() -> None:
    store = FakePolicies()
    served = commands(store)
    hook = pb.MessagingPolicy(tenant_id="acme", webhook_url="https://crm.example/h", webhook_secret=SECRET)
    shown = await update(served, hook, "webhook_url", "webhook_secret")
    assert shown.webhook_secret == SECRET_SET
    assert store.rows["acme"].webhook_secret == SECRET  # kept, to sign with
    # A policy read and sent back whole (no fields: all) keeps the secret it never saw.
    read = await get(served)
    read.max_attempts = 4
    again = await update(served, read)
    assert (again.version, again.max_attempts, again.webhook_secret) == (2, 4, SECRET_SET)
    assert store.rows["acme"].webhook_secret == SECRET
    only_marker = await update(
        served, pb.MessagingPolicy(tenant_id="acme", webhook_secret=SECRET_SET), "webhook_secret"
    )
    assert only_marker.version == 2  # "set" is not a change
    cleared = await update(served, pb.MessagingPolicy(tenant_id="acme"), "webhook_url", "webhook_secret")
    assert (cleared.webhook_url, cleared.webhook_secret) == ("", "")


async def test_grpc_names_a_bad_hhmm_channel_or_field() -> None:
    served = commands(FakePolicies())
    with pytest.raises(InvalidArgument) as caught:
        await update(served, pb.MessagingPolicy(tenant_id="acme", quiet_start="9pm"), "quiet_start")
    assert caught.value.field == "quiet_start"
    bad = pb.MessagingPolicy(tenant_id="acme")
    bad.fallback["wechat"].channels.extend(["wechat", "pigeon"])
    with pytest.raises(InvalidArgument) as caught:
        await update(served, bad, "fallback")
    assert caught.value.field == "fallback.wechat"
    with pytest.raises(InvalidArgument) as caught:
        await update(served, pb.MessagingPolicy(tenant_id="acme"), "version")
    assert caught.value.field == "fields"
