"""Stores, staff and handovers through the gateway, and enrolment with a badge code."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devstack.processes import Stack
from tests.support import eventually

A = {"Authorization": "Bearer key-tenant-a"}


@pytest.fixture
def api(platform: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.gateway_url, timeout=10) as client:
        yield client


def test_an_assistant_owns_the_customers_enrolled_with_their_badge_code_until_they_hand_over(
    api: httpx.Client,
) -> None:
    code = f"d{time.time_ns() % 10**9}"
    store = api.post(
        "/v1/stores", json={"code": code, "name": "Directory test", "city": "Hangzhou"}, headers=A
    )
    assert store.status_code == 201, store.text
    assert (
        api.post("/v1/stores", json={"code": code, "name": "again"}, headers=A).json()["name"]
        == "Directory test"
    )

    wang = api.post(f"/v1/stores/{code}/staff", json={"name": "Wang Fang"}, headers=A).json()
    zhao = api.post(f"/v1/stores/{code}/staff", json={"name": "Zhao Li", "role": "manager"}, headers=A).json()
    assert len(wang["referral_codes"][0]) == 8

    phone = f"+86158{time.time_ns() % 100_000_000:08d}"
    member = api.post(
        "/v1/members",
        json={"phone": phone, "name": "Li", "staff_code": wang["referral_codes"][0].lower()},
        headers=A,
    ).json()
    assert member["owner_staff_id"] == wang["id"]
    assert member["home_store_id"] == code

    handover = api.post(f"/v1/staff/{wang['id']}/handover", json={"to_staff_id": zhao["id"]}, headers=A)
    assert handover.status_code == 202, handover.text

    def done() -> dict[str, Any] | None:
        h: dict[str, Any] = api.get(f"/v1/handovers/{handover.json()['id']}", headers=A).json()
        return h if h["state"] == "done" else None

    assert eventually(done)["members_moved"] == 1
    assert api.get(f"/v1/members/{member['id']}", headers=A).json()["owner_staff_id"] == zhao["id"]
    left = api.get(f"/v1/staff/{wang['id']}", headers=A).json()
    assert (left["status"], left["successor_id"], left["referral_codes"]) == ("left", zhao["id"], [])
    # The old badge still enrols customers, now for the successor.
    newcomer = api.post(
        "/v1/members",
        json={
            "phone": f"+86157{time.time_ns() % 100_000_000:08d}",
            "name": "Mei",
            "staff_code": wang["referral_codes"][0],
        },
        headers=A,
    ).json()
    assert newcomer["owner_staff_id"] == zhao["id"]
    staff = api.get("/v1/staff", params={"store_code": code}, headers=A).json()["items"]
    assert {s["id"] for s in staff} == {wang["id"], zhao["id"]}


def test_bad_directory_input_is_a_problem_naming_the_field(api: httpx.Client) -> None:
    r = api.post("/v1/stores", json={"code": "Not A Code!", "name": "x"}, headers=A)
    assert (r.status_code, r.json()["field"]) == (400, "code")
    r = api.post("/v1/stores/no-such-store/staff", json={"name": "x"}, headers=A)
    assert r.status_code == 404
    r = api.post(
        "/v1/members", json={"phone": "+8615900000001", "name": "x", "staff_code": "NOPE1234"}, headers=A
    )
    assert (r.status_code, r.json()["field"]) == (400, "staff_code")


def test_an_assistant_cannot_hand_over_to_themselves(api: httpx.Client) -> None:
    code = f"s{time.time_ns() % 10**9}"
    api.post("/v1/stores", json={"code": code, "name": "Self"}, headers=A)
    me = api.post(f"/v1/stores/{code}/staff", json={"name": "Me"}, headers=A).json()
    r = api.post(f"/v1/staff/{me['id']}/handover", json={"to_staff_id": me["id"]}, headers=A)
    assert (r.status_code, r.json()["field"]) == (400, "to_staff_id")


def test_a_purchase_through_the_gateway_is_recorded_once_and_earns_points(api: httpx.Client) -> None:
    member = api.post(
        "/v1/members", json={"phone": f"+86156{time.time_ns() % 100_000_000:08d}", "name": "Li"}, headers=A
    ).json()
    body = {
        "member_id": member["id"],
        "store_id": "sh-01",
        "receipt_no": f"R-{time.time_ns()}",
        "lines": [
            {
                "sku": "LIP-01",
                "brand": "Rouge Co",
                "category": "Lipstick",
                "list_price": 32000,
                "paid_price": 28800,
            }
        ],
        "occurred_at": "2026-11-23T10:00:00Z",
    }
    first = api.post("/v1/purchases", json=body, headers=A)
    again = api.post("/v1/purchases", json=body, headers=A)
    assert (first.status_code, again.status_code) == (201, 200), first.text
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["points_awarded"] == 288
    points = api.get(f"/v1/members/{member['id']}/points", headers=A).json()
    assert points["balance"] == 288
    assert [e["reason"] for e in points["entries"]] == ["purchase"]
    bad = api.post("/v1/purchases", json=body | {"currency": "yuan"}, headers=A)
    assert bad.status_code in (400, 422)
    assert bad.json()["field"]


def test_segments_are_saved_previewed_and_validated_through_the_gateway(api: httpx.Client) -> None:
    brand = f"Brand{time.time_ns()}"
    enrolled = api.post(
        "/v1/members", json={"phone": f"+86137{time.time_ns() % 100_000_000:08d}", "name": "Li"}, headers=A
    )
    assert enrolled.status_code == 201, enrolled.text
    member = enrolled.json()
    api.post(
        "/v1/purchases",
        headers=A,
        json={
            "member_id": member["id"],
            "store_id": "sh-01",
            "receipt_no": f"R-{time.time_ns()}",
            "lines": [{"sku": "X", "brand": brand, "list_price": 1000, "paid_price": 1000}],
            "occurred_at": "2026-11-23T10:00:00Z",
        },
    )
    criteria = {"bought_brand": brand}
    preview = api.post("/v1/segments/preview", json={"criteria": criteria}, headers=A)
    assert preview.status_code == 200, preview.text
    assert preview.json()["count"] == 1
    assert preview.json()["sample"][0]["id"] == member["id"]

    saved = api.post("/v1/segments", json={"name": "brand buyers", "criteria": criteria}, headers=A)
    assert saved.status_code == 201, saved.text
    again = api.get(f"/v1/segments/{saved.json()['id']}/preview", headers=A).json()
    assert again["count"] == 1

    bad = api.post(
        "/v1/segments/preview", json={"criteria": {"total_spend_min": 10, "total_spend_max": 5}}, headers=A
    )
    assert bad.status_code == 400
    assert bad.json()["field"] == "criteria.total_spend_max"


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:58+05:36", "2026-11-23T10:00:00", "2200-01-01T00:00:00Z"]
)
def test_an_impossible_purchase_time_is_a_422_naming_the_field(api: httpx.Client, moment: str) -> None:
    body = {
        "member_id": "m",
        "store_id": "sh-01",
        "receipt_no": "R-1",
        "occurred_at": moment,
        "lines": [{"sku": "X", "list_price": 1, "paid_price": 1}],
    }
    r = api.post("/v1/purchases", json=body, headers=A)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "occurred_at"
