"""The foundation slice through every layer: gateway -> members -> outbox -> Kafka ->
messaging -> inbox -> gateway, against real FerretDB/MongoDB and Kafka."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from devstack.processes import Stack
from tests.kafka_tools import header, read_all
from tests.support import eventually

A = {"Authorization": "Bearer key-tenant-a"}
B = {"Authorization": "Bearer key-tenant-b"}


@pytest.fixture
def api(platform: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.gateway_url, timeout=10) as client:
        yield client


def unique_phone() -> str:
    return f"+86139{time.time_ns() % 100_000_000:08d}"


def members_count(mongo: MongoClient[Any], platform: Stack, tenant: str) -> int:
    return mongo[f"{platform.namespace}regulars_members"]["members"].count_documents({"tenant_id": tenant})


def inbox(api: httpx.Client, member_id: str, headers: dict[str, str] = A) -> list[dict[str, Any]]:
    r = api.get(f"/v1/members/{member_id}/inbox", headers=headers)
    if r.status_code == 404:  # messaging has not heard of the member (yet)
        return []
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def test_an_enrolled_customer_finds_exactly_one_welcome_message(api: httpx.Client) -> None:
    r = api.post("/v1/members", json={"phone": unique_phone(), "name": "Li", "surname": "Wang"}, headers=A)
    assert r.status_code == 201, r.text
    member = r.json()
    assert r.headers["Location"] == f"/v1/members/{member['id']}"
    assert member["phone"].startswith("+86139")

    items = eventually(lambda: inbox(api, member["id"]))
    assert [m["kind"] for m in items] == ["welcome"]
    assert "Li Wang" in items[0]["body"]
    time.sleep(1.5)  # a duplicate delivery would land by now
    assert len(inbox(api, member["id"])) == 1


def test_enrolling_the_same_phone_twice_returns_the_same_member(api: httpx.Client) -> None:
    phone = unique_phone()
    first = api.post("/v1/members", json={"phone": phone, "name": "Mei"}, headers=A)
    again = api.post("/v1/members", json={"phone": phone.replace("+86", ""), "name": "Mei"}, headers=A)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    eventually(lambda: inbox(api, first.json()["id"]))
    time.sleep(1.0)
    assert len(inbox(api, first.json()["id"])) == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"phone": "12345", "name": "Li"}, 400, "phone"),
        ({"phone": "not a phone", "name": "Li"}, 400, "phone"),
        ({"phone": "+8613900000001"}, 422, "name"),
        ({"phone": "+8613900000001", "name": "   "}, 400, "name"),
        ({"name": "Li"}, 400, "phone"),  # required unless an openid is given: the service says so
        ({"phone": "+8613900000001", "name": "Li", "shoe_size": 40}, 422, "shoe_size"),
    ],
)
def test_bad_input_gets_a_problem_naming_the_field_and_stores_nothing(
    api: httpx.Client, platform: Stack, mongo: MongoClient[Any], body: dict[str, Any], status: int, field: str
) -> None:
    before = members_count(mongo, platform, "tenant-a")
    r = api.post("/v1/members", json=body, headers=A)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["field"] == field
    assert problem["status"] == status
    assert problem["type"].startswith("/problems/")
    assert members_count(mongo, platform, "tenant-a") == before


def test_a_request_without_a_valid_key_is_refused(api: httpx.Client) -> None:
    assert api.post("/v1/members", json={"phone": unique_phone(), "name": "Li"}).status_code == 401
    r = api.get("/v1/members/x", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


def test_another_tenant_cannot_see_the_member_or_the_inbox(api: httpx.Client) -> None:
    member = api.post("/v1/members", json={"phone": unique_phone(), "name": "Li"}, headers=A).json()
    eventually(lambda: inbox(api, member["id"]))
    assert api.get(f"/v1/members/{member['id']}", headers=A).status_code == 200
    foreign = api.get(f"/v1/members/{member['id']}", headers=B)
    assert foreign.status_code == 404
    assert api.get(f"/v1/members/{member['id']}/inbox", headers=B).status_code == 404


def test_readiness_reports_all_services_serving(api: httpx.Client) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    assert api.get("/readyz").json() == {"status": "ready"}


async def test_the_trace_of_the_request_travels_into_the_event(platform: Stack) -> None:
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=10) as client:
        r = await client.post(
            "/v1/members", json={"phone": unique_phone(), "name": "Trace"}, headers=A | {"traceparent": trace}
        )
    assert r.status_code == 201
    records = await read_all(platform.kafka_bootstrap_servers, f"{platform.namespace}regulars.members.v1")
    mine = [rec for rec in records if header(rec, "ce_subject") == r.json()["id"]]
    assert [header(rec, "ce_traceparent") for rec in mine] == [trace]


def test_a_profile_given_at_enrolment_comes_back(api: httpx.Client) -> None:
    body = {
        "phone": unique_phone(),
        "name": "Fang",
        "gender": "female",
        "birthday": {"month": 3, "day": 8},
        "tags": ["vip"],
        "notes": "prefers calls",
    }
    member = api.post("/v1/members", json=body, headers=A).json()
    assert (member["gender"], member["birthday"], member["tags"]) == (
        "female",
        {"month": 3, "day": 8, "year": None},
        ["vip"],
    )
    bad = api.post(
        "/v1/members", json=body | {"phone": unique_phone(), "birthday": {"month": 2, "day": 30}}, headers=A
    )
    assert (bad.status_code, bad.json()["field"]) == (400, "birthday")


def test_an_erased_member_is_anonymised_everywhere_and_the_export_holds_their_data(api: httpx.Client) -> None:
    phone = unique_phone()
    member = api.post(
        "/v1/members", json={"phone": phone, "name": "Forget", "surname": "Me", "notes": "x"}, headers=A
    ).json()
    eventually(lambda: inbox(api, member["id"]))
    exported = api.get(f"/v1/members/{member['id']}/export", headers=A)
    assert exported.status_code == 200, exported.text
    assert exported.json()["data"]["member"]["surname"] == "Me"

    erased = api.post(f"/v1/members/{member['id']}/erasure", json={"reason": "PIPL request"}, headers=A)
    assert erased.json() == {"member_id": member["id"], "erased_now": True}
    again = api.post(f"/v1/members/{member['id']}/erasure", json={"reason": "PIPL request"}, headers=A)
    assert again.json()["erased_now"] is False

    after = api.get(f"/v1/members/{member['id']}", headers=A).json()
    assert (after["name"], after["surname"]) == ("", "")
    assert phone not in json.dumps(api.get(f"/v1/members/{member['id']}/export", headers=A).json())
    # messaging forgets the welcome that greeted them by name
    assert eventually(lambda: inbox(api, member["id"]) == [])
    # the phone is free again: the person may come back as a new member
    back = api.post("/v1/members", json={"phone": phone, "name": "Back"}, headers=A)
    assert back.status_code == 201
    assert back.json()["id"] != member["id"]
