"""Mini-program sign-up, referral links and points entries through the gateway."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from devstack.processes import Stack

A = {"Authorization": "Bearer key-tenant-a"}


@pytest.fixture
def api(platform: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.gateway_url, timeout=10) as client:
        yield client


def test_a_mini_program_signs_up_by_openid_shares_its_code_and_a_friend_enrols_with_it(
    api: httpx.Client,
) -> None:
    openid = f"oWx{time.time_ns()}"
    first = api.post("/v1/members", json={"name": "Mei", "openid": openid}, headers=A)
    again = api.post("/v1/members", json={"name": "Mei", "openid": openid}, headers=A)
    assert (first.status_code, again.status_code) == (201, 200), first.text
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["phone"] == ""
    assert api.post("/v1/members", json={"name": "Nobody"}, headers=A).status_code == 400

    session = api.post("/v1/sessions/member", json={"openid": openid}, headers=A)
    assert session.status_code == 201, session.text
    as_member = {"Authorization": f"Bearer {session.json()['token']}"}
    mei = first.json()["id"]
    code = api.get(f"/v1/members/{mei}/referral-code", headers=as_member)
    assert code.status_code == 200, code.text
    assert api.get(f"/v1/members/{mei}/referral-code", headers=A).json() == code.json()

    friend = api.post(
        "/v1/members",
        json={
            "name": "Lan",
            "phone": f"+86159{time.time_ns() % 100_000_000:08d}",
            "referral_code": code.json()["code"],
        },
        headers=A,
    )
    assert friend.status_code == 201, friend.text
    assert friend.json()["referred_by"] == {"kind": "member", "id": mei}
    assert friend.json()["tier"] == "normal"
    unknown = api.post(
        "/v1/members", json={"name": "X", "openid": "oWxNope", "referral_code": "RZZZZZZZ"}, headers=A
    )
    assert unknown.status_code == 400
    assert unknown.json()["field"] == "referral_code"


def test_points_entries_count_once_and_never_overdraw(api: httpx.Client) -> None:
    member = api.post(
        "/v1/members", json={"name": "Ping", "phone": f"+86137{time.time_ns() % 100_000_000:08d}"}, headers=A
    ).json()
    url = f"/v1/members/{member['id']}/points/entries"
    sign_in = {"delta": 5, "reason": "sign_in", "source_id": "2026-11-23"}
    first, repeat = api.post(url, json=sign_in, headers=A), api.post(url, json=sign_in, headers=A)
    assert (first.status_code, first.json()) == (201, {"balance": 5, "applied": True})
    assert (repeat.status_code, repeat.json()) == (200, {"balance": 5, "applied": False})
    overdraw = api.post(url, json={"delta": -6, "reason": "gift_redemption", "source_id": "g-1"}, headers=A)
    assert overdraw.status_code == 409, overdraw.text
    wrong_sign = api.post(url, json={"delta": 6, "reason": "gift_redemption", "source_id": "g-2"}, headers=A)
    assert (wrong_sign.status_code, wrong_sign.json()["field"]) == (400, "delta")
    assert api.get(f"/v1/members/{member['id']}/points", headers=A).json()["balance"] == 5
