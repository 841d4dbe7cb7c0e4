"""Message templates and the messaging policy through the gateway, on the real platform: a
template saved, read and listed with who saved it; a misspelled variable or an SMS too long
refused naming the field, saving nothing; the policy's caps and quiet hours changed and read
back, a bad time zone named, the webhook secret never shown; another tenant reads nothing.

Each test runs in tenants of its own, with keys made by the admin command line.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from ulid import ULID

from devstack.processes import ROOT, Stack

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BIRTHDAY: dict[str, Any] = {
    "name": "Birthday month: the gift is ready",
    "message_class": "care",
    "texts": {
        "sms": {
            "body": "{{ title }} {{ surname }}, your birthday gift waits at {{ store }}: "
            "{{ link('https://shop.example/birthday') }}",
            "provider_template_id": "SMS_204417001",
        },
        "wechat": {
            "body": "thing1: {{ name }}, your birthday gift is ready\ntime2: {{ coupon_expiry }}",
            "provider_template_id": "k3Jb8vZ0Qm2WcXo",
        },
        "inbox": {"title": "Happy birthday month, {{ name }}", "body": "Your gift is ready at {{ store }}."},
    },
    "script": "Call {{ title }} {{ surname }} to invite them in for the gift.",
    "task_due_hours": 48,
}


class Tenant:
    """A fresh tenant and an admin key of it (`headers`, `key_id`)."""

    def __init__(self, platform: Stack, api: httpx.Client) -> None:
        self.id = f"msgt-{str(ULID()).lower()}"
        self.api = api
        out = subprocess.run(
            [sys.executable, "-m", "gateway.admin", "create-key", "--tenant", self.id, "--name", "admin"]
            + [arg for scope in ("messages:admin", "keys:admin") for arg in ("--scope", scope)],
            env=platform.base_env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        key = out.strip().splitlines()[-1]
        self.headers = {"Authorization": f"Bearer {key}"}
        self.key_id = key.split("_", 2)[1]

    def key(self, *scopes: str) -> dict[str, str]:
        r = self.api.post(
            "/v1/api-keys", json={"name": "other", "scopes": list(scopes)}, headers=self.headers
        )
        assert r.status_code == 201, r.text
        return {"Authorization": f"Bearer {r.json()['key']}"}


@pytest.fixture
def api(platform: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.gateway_url, timeout=10) as client:
        yield client


@pytest.fixture
def tenant(platform: Stack, api: httpx.Client) -> Tenant:
    return Tenant(platform, api)


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    return body


def test_a_template_is_saved_read_and_listed_with_its_versions(api: httpx.Client, tenant: Tenant) -> None:
    saved = api.put("/v1/message-templates/birthday-month", json=BIRTHDAY, headers=tenant.headers)
    assert saved.status_code == 200, saved.text
    first = saved.json()
    assert (first["id"], first["version"], first["updated_by"]) == (
        "birthday-month",
        1,
        f"api_key:{tenant.key_id}",
    )
    assert first["updated_at"] is not None
    assert first["texts"] == {
        channel: {"title": "", "provider_template_id": "", **text}
        for channel, text in BIRTHDAY["texts"].items()
    }
    assert (first["script"], first["task_due_hours"], first["message_class"]) == (
        BIRTHDAY["script"],
        48,
        "care",
    )
    read = api.get("/v1/message-templates/birthday-month", headers=tenant.headers)
    assert read.status_code == 200, read.text
    assert read.json() == first

    changed = api.put(
        "/v1/message-templates/birthday-month",
        json={**BIRTHDAY, "texts": {"inbox": {"body": "Happy birthday, {{ name }}!"}}},
        headers=tenant.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2
    assert list(changed.json()["texts"]) == ["inbox"]  # saved whole: the other channels are gone
    welcome = api.put(
        "/v1/message-templates/welcome",
        json={"name": "Welcome", "message_class": "transactional", "texts": {"inbox": {"body": "Welcome!"}}},
        headers=tenant.headers,
    )
    assert welcome.status_code == 200, welcome.text
    assert welcome.json()["task_due_hours"] == 24
    listed = api.get("/v1/message-templates", headers=tenant.headers)
    assert listed.status_code == 200, listed.text
    assert [(t["id"], t["version"]) for t in listed.json()["items"]] == [
        ("birthday-month", 2),
        ("welcome", 1),
    ]


def test_a_misspelled_variable_is_refused_naming_the_field_and_nothing_is_saved(
    api: httpx.Client, tenant: Tenant
) -> None:
    texts = {**BIRTHDAY["texts"], "sms": {**BIRTHDAY["texts"]["sms"], "body": "Hello {{ nmae }}, your gift"}}
    bad = api.put(
        "/v1/message-templates/birthday-month", json={**BIRTHDAY, "texts": texts}, headers=tenant.headers
    )
    body = problem(bad, 400)
    assert body["field"] == "texts.sms.body"
    assert "nmae" in body["detail"]
    assert problem(api.get("/v1/message-templates/birthday-month", headers=tenant.headers), 404)
    assert api.get("/v1/message-templates", headers=tenant.headers).json()["items"] == []

    syntax = api.put(
        "/v1/message-templates/birthday-month",
        json={**BIRTHDAY, "texts": {"inbox": {"body": "Hi\n{% if name %}{{ name }}"}}},
        headers=tenant.headers,
    )
    assert problem(syntax, 400)["field"] == "texts.inbox.body"
    channel = api.put(
        "/v1/message-templates/birthday-month",
        json={**BIRTHDAY, "texts": {"fax": {"body": "Hi"}}},
        headers=tenant.headers,
    )
    assert problem(channel, 422)["field"] is not None
    bad_id = api.put("/v1/message-templates/Birthday", json=BIRTHDAY, headers=tenant.headers)
    assert problem(bad_id, 400)["field"] == "id"


def test_an_sms_over_the_segment_limit_is_refused(api: httpx.Client, tenant: Tenant) -> None:
    long_sms = {"body": "您的生日礼物已经准备好了，" * 22, "provider_template_id": "SMS_1"}  # 286 characters
    bad = api.put(
        "/v1/message-templates/long",
        json={**BIRTHDAY, "message_class": "marketing", "texts": {"sms": long_sms}},
        headers=tenant.headers,
    )
    body = problem(bad, 400)
    assert body["field"] == "texts.sms.body"
    assert "segments" in body["detail"]
    assert problem(api.get("/v1/message-templates/long", headers=tenant.headers), 404)
    no_id = api.put(
        "/v1/message-templates/long",
        json={**BIRTHDAY, "texts": {"sms": {"body": "Hi {{ name }}"}}},
        headers=tenant.headers,
    )
    assert problem(no_id, 400)["field"] == "texts.sms.provider_template_id"


def test_the_policy_starts_at_the_defaults_and_a_patch_of_caps_and_quiet_hours_round_trips(
    api: httpx.Client, tenant: Tenant
) -> None:
    start = api.get("/v1/messaging-policy", headers=tenant.headers)
    assert start.status_code == 200, start.text
    defaults = start.json()
    assert (defaults["version"], defaults["quiet_start"], defaults["quiet_end"], defaults["updated_by"]) == (
        0,
        "21:00",
        "09:00",
        None,
    )
    assert {"message_class": "marketing", "period": "day", "limit": 1} in defaults["caps"]

    caps = [
        {"message_class": "marketing", "period": "week", "limit": 2},
        {"message_class": "contact", "period": "day", "limit": 1},
    ]
    patched = api.patch(
        "/v1/messaging-policy",
        json={"caps": caps, "quiet_start": "22:30", "quiet_end": "08:00"},
        headers=tenant.headers,
    )
    assert patched.status_code == 200, patched.text
    policy = patched.json()
    assert (policy["caps"], policy["quiet_start"], policy["quiet_end"], policy["version"]) == (
        caps,
        "22:30",
        "08:00",
        1,
    )
    assert policy["updated_by"] == f"api_key:{tenant.key_id}"
    untouched = {
        "time_zone",
        "fallback",
        "attribution_hours",
        "max_attempts",
        "webhook_url",
        "webhook_secret_set",
    }
    assert {k: policy[k] for k in untouched} == {k: defaults[k] for k in untouched}
    assert api.get("/v1/messaging-policy", headers=tenant.headers).json() == policy

    quiet_off = api.patch(
        "/v1/messaging-policy", json={"quiet_start": "", "quiet_end": ""}, headers=tenant.headers
    )
    assert (quiet_off.json()["quiet_start"], quiet_off.json()["quiet_end"]) == (None, None)
    nothing = api.patch("/v1/messaging-policy", json={}, headers=tenant.headers)
    assert nothing.json()["version"] == 2
    stale = api.patch(
        "/v1/messaging-policy", json={"max_attempts": 5, "expected_version": 1}, headers=tenant.headers
    )
    problem(stale, 409)


def test_a_bad_policy_is_refused_naming_the_field_and_changes_nothing(
    api: httpx.Client, tenant: Tenant
) -> None:
    zone = api.patch("/v1/messaging-policy", json={"time_zone": "Mars/Olympus"}, headers=tenant.headers)
    assert problem(zone, 400)["field"] == "time_zone"
    half = api.patch(
        "/v1/messaging-policy", json={"quiet_start": "", "quiet_end": "08:00"}, headers=tenant.headers
    )
    assert problem(half, 400)["field"] == "quiet_start"
    clock = api.patch("/v1/messaging-policy", json={"quiet_start": "9pm"}, headers=tenant.headers)
    assert problem(clock, 400)["field"] == "quiet_start"
    cap = api.patch(
        "/v1/messaging-policy",
        json={"caps": [{"message_class": "care", "period": "day", "limit": -1}]},
        headers=tenant.headers,
    )
    assert problem(cap, 400)["field"] == "caps[0].limit"
    fallback = api.patch("/v1/messaging-policy", json={"fallback": {"wechat": []}}, headers=tenant.headers)
    assert problem(fallback, 400)["field"] == "fallback.wechat"
    assert api.get("/v1/messaging-policy", headers=tenant.headers).json()["version"] == 0


def test_the_webhook_secret_is_write_only(api: httpx.Client, tenant: Tenant) -> None:
    hook = {"webhook_url": "https://crm.shop.example/hooks", "webhook_secret": SECRET}
    set_ = api.patch("/v1/messaging-policy", json=hook, headers=tenant.headers)
    assert set_.status_code == 200, set_.text
    assert (set_.json()["webhook_url"], set_.json()["webhook_secret_set"]) == (hook["webhook_url"], True)
    assert SECRET not in set_.text
    read = api.get("/v1/messaging-policy", headers=tenant.headers)
    assert read.json()["webhook_secret_set"] is True
    assert SECRET not in read.text
    other = api.patch("/v1/messaging-policy", json={"max_attempts": 4}, headers=tenant.headers)
    assert other.json()["webhook_secret_set"] is True  # a change of another field keeps it
    weak = api.patch(
        "/v1/messaging-policy", json={"webhook_secret": "whsec_c2hvcnQ="}, headers=tenant.headers
    )
    assert problem(weak, 400)["field"] == "webhook_secret"


def test_another_tenant_reads_nothing_and_other_scopes_are_forbidden(
    platform: Stack, api: httpx.Client, tenant: Tenant
) -> None:
    saved = api.put("/v1/message-templates/birthday-month", json=BIRTHDAY, headers=tenant.headers)
    assert saved.status_code == 200, saved.text
    assert (
        api.patch("/v1/messaging-policy", json={"max_attempts": 7}, headers=tenant.headers).status_code == 200
    )
    other = Tenant(platform, api)
    problem(api.get("/v1/message-templates/birthday-month", headers=other.headers), 404)
    assert api.get("/v1/message-templates", headers=other.headers).json()["items"] == []
    assert api.get("/v1/messaging-policy", headers=other.headers).json()["max_attempts"] == 3

    sender = tenant.key("messages:send")
    for method, path, body in [
        ("PUT", "/v1/message-templates/birthday-month", BIRTHDAY),
        ("GET", "/v1/message-templates/birthday-month", None),
        ("GET", "/v1/message-templates", None),
        ("GET", "/v1/messaging-policy", None),
        ("PATCH", "/v1/messaging-policy", {"max_attempts": 2}),
    ]:
        r = api.request(method, path, json=body, headers=sender)
        assert problem(r, 403)["type"] == "/problems/forbidden", f"{method} {path}"
    assert api.get("/v1/message-templates/birthday-month", headers=tenant.headers).json()["version"] == 1
