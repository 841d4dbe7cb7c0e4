"""Tracked links and the messaging report through the gateway, on the running platform: a link
stored in messaging's database redirects with no credential at all and its tap is counted; an
unknown or malformed token is a 404 problem; the report counts the tenant's messages and the
tap, and needs `messages:admin`.

The test runs in a tenant of its own (the static keys' tenant is fuzzed by schemathesis), with
a key made by the admin command line; messages are written as the sending pipeline writes them.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import MongoClient
from pymongo.database import Database
from ulid import ULID

from chassis.settings import CommonSettings
from devstack.processes import ROOT, Stack
from services.messaging.domain import links

Doc = dict[str, Any]


@pytest.fixture
def api(platform: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as client:
        yield client


@pytest.fixture
def messaging_db(platform: Stack, mongo: MongoClient[Doc]) -> Database[Doc]:
    name = CommonSettings(
        mongodb_url=platform.mongodb_url,
        kafka_bootstrap_servers=platform.kafka_bootstrap_servers,
        namespace=platform.namespace,
    ).database_name("messaging")
    return mongo[name]


def admin_key(platform: Stack, tenant_id: str) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-m", "gateway.admin", "create-key", "--tenant", tenant_id, "--name", "marketing"]
        + [arg for scope in ("messages:admin", "keys:admin") for arg in ("--scope", scope)],
        env=platform.base_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {"Authorization": f"Bearer {out.strip().splitlines()[-1]}"}


def seed(db: Database[Doc], tenant_id: str, now: datetime) -> tuple[str, str]:
    """A sent message of the tenant with a tracked link, as messaging stores them: (token, url)."""
    message_id = str(ULID())
    url = f"https://shop.example/gift?m={message_id}"
    token = links.token_for(b"e2e-seeded-secret", message_id, url)
    db["messages"].insert_one(
        {
            "_id": message_id,
            "tenant_id": tenant_id,
            "member_id": "m-e2e",
            "key": f"birthday:{message_id}",
            "template_id": "birthday",
            "message_class": "care",
            "channels": ["sms"],
            "position": 0,
            "channel": "sms",
            "state": "sent",
            "due_at": now,
            "created_at": now,
            "sent_at": now,
            "deferred": False,
            "attempts": 0,
            "reason": "",
            "source": "journey",
            "store_id": "s1",
            "staff_id": "a1",
            "staff_task_id": "",
            "version": 2,
        }
    )
    db["links"].insert_one(
        {
            "_id": token,
            "tenant_id": tenant_id,
            "message_id": message_id,
            "member_id": "m-e2e",
            "template_id": "birthday",
            "channel": "sms",
            "staff_id": "a1",
            "store_id": "s1",
            "message_class": "care",
            "message_created_at": now,
            "url": url,
            "created_at": now,
        }
    )
    return token, url


def test_a_tracked_link_redirects_without_a_credential_and_counts_the_tap(
    platform: Stack, api: httpx.Client, messaging_db: Database[Doc]
) -> None:
    tenant_id = f"links-{str(ULID()).lower()}"
    token, url = seed(messaging_db, tenant_id, datetime.now(UTC))

    for _ in range(2):
        r = api.get(f"/r/{token}", headers={"User-Agent": "e2e-phone/1.0"})
        assert r.status_code == 302, r.text
        assert r.headers["location"] == url
        assert r.headers["cache-control"] == "no-store"

    engaged = messaging_db["engagements"].find_one({"tenant_id": tenant_id})
    assert engaged is not None
    assert (engaged["clicks"], engaged["first_url"]) == (2, url)
    assert engaged["user_agent"] == "e2e-phone/1.0"


@pytest.mark.parametrize("token", ["aaaaaaaaaaaaaaaa", "not-a-token", "AAAAAAAAAAAAAAAA", "a" * 300, "%00"])
def test_an_unknown_or_malformed_token_is_a_404_problem(api: httpx.Client, token: str) -> None:
    r = api.get(f"/r/{token}")
    assert r.status_code == 404, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/not-found"


def test_the_report_counts_the_tenants_messages_and_taps_and_needs_messages_admin(
    platform: Stack, api: httpx.Client, messaging_db: Database[Doc]
) -> None:
    tenant_id = f"report-{str(ULID()).lower()}"
    admin = admin_key(platform, tenant_id)
    now = datetime.now(UTC)
    token, _ = seed(messaging_db, tenant_id, now)
    seed(messaging_db, tenant_id, now)  # a second message, never tapped
    assert api.get(f"/r/{token}").status_code == 302
    period = {
        "since": (now - timedelta(hours=1)).isoformat(),
        "until": (now + timedelta(hours=1)).isoformat(),
    }

    r = api.get("/v1/messaging-reports", params=period, headers=admin)

    assert r.status_code == 200, r.text
    assert r.json() == {
        "rows": [
            {
                "template_id": "birthday",
                "channel": "sms",
                "requested": 2,
                "sent": 2,
                "deferred": 0,
                "capped": 0,
                "failed": 0,
                "skipped": 0,
                "clicked": 1,
                "converted": 0,
                "revenue": 0,
                "currency": "",
            }
        ],
        "staff": [],
    }
    made = api.post("/v1/api-keys", json={"name": "reader", "scopes": ["keys:admin"]}, headers=admin)
    assert made.status_code == 201, made.text
    other = {"Authorization": f"Bearer {made.json()['key']}"}
    refused = api.get("/v1/messaging-reports", params=period, headers=other)
    assert refused.status_code == 403, refused.text
    assert api.get("/v1/messaging-reports", params=period).status_code == 401
    backwards = api.get(
        "/v1/messaging-reports", params={"since": period["until"], "until": period["since"]}, headers=admin
    )
    assert backwards.status_code == 400, backwards.text
    assert backwards.json()["field"] == "until"
