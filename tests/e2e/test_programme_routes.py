"""A tenant's loyalty programme through the gateway: read, change, version, earning rules, and
the till's preview agreeing with the purchase it previews.

Each test runs in tenants of its own (the static test keys' tenant is fuzzed by schemathesis,
which changes its programme too), with keys made by the admin command line.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from ulid import ULID

from devstack.processes import ROOT, Stack
from tests.support import eventually

ADMIN = ["programme:admin", "keys:admin", "members:write", "members:read", "purchases:write"]
SATURDAY = "2026-11-28T10:00:00Z"
MONDAY = "2026-11-30T10:00:00Z"
WEEKEND_ROUGE = {
    "name": "Double points on Rouge Co at weekends",
    "days_of_week": ["sat", "sun"],
    "brands": ["Rouge Co"],
    "multiplier": 2,
}
CART = [
    {"sku": "LIP-01", "brand": "Rouge Co", "category": "Lipstick", "list_price": 32000, "paid_price": 28800},
    {"sku": "BREAD-1", "brand": "House", "category": "Bread", "list_price": 10000, "paid_price": 10000},
]


class Tenant:
    """A fresh tenant and an admin key of it (`headers`, `key_id`)."""

    def __init__(self, platform: Stack, api: httpx.Client) -> None:
        self.id = f"prog-{str(ULID()).lower()}"
        self.api = api
        out = subprocess.run(
            [sys.executable, "-m", "gateway.admin", "create-key", "--tenant", self.id, "--name", "admin"]
            + [arg for scope in ADMIN for arg in ("--scope", scope)],
            env=platform.base_env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        key = out.strip().splitlines()[-1]
        self.headers = {"Authorization": f"Bearer {key}"}
        self.key_id = key.split("_", 2)[1]

    def key(self, *scopes: str, store_id: str | None = None) -> dict[str, str]:
        r = self.api.post(
            "/v1/api-keys",
            json={"name": "other", "scopes": list(scopes), "store_id": store_id},
            headers=self.headers,
        )
        assert r.status_code == 201, r.text
        return {"Authorization": f"Bearer {r.json()['key']}"}

    def enrol(self) -> str:
        phone = f"+86135{time.time_ns() % 100_000_000:08d}"
        r = self.api.post("/v1/members", json={"phone": phone, "name": "Wu"}, headers=self.headers)
        assert r.status_code == 201, r.text
        member_id: str = r.json()["id"]
        return member_id


def same_version(read: dict[str, Any], made: dict[str, Any]) -> bool:
    """A version as read back equals the one the change answered; the store keeps moments to the
    millisecond while the change's own answer carries microseconds."""

    def ms(version: dict[str, Any]) -> dict[str, Any]:
        at = datetime.fromisoformat(version["changed_at"])
        return {**version, "changed_at": at.replace(microsecond=at.microsecond // 1000 * 1000)}

    return ms(read) == ms(made)


@pytest.fixture
def api(platform: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.gateway_url, timeout=10) as client:
        yield client


@pytest.fixture
def tenant(platform: Stack, api: httpx.Client) -> Tenant:
    return Tenant(platform, api)


def test_an_admin_changes_the_ladder_and_earn_rate_and_reads_them_back(
    api: httpx.Client, tenant: Tenant
) -> None:
    start = api.get("/v1/programme", headers=tenant.headers)
    assert start.status_code == 200, start.text
    assert (start.json()["version"], start.json()["changed_by"], start.json()["changed_at"]) == (
        0,
        None,
        None,
    )
    defaults = start.json()["settings"]
    assert [t["name"] for t in defaults["ladder"]["tiers"]] == ["normal", "silver", "gold", "diamond"]

    ladder = {
        "tiers": [
            {"name": "classic", "min_trailing_spend": 0},
            {"name": "gold", "min_trailing_spend": 500_000},
        ],
        "window_months": 24,
    }
    changed = api.patch(
        "/v1/programme",
        json={"ladder": ladder, "points": {"points_per_unit": 3, "unit_minor": 100}},
        headers=tenant.headers,
    )
    assert changed.status_code == 200, changed.text
    version = changed.json()
    assert version["version"] == 1
    assert version["changed_by"] == f"api_key:{tenant.key_id}"
    assert version["changed_at"] is not None
    settings = version["settings"]
    assert settings["ladder"]["tiers"] == ladder["tiers"]
    assert settings["ladder"]["window_months"] == 24
    assert settings["ladder"]["may_go_down"] == defaults["ladder"]["may_go_down"]  # left out: default
    assert settings["points"]["points_per_unit"] == 3
    assert settings["points"]["rounding"] == "floor"
    assert settings["birthday"] == defaults["birthday"]  # not sent: stays
    assert settings["expiry"] == defaults["expiry"]

    for read in (
        api.get("/v1/programme", headers=tenant.headers).json(),
        api.get("/v1/programme", params={"version": 1}, headers=tenant.headers).json(),
    ):
        assert same_version(read, version)
    missing = api.get("/v1/programme", params={"version": 7}, headers=tenant.headers)
    assert missing.status_code == 404, missing.text

    member = tenant.enrol()
    purchase = api.post(
        "/v1/purchases",
        json={
            "member_id": member,
            "store_id": "st-1",
            "receipt_no": "R-1",
            "occurred_at": SATURDAY,
            "lines": [CART[1]],
        },
        headers=tenant.headers,
    )
    assert purchase.status_code == 201, purchase.text
    assert (purchase.json()["points_awarded"], purchase.json()["programme_version"]) == (300, 1)
    assert purchase.json()["points_shares"] == [{"source": "base", "rule_id": None, "points": 300}]
    assert purchase.json()["payments"] == []


def test_a_key_without_programme_admin_is_forbidden(api: httpx.Client, tenant: Tenant) -> None:
    till = tenant.key("purchases:write", "members:read")
    calls = [
        ("GET", "/v1/programme", None),
        ("PATCH", "/v1/programme", {"time_zone": "Asia/Shanghai"}),
        ("GET", "/v1/programme/versions", None),
        ("PUT", "/v1/programme/earning-rules/weekend", WEEKEND_ROUGE),
        ("DELETE", "/v1/programme/earning-rules/weekend", None),
    ]
    for method, path, body in calls:
        r = api.request(method, path, json=body, headers=till)
        assert r.status_code == 403, f"{method} {path}: {r.status_code} {r.text}"
        assert r.json()["type"] == "/problems/forbidden"
    # The till's scope is enough for the preview.
    member = tenant.enrol()
    preview = api.post(
        "/v1/programme/preview",
        json={"member_id": member, "store_id": "st-1", "lines": [CART[1]]},
        headers=till,
    )
    assert preview.status_code == 200, preview.text
    assert api.get("/v1/programme", headers=tenant.headers).json()["version"] == 0


def test_a_bad_ladder_is_refused_naming_the_field_and_changes_nothing(
    api: httpx.Client, tenant: Tenant
) -> None:
    bad = api.patch(
        "/v1/programme",
        json={"ladder": {"tiers": [{"name": "classic", "min_trailing_spend": 100}]}},
        headers=tenant.headers,
    )
    assert bad.status_code == 400, bad.text
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["field"] == "ladder.tiers[0].min_trailing_spend"
    unknown_zone = api.patch("/v1/programme", json={"time_zone": "Mars/Olympus"}, headers=tenant.headers)
    assert (unknown_zone.status_code, unknown_zone.json()["field"]) == (400, "time_zone")
    unknown_field = api.patch("/v1/programme", json={"ladder": {"steps": []}}, headers=tenant.headers)
    assert unknown_field.status_code == 422, unknown_field.text
    after = api.get("/v1/programme", headers=tenant.headers).json()
    assert after["version"] == 0
    assert api.get("/v1/programme/versions", headers=tenant.headers).json() == {"items": []}


def test_a_stale_expected_version_is_a_conflict(api: httpx.Client, tenant: Tenant) -> None:
    first = api.patch("/v1/programme", json={"time_zone": "Asia/Shanghai"}, headers=tenant.headers)
    second = api.patch(
        "/v1/programme", json={"dormant_days": [45, 90], "expected_version": 1}, headers=tenant.headers
    )
    assert (first.json()["version"], second.json()["version"]) == (1, 2), second.text
    stale = api.patch(
        "/v1/programme", json={"birthday": {"multiplier": 3}, "expected_version": 1}, headers=tenant.headers
    )
    assert stale.status_code == 409, stale.text
    assert stale.json()["type"] == "/problems/conflict"
    stale_rule = api.put(
        "/v1/programme/earning-rules/weekend",
        json=WEEKEND_ROUGE | {"expected_version": 1},
        headers=tenant.headers,
    )
    assert stale_rule.status_code == 409, stale_rule.text
    current = api.get("/v1/programme", headers=tenant.headers).json()
    assert current["version"] == 2
    assert current["settings"]["birthday"]["multiplier"] == 2
    assert (current["settings"]["time_zone"], current["settings"]["dormant_days"]) == (
        "Asia/Shanghai",
        [45, 90],
    )


def test_a_weekend_rule_previewed_at_the_till_earns_what_the_purchase_then_earns(
    api: httpx.Client, tenant: Tenant
) -> None:
    put = api.put("/v1/programme/earning-rules/weekend-rouge", json=WEEKEND_ROUGE, headers=tenant.headers)
    assert put.status_code == 200, put.text
    assert put.json()["version"] == 1
    [rule] = put.json()["earning_rules"]
    assert (rule["id"], rule["multiplier"], rule["bonus_points"], rule["active"]) == (
        "weekend-rouge",
        2,
        None,
        True,
    )
    member = tenant.enrol()
    payments = [{"type": "wechat_pay", "amount": 38800}]
    cart = {"member_id": member, "store_id": "st-1", "lines": CART, "payments": payments}

    saturday = api.post("/v1/programme/preview", json=cart | {"at": SATURDAY}, headers=tenant.headers)
    monday = api.post("/v1/programme/preview", json=cart | {"at": MONDAY}, headers=tenant.headers)
    assert saturday.status_code == 200, saturday.text
    assert saturday.json() == {
        "programme_version": 1,
        "points": 388 + 288,
        "shares": [
            {"source": "base", "rule_id": None, "points": 388},
            {"source": "rule", "rule_id": "weekend-rouge", "points": 288},
        ],
        "tier": "normal",
    }
    assert monday.json()["points"] == 388
    assert [s["source"] for s in monday.json()["shares"]] == ["base"]

    purchase = api.post(
        "/v1/purchases",
        json=cart | {"receipt_no": "R-SAT-1", "occurred_at": SATURDAY},
        headers=tenant.headers,
    )
    assert purchase.status_code == 201, purchase.text
    recorded = purchase.json()
    assert recorded["points_awarded"] == saturday.json()["points"]
    assert recorded["points_shares"] == saturday.json()["shares"]
    assert (recorded["programme_version"], recorded["payments"]) == (1, payments)

    def statement() -> list[dict[str, Any]] | None:
        entries: list[dict[str, Any]] = api.get(
            f"/v1/members/{member}/points", headers=tenant.headers
        ).json()["entries"]
        return entries or None

    [entry] = eventually(statement)
    assert (entry["delta"], entry["shares"]) == (recorded["points_awarded"], recorded["points_shares"])

    # Payments that do not add up to the cart, and a till restricted to another store, are refused.
    wrong = api.post(
        "/v1/programme/preview",
        json=cart | {"payments": [{"type": "cash", "amount": 1}]},
        headers=tenant.headers,
    )
    assert (wrong.status_code, wrong.json()["field"]) == (400, "payments")
    other_store = tenant.key("purchases:write", store_id="st-2")
    refused = api.post("/v1/programme/preview", json=cart, headers=other_store)
    assert (refused.status_code, refused.json()["field"]) == (403, "store_id")
    nobody = api.post("/v1/programme/preview", json=cart | {"member_id": "nobody"}, headers=tenant.headers)
    assert nobody.status_code == 404, nobody.text

    # Removing the rule is a new version; the versions list newest first.
    deleted = api.delete("/v1/programme/earning-rules/weekend-rouge", headers=tenant.headers)
    assert deleted.status_code == 200, deleted.text
    assert (deleted.json()["version"], deleted.json()["earning_rules"]) == (2, [])
    again = api.delete("/v1/programme/earning-rules/weekend-rouge", headers=tenant.headers)
    assert again.status_code == 404, again.text
    versions = api.get("/v1/programme/versions", headers=tenant.headers).json()["items"]
    assert [v["version"] for v in versions] == [2, 1]
    assert {v["changed_by"] for v in versions} == {f"api_key:{tenant.key_id}"}
    assert [
        v["version"]
        for v in api.get("/v1/programme/versions?limit=1", headers=tenant.headers).json()["items"]
    ] == [2]
    after = api.post("/v1/programme/preview", json=cart | {"at": SATURDAY}, headers=tenant.headers).json()
    assert (after["programme_version"], after["points"]) == (2, 388)


def test_each_tenant_sees_only_its_own_programme(platform: Stack, api: httpx.Client, tenant: Tenant) -> None:
    other = Tenant(platform, api)
    changed = api.patch("/v1/programme", json={"points": {"points_per_unit": 5}}, headers=tenant.headers)
    assert changed.json()["version"] == 1, changed.text
    assert (
        api.put("/v1/programme/earning-rules/r1", json=WEEKEND_ROUGE, headers=tenant.headers).status_code
        == 200
    )

    theirs = api.get("/v1/programme", headers=other.headers).json()
    assert (theirs["version"], theirs["earning_rules"]) == (0, [])
    assert theirs["settings"]["points"]["points_per_unit"] == 1
    assert api.get("/v1/programme", params={"version": 1}, headers=other.headers).status_code == 404
    assert api.get("/v1/programme/versions", headers=other.headers).json() == {"items": []}
    assert api.delete("/v1/programme/earning-rules/r1", headers=other.headers).status_code == 404
    assert api.get("/v1/programme", headers=tenant.headers).json()["version"] == 2
