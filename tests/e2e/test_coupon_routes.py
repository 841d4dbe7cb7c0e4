"""Coupons through the gateway: a template, claims within stock and limits, the till, reports."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devstack.processes import Stack
from tests.support import eventually

A = {"Authorization": "Bearer key-tenant-a"}
CART_LINE = {"sku": "LIP-01", "brand": "Rouge Co", "category": "Lipstick", "quantity": 1, "unit_price": 15000}


@pytest.fixture
def api(platform: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.gateway_url, timeout=10) as client:
        yield client


def enrol(api: httpx.Client, name: str, **extra: Any) -> dict[str, Any]:
    phone = f"+86135{time.time_ns() % 100_000_000:08d}"
    r = api.post("/v1/members", json={"phone": phone, "name": name, **extra}, headers=A)
    assert r.status_code == 201, r.text
    member: dict[str, Any] = r.json()
    return member


def active_template(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {
        "name": f"¥20 off ¥100 #{time.time_ns()}",
        "benefit": {"kind": "amount_off", "amount_off": 2000, "min_spend": 10000},
        "validity": {"duration_seconds": 7 * 86400},
        **fields,
    }
    created = api.post("/v1/coupon-templates", json=body, headers=A)
    assert created.status_code == 201, created.text
    template: dict[str, Any] = created.json()
    assert created.headers["location"] == f"/v1/coupon-templates/{template['id']}"
    assert (template["state"], template["benefit"]["kind"], template["issued"]) == ("draft", "amount_off", 0)
    active = api.post(f"/v1/coupon-templates/{template['id']}/state", json={"state": "active"}, headers=A)
    assert active.status_code == 200, active.text
    assert active.json()["state"] == "active"
    return template


def test_claims_stay_within_stock_and_limits_and_a_coupon_is_redeemed_once(api: httpx.Client) -> None:
    template = active_template(api, limits={"total_stock": 2, "per_member_limit": 1}, claimable=True)
    tid = template["id"]
    first, second, third = (enrol(api, name) for name in ("Li", "Mei", "Lan"))
    session = api.post("/v1/sessions/member", json={"phone": first["phone"]}, headers=A)
    assert session.status_code == 201, session.text
    as_first = {"Authorization": f"Bearer {session.json()['token']}"}

    claim = api.post(f"/v1/members/{first['id']}/coupons/claims", json={"template_id": tid}, headers=as_first)
    assert claim.status_code == 201, claim.text
    assert claim.json()["outcome"] == "issued"
    coupon = claim.json()["coupon"]
    code = coupon["code"]
    assert (coupon["template_id"], coupon["member_id"], coupon["state"]) == (tid, first["id"], "available")
    assert coupon["benefit"]["amount_off"] == 2000
    assert coupon["source"] == "claim"
    wallet = api.get(f"/v1/members/{first['id']}/coupons", params={"state": "available"}, headers=as_first)
    assert wallet.status_code == 200, wallet.text
    assert code in [c["code"] for c in wallet.json()["items"]]

    again = api.post(f"/v1/members/{first['id']}/coupons/claims", json={"template_id": tid}, headers=as_first)
    assert (again.status_code, again.json()["outcome"], again.json()["coupon"]) == (
        200,
        "limit_reached",
        None,
    )
    other = api.post(f"/v1/members/{second['id']}/coupons/claims", json={"template_id": tid}, headers=A)
    assert (other.status_code, other.json()["outcome"]) == (201, "issued"), other.text
    late = api.post(f"/v1/members/{third['id']}/coupons/claims", json={"template_id": tid}, headers=A)
    assert (late.status_code, late.json()["outcome"]) == (200, "sold_out"), late.text
    assert api.get(f"/v1/coupon-templates/{tid}", headers=A).json()["issued"] == 2

    # A member session sees and acts only for its own member, and is no till.
    assert api.get(f"/v1/members/{second['id']}/coupons", headers=as_first).status_code in (403, 404)
    assert api.post(
        f"/v1/members/{second['id']}/coupons/claims", json={"template_id": tid}, headers=as_first
    ).status_code in (403, 404)
    assert api.get(f"/v1/coupons/{other.json()['coupon']['code']}", headers=as_first).status_code == 404
    assert api.get(f"/v1/coupons/{code}", headers=as_first).json()["id"] == coupon["id"]
    cart = {"member_id": first["id"], "store_id": "sh-01", "lines": [CART_LINE]}
    assert api.post("/v1/coupons/validate", json=cart, headers=as_first).status_code == 403

    # The till: which coupons apply, the best choice, lock, redeem once.
    checked = api.post("/v1/coupons/validate", json=cart, headers=A)
    assert checked.status_code == 200, checked.text
    check = next(c for c in checked.json()["checks"] if c["code"] == code)
    assert (check["applies"], check["discount"], check["reason"]) == (True, 2000, "ok")
    assert checked.json()["cart_total"] == 15000
    assert {"code": code, "discount": 2000} in checked.json()["suggested"]
    small = {**cart, "lines": [{**CART_LINE, "unit_price": 5000}]}
    check = next(
        c
        for c in api.post("/v1/coupons/validate", json=small, headers=A).json()["checks"]
        if c["code"] == code
    )
    assert (check["applies"], check["reason"]) == (False, "below_min_spend")

    lock = api.post(f"/v1/coupons/{code}/lock", json={"checkout_id": "c1", "store_id": "sh-01"}, headers=A)
    assert lock.status_code == 200, lock.text
    assert lock.json()["state"] == "locked"
    redeem = {"receipt_no": "R1", "store_id": "sh-01", "discount": 2000, "receipt_total": 13000}
    elsewhere = api.post(f"/v1/coupons/{code}/redeem", json={**redeem, "checkout_id": "c2"}, headers=A)
    assert elsewhere.status_code == 409, elsewhere.text
    spent = api.post(f"/v1/coupons/{code}/redeem", json={**redeem, "checkout_id": "c1"}, headers=A)
    assert spent.status_code == 200, spent.text
    assert spent.json()["state"] == "redeemed"
    assert spent.json()["redemption"]["receipt_no"] == "R1"
    assert spent.json()["redemption"]["discount"] == 2000
    retry = api.post(f"/v1/coupons/{code}/redeem", json={**redeem, "checkout_id": "c1"}, headers=A)
    assert (retry.status_code, retry.json()) == (200, spent.json())
    other_receipt = api.post(
        f"/v1/coupons/{code}/redeem", json={**redeem, "receipt_no": "R2", "checkout_id": "c1"}, headers=A
    )
    assert other_receipt.status_code == 409, other_receipt.text
    assert api.post(f"/v1/coupons/{code}/lock", json={"checkout_id": "c3"}, headers=A).status_code == 409

    # An abandoned checkout gives the coupon back.
    code2 = other.json()["coupon"]["code"]
    assert (
        api.post(f"/v1/coupons/{code2}/lock", json={"checkout_id": "c4"}, headers=A).json()["state"]
        == "locked"
    )
    for _ in range(2):
        released = api.post(f"/v1/coupons/{code2}/release", json={"checkout_id": "c4"}, headers=A)
        assert (released.status_code, released.json()["state"]) == (200, "available"), released.text

    def reported() -> dict[str, Any] | None:
        r: dict[str, Any] = api.get(f"/v1/coupon-templates/{tid}/report", headers=A).json()
        return r if r.get("redeemed") == 1 else None

    report = eventually(reported)
    assert (report["issued"], report["redeemed"], report["total_discount"]) == (2, 1, 2000)
    assert report["revenue"] == 13000
    assert [(r["key"], r["redeemed"]) for r in report["by_store"]] == [("sh-01", 1)]


def test_staff_issue_coupons_once_per_key_case_and_segment_member(api: httpx.Client) -> None:
    template = active_template(api)  # not claimable: only given
    tid = template["id"]
    tag = f"coupon-job-{time.time_ns()}"
    first, second = enrol(api, "Jun", tags=[tag]), enrol(api, "Hui", tags=[tag])

    not_claimable = api.post(
        f"/v1/members/{first['id']}/coupons/claims", json={"template_id": tid}, headers=A
    )
    assert (not_claimable.status_code, not_claimable.json()["outcome"]) == (200, "not_available")
    url = f"/v1/coupon-templates/{tid}/issue"
    given = api.post(url, json={"member_id": first["id"], "issue_id": "apology-1"}, headers=A)
    assert (given.status_code, given.json()["outcome"]) == (201, "issued"), given.text
    repeat = api.post(url, json={"member_id": first["id"], "issue_id": "apology-1"}, headers=A)
    assert repeat.json()["coupon"]["id"] == given.json()["coupon"]["id"]
    unknown = api.post(url, json={"member_id": "01JD6Q3Z8M4W1T5X9C2B7N0ZZZ", "issue_id": "x"}, headers=A)
    assert unknown.status_code == 404, unknown.text

    url = f"/v1/coupon-templates/{tid}/compensations"
    case = {"member_id": second["id"], "case_id": f"CASE-{time.time_ns()}"}
    compensated = api.post(url, json=case, headers=A)
    assert (compensated.status_code, compensated.json()["coupon"]["source"]) == (201, "compensation")
    assert api.post(url, json=case, headers=A).json()["coupon"]["id"] == compensated.json()["coupon"]["id"]

    segment = api.post("/v1/segments", json={"name": tag, "criteria": {"tags_any": [tag]}}, headers=A).json()
    started = api.post(
        f"/v1/coupon-templates/{tid}/issue-jobs",
        json={"segment_id": segment["id"], "job_key": tag},
        headers=A,
    )
    assert started.status_code == 202, started.text
    assert started.headers["location"] == f"/v1/coupon-issue-jobs/{started.json()['id']}"
    restarted = api.post(
        f"/v1/coupon-templates/{tid}/issue-jobs",
        json={"segment_id": segment["id"], "job_key": tag},
        headers=A,
    )
    assert restarted.json()["id"] == started.json()["id"]

    def done() -> dict[str, Any] | None:
        job: dict[str, Any] = api.get(started.headers["location"], headers=A).json()
        return job if job["state"] == "done" else None

    job = eventually(done)
    assert (job["members_seen"], job["issued"], job["skipped"]) == (2, 2, 0)
    wallet = api.get(f"/v1/members/{first['id']}/coupons", headers=A).json()["items"]
    assert sorted(c["source"] for c in wallet if c["template_id"] == tid) == ["issue", "job"]

    listed = api.get("/v1/coupon-templates", params={"state": "active"}, headers=A).json()["items"]
    assert tid in [t["id"] for t in listed]
    renamed = api.patch(f"/v1/coupon-templates/{tid}", json={"name": "Sorry again"}, headers=A)
    assert (renamed.status_code, renamed.json()["name"]) == (200, "Sorry again"), renamed.text
    assert renamed.json()["version"] == template["version"] + 1
    assert renamed.json()["benefit"] == template["benefit"]
    locked = api.patch(
        f"/v1/coupon-templates/{tid}", json={"benefit": {"kind": "gift", "gift_sku": "X"}}, headers=A
    )
    assert locked.status_code == 409, locked.text

    rule = api.post(
        "/v1/coupon-rules",
        json={
            "name": tag,
            "trigger": "purchase_made",
            "template_id": tid,
            "conditions": {"min_spend": 10**12},
        },
        headers=A,
    )
    assert rule.status_code == 201, rule.text
    assert rule.json()["active"] is True
    assert rule.json()["id"] in [r["id"] for r in api.get("/v1/coupon-rules", headers=A).json()["items"]]
    off = api.post(f"/v1/coupon-rules/{rule.json()['id']}/active", json={"active": False}, headers=A)
    assert (off.status_code, off.json()["active"]) == (200, False), off.text
    ended = api.post(f"/v1/coupon-templates/{tid}/state", json={"state": "ended"}, headers=A)
    assert ended.json()["state"] == "ended"
    assert (
        api.post(f"/v1/coupon-templates/{tid}/state", json={"state": "active"}, headers=A).status_code == 409
    )


def test_a_member_shares_a_coupon_with_a_friend_once(api: httpx.Client) -> None:
    template = active_template(api, claimable=True, shareable=True)
    giver, friend = enrol(api, "Ying"), enrol(api, "Rui")
    session = api.post("/v1/sessions/member", json={"phone": giver["phone"]}, headers=A).json()
    as_giver = {"Authorization": f"Bearer {session['token']}"}
    original = api.post(
        f"/v1/members/{giver['id']}/coupons/claims", json={"template_id": template["id"]}, headers=as_giver
    ).json()["coupon"]

    url = f"/v1/members/{giver['id']}/coupons/{original['code']}/share"
    shared = api.post(url, json={"to_member_id": friend["id"]}, headers=as_giver)
    assert shared.status_code == 201, shared.text
    gift = shared.json()
    assert (gift["member_id"], gift["source"], gift["shared_from_coupon_id"]) == (
        friend["id"],
        "share",
        original["id"],
    )
    assert api.post(url, json={"to_member_id": friend["id"]}, headers=as_giver).json()["id"] == gift["id"]
    gone = api.get(f"/v1/coupons/{original['code']}", headers=as_giver).json()
    assert (gone["state"], gone["shared_to_coupon_id"]) == ("shared", gift["id"])
    assert gift["valid_until"] == gone["valid_until"]  # as stored (the claim's answer has microseconds)
    # The giver cannot pass the friend's coupon on, nor see it.
    theirs = f"/v1/members/{friend['id']}/coupons/{gift['code']}/share"
    assert api.post(theirs, json={"to_member_id": giver["id"]}, headers=as_giver).status_code in (403, 404)
    assert api.get(f"/v1/coupons/{gift['code']}", headers=as_giver).status_code == 404
    wallet = api.get(f"/v1/members/{friend['id']}/coupons", params={"state": "available"}, headers=A).json()
    assert gift["id"] in [c["id"] for c in wallet["items"]]


def test_a_key_restricted_to_a_store_checks_carts_there_only(api: httpx.Client) -> None:
    key = api.post(
        "/v1/api-keys",
        json={"name": "till sh-01", "scopes": ["coupons:redeem"], "store_id": "sh-01"},
        headers=A,
    ).json()["key"]
    till = {"Authorization": f"Bearer {key}"}
    member = enrol(api, "Qing")
    cart = {"member_id": member["id"], "lines": [CART_LINE]}
    assert api.post("/v1/coupons/validate", json=cart, headers=till).status_code == 200
    wrong = api.post("/v1/coupons/validate", json={**cart, "store_id": "sh-02"}, headers=till)
    assert (wrong.status_code, wrong.json()["field"]) == (403, "store_id")
    assert api.get(f"/v1/members/{member['id']}/coupons", headers=till).status_code == 403


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"benefit": {"kind": "percent_off", "percent_off": 0}}, 400, "benefit.percent_off"),
        ({"benefit": {"kind": "percent_off", "percent_off": 10000}}, 422, "benefit.percent_off"),
        ({"benefit": {"kind": "amount_off", "amount_off": -1}}, 422, "benefit.amount_off"),
        (
            {"benefit": {"kind": "threshold", "amount_off": 5000, "threshold": 3000}},
            400,
            "benefit.amount_off",
        ),
        ({"benefit": {"kind": "coupon"}}, 422, "benefit.kind"),
        (
            {"limits": {"per_member_limit": 1, "per_period_limit": 2, "period": "day"}},
            400,
            "limits.per_period_limit",
        ),
        ({"audience": {"kind": "tiers"}}, 400, "audience.tiers"),
        ({"name": "x" * 81}, 422, "name"),
        ({"validity": None}, 422, "validity"),
        ({"surprise": True}, 422, "surprise"),
    ],
)
def test_bad_template_input_is_a_problem_naming_the_field(
    api: httpx.Client, body: dict[str, Any], status: int, field: str
) -> None:
    good = {
        "name": "Bad input",
        "benefit": {"kind": "amount_off", "amount_off": 2000},
        "validity": {"duration_seconds": 86400},
    }
    r = api.post("/v1/coupon-templates", json={**good, **body}, headers=A)
    assert (r.status_code, r.json().get("field")) == (status, field), r.text
    assert r.headers["content-type"] == "application/problem+json"


def test_bad_till_input_is_a_problem_naming_the_field(api: httpx.Client) -> None:
    line = {**CART_LINE, "quantity": 0}
    r = api.post("/v1/coupons/validate", json={"member_id": "m", "lines": [line]}, headers=A)
    assert (r.status_code, r.json()["field"]) == (422, "lines.0.quantity")
    r = api.post("/v1/coupons/validate", json={"member_id": "m", "lines": []}, headers=A)
    assert (r.status_code, r.json()["field"]) == (422, "lines")
    r = api.get("/v1/coupons/NOT-A-CODE", headers=A)
    assert (r.status_code, r.json()["field"]) == (400, "code"), r.text
    r = api.post("/v1/coupons/7K2M-9QXD-4T1E/redeem", json={"receipt_no": "R1", "discount": -5}, headers=A)
    assert (r.status_code, r.json()["field"]) == (422, "discount")
    member = enrol(api, "Xiu")
    r = api.get(f"/v1/members/{member['id']}/coupons", params={"state": "spent"}, headers=A)
    assert (r.status_code, r.json()["field"]) == (422, "state.0")


def test_checking_a_cart_for_another_tenants_member_is_not_found(api: httpx.Client) -> None:
    member = enrol(api, "Wen")
    cart = {"member_id": member["id"], "store_id": "sh-01", "lines": [CART_LINE]}
    r = api.post("/v1/coupons/validate", json=cart, headers={"Authorization": "Bearer key-tenant-b"})
    assert (r.status_code, r.headers["content-type"]) == (404, "application/problem+json"), r.text
    assert api.post("/v1/coupons/validate", json=cart, headers=A).status_code == 200
