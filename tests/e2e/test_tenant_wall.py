"""No route lets tenant B read or change tenant A's data.

The matrix is generated from the live gateway's OpenAPI document, so a route added later is
covered without anyone remembering to: a path parameter this test does not know how to fill
with one of tenant A's ids fails the test until it is taught.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from devstack.processes import Stack
from tests.support import eventually

# The wall's own victim tenant: the fuzzer works as tenant-a, and may blacklist, merge or erase
# whoever it enrols (the example phone included), which would bar this test's member.
A = {"Authorization": "Bearer key-tenant-wall"}
B = {"Authorization": "Bearer key-tenant-b"}  # static keys hold every scope
A_PHONE = "+8613800138000"  # the phone in the OpenAPI examples, enrolled in tenant A too
SKIP = {"/healthz", "/readyz"}


@pytest.fixture(scope="module")
def tenant_a(platform: Stack) -> Iterator[dict[str, str]]:
    """Resources of tenant A, by the path parameter that names them."""
    with httpx.Client(base_url=platform.gateway_url, timeout=10) as api:
        member = api.post("/v1/members", json={"phone": A_PHONE, "name": "Wall"}, headers=A).json()
        eventually(lambda: api.get(f"/v1/members/{member['id']}/inbox", headers=A).status_code == 200)
        key = api.post("/v1/api-keys", json={"name": "wall", "scopes": ["members:read"]}, headers=A).json()
        store = api.post("/v1/stores", json={"code": "wall-a", "name": "Wall A"}, headers=A).json()
        leaving = api.post(f"/v1/stores/{store['code']}/staff", json={"name": "Leaves"}, headers=A).json()
        staying = api.post(f"/v1/stores/{store['code']}/staff", json={"name": "Stays"}, headers=A).json()
        handover = api.post(
            f"/v1/staff/{leaving['id']}/handover", json={"to_staff_id": staying["id"]}, headers=A
        ).json()
        segment = api.post(
            "/v1/segments", json={"name": "wall", "criteria": {"tiers": ["gold"]}}, headers=A
        ).json()
        purchase = api.post(
            "/v1/purchases",
            headers=A,
            json={
                "member_id": member["id"],
                "store_id": "wall-a",
                "receipt_no": "WALL-1",
                "occurred_at": "2026-11-23T10:00:00Z",
                "lines": [{"sku": "LIP-01", "list_price": 100, "paid_price": 100}],
            },
        ).json()
        template = api.post(
            "/v1/coupon-templates",
            headers=A,
            json={
                "name": "Wall",
                "benefit": {"kind": "amount_off", "amount_off": 100},
                "validity": {"duration_seconds": 86400},
                "limits": {"total_stock": 10},
            },
        ).json()
        activated = api.post(
            f"/v1/coupon-templates/{template['id']}/state", json={"state": "active"}, headers=A
        )
        assert activated.status_code == 200, activated.text
        issued = api.post(
            f"/v1/coupon-templates/{template['id']}/issue",
            json={"member_id": member["id"], "issue_id": "wall-1"},
            headers=A,
        )
        assert issued.status_code == 201, issued.text
        coupon = issued.json()["coupon"]
        rule = api.post(
            "/v1/coupon-rules",
            headers=A,
            # Never fires: no purchase pays ¥10 billion.
            json={
                "name": "wall",
                "trigger": "purchase_made",
                "template_id": template["id"],
                "conditions": {"min_spend": 10**12},
            },
        ).json()
        job = api.post(
            f"/v1/coupon-templates/{template['id']}/issue-jobs",
            json={"segment_id": segment["id"], "job_key": "wall"},
            headers=A,
        ).json()
        earning = api.put(
            "/v1/programme/earning-rules/wall-a", headers=A, json={"name": "wall", "bonus_points": 5}
        )
        assert earning.status_code == 200, earning.text
        review = api.post(
            "/v1/reviews",
            headers=A,
            json={
                "member_id": member["id"],
                "store_id": "wall-a",
                "receipt_no": "WALL-1",
                "rating": 1,
                "text": "Wall",
                "request_id": "wall-1",
            },
        )
        assert review.status_code in (200, 201), review.text
        assert review.json()["case_id"], review.text  # a bad review opens a case
        bought = api.post(
            "/v1/purchases",
            headers=A,
            json={
                "member_id": member["id"],
                "store_id": "wall-a",
                "receipt_no": "WALL-2",
                "occurred_at": datetime.now(UTC).isoformat(),  # its survey is open whenever this runs
                "lines": [{"sku": "LIP-01", "list_price": 100, "paid_price": 100}],
            },
        ).json()
        survey = eventually(
            lambda: next(
                (
                    s
                    for s in api.get("/v1/surveys", params={"member_id": member["id"]}, headers=A).json()[
                        "items"
                    ]
                    if s["purchase_id"] == bought["id"]
                ),
                None,
            )
        )
        thread = api.post(
            "/v1/threads",
            headers=A,
            json={"member_id": member["id"], "kind": "question", "text": "Wall?", "request_id": "wall-1"},
        )
        assert thread.status_code in (200, 201), thread.text
        note = {
            "name": "Wall note",
            "message_class": "transactional",
            "texts": {
                "inbox": {"title": "Wall", "body": "Hello {{ name }}"},
                "staff_task": {"title": "Call {{ name }}", "body": "Wall"},
            },
        }
        saved = api.put("/v1/message-templates/wall-note", json=note, headers=A)
        assert saved.status_code in (200, 201), saved.text
        sent = api.post(
            "/v1/messages",
            headers=A,
            json={
                "member_id": member["id"],
                "message_key": "wall-1",
                "template_id": "wall-note",
                "channels": ["inbox"],
            },
        )
        assert sent.status_code in (200, 201), sent.text
        inbox = api.get(f"/v1/members/{member['id']}/inbox", headers=A).json()["items"]
        delivered = next(i for i in inbox if i["message_id"] == sent.json()["id"])
        task = api.post(
            "/v1/messages",
            headers=A,
            json={
                "member_id": member["id"],
                "message_key": "wall-2",
                "template_id": "wall-note",
                "channels": ["staff_task"],
                "staff_id": staying["id"],
            },
        )
        assert task.status_code in (200, 201), task.text
        assert task.json()["staff_task_id"], task.text
        yield {
            "message_id": sent.json()["id"],
            "inbox_message_id": delivered["id"],
            "task_id": task.json()["staff_task_id"],
            "token": survey["token"],
            "thread_id": thread.json()["id"],
            "review_id": review.json()["id"],
            "case_id": review.json()["case_id"],
            "earning_rule_id": "wall-a",  # B may keep a rule of that name too: checked below
            "channel": "sms",  # not an id: a fixed word, so not checked for leaks
            "template_id": template["id"],
            "code": coupon["code"],
            "rule_id": rule["id"],
            "job_id": job["id"],
            "purchase_id": purchase["id"],
            "segment_id": segment["id"],
            "member_id": member["id"],
            "key_id": key["id"],
            "_key": key["key"],
            "store_code": store["code"],
            "store_id": store["code"],
            "staff_id": staying["id"],
            "handover_id": handover["id"],
            "_leaving": leaving["id"],
        }


# Paths whose id names something within the caller's own tenant (an earning rule or a message
# template is named by whoever writes it): tenant B writing "wall-a" makes B's rule, so B's
# answer is not 403/404 — what is checked is that A's stays as it was and nothing of A's leaks.
OWN_NAMES = {"/v1/programme/earning-rules/{earning_rule_id}", "/v1/message-templates/{template_id}"}


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        if path not in SKIP
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def example_body(spec: dict[str, Any], op: dict[str, Any]) -> Any:
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    schema = content["schema"]
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    examples = schema.get("examples") or []
    assert examples, f"{op['operationId']}: request schema has no example to send"
    return examples[0]


def test_tenant_b_never_sees_or_changes_tenant_a(platform: Stack, tenant_a: dict[str, str]) -> None:
    with httpx.Client(base_url=platform.gateway_url, timeout=10) as api:
        spec = api.get("/openapi.json").json()
        ops = operations(spec)
        assert len(ops) >= 6
        secrets = {v for k, v in tenant_a.items() if k != "channel"}
        checked = 0
        for method, path, op in ops:
            params = [p["name"] for p in op.get("parameters", []) if p["in"] == "path"]
            unknown = [p for p in params if p not in tenant_a]
            assert not unknown, f"{method} {path}: teach this test a tenant-A id for {unknown}"
            url = path.format(**{p: tenant_a[p] for p in params})
            r = api.request(method, url, json=example_body(spec, op), headers=B)
            assert r.status_code < 500, f"{method} {path}: {r.status_code} {r.text}"
            # A list filtered by B's own tenant (an assistant's or a store's staff tasks named
            # by A's ids) may answer B an empty page: it says nothing of A's.
            empty_page = method == "GET" and r.status_code == 200 and r.json().get("items") == []
            if params and path not in OWN_NAMES and not empty_page:
                assert r.status_code in (403, 404), f"{method} {url} as tenant B: {r.status_code} {r.text}"
            # An id B itself sent may be echoed back (e.g. "member X not found"); any other is a leak.
            leaked = [s for s in secrets if s in r.text and s not in url]
            assert not leaked, f"{method} {url} as tenant B leaked {leaked}: {r.text}"
            checked += 1
        assert checked == len(ops)

        # Nothing of A's changed: its member and its key still work for A.
        assert api.get(f"/v1/members/{tenant_a['member_id']}", headers=A).json()["phone"] == A_PHONE
        own = {"Authorization": f"Bearer {tenant_a['_key']}"}
        assert api.get(f"/v1/members/{tenant_a['member_id']}", headers=own).status_code == 200
        coupon = api.get(f"/v1/coupons/{tenant_a['code']}", headers=A).json()
        assert (coupon["state"], coupon["member_id"]) == ("available", tenant_a["member_id"])
        assert (
            api.get(f"/v1/coupon-templates/{tenant_a['template_id']}", headers=A).json()["state"] == "active"
        )
        rules = api.get("/v1/programme", headers=A).json()["earning_rules"]
        # B's own rule of that name is B's: A's programme is as A wrote it.
        assert [(r["id"], r["bonus_points"]) for r in rules] == [("wall-a", 5)]
        print(json.dumps({"operations_checked": checked}))
