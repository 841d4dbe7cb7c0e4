"""API keys, scopes, member sessions and rate limits, through the live gateway."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from devstack.processes import ROOT, Stack
from tests.support import eventually

ADMIN_A = {"Authorization": "Bearer key-tenant-a"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(platform: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.gateway_url, timeout=10) as client:
        yield client


def create_key(api: httpx.Client, *scopes: str, name: str = "test") -> dict[str, Any]:
    r = api.post("/v1/api-keys", json={"name": name, "scopes": list(scopes)}, headers=ADMIN_A)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def enrol(api: httpx.Client, headers: dict[str, str], phone: str | None = None) -> dict[str, Any]:
    phone = phone or f"+86136{time.time_ns() % 100_000_000:08d}"
    r = api.post("/v1/members", json={"phone": phone, "name": "Li"}, headers=headers)
    assert r.status_code in (200, 201), r.text
    body: dict[str, Any] = r.json()
    return body


def test_a_created_key_works_is_shown_once_and_stored_only_as_a_hash(
    api: httpx.Client, platform: Stack, mongo: Any
) -> None:
    created = create_key(api, "members:read", "members:write")
    assert created["key"].startswith("rg_")
    member = enrol(api, bearer(created["key"]))
    assert api.get(f"/v1/members/{member['id']}", headers=bearer(created["key"])).status_code == 200

    listed = api.get("/v1/api-keys", headers=ADMIN_A).json()["items"]
    mine = next(k for k in listed if k["id"] == created["id"])
    assert "key" not in mine
    stored = mongo[f"{platform.namespace}regulars_gateway"]["api_keys"].find_one({"_id": created["id"]})
    secret = created["key"].removeprefix(f"rg_{created['id']}_")  # the secret may itself contain "_"
    assert len(secret) >= 32
    assert secret not in str(stored)


def test_a_key_without_the_scope_is_forbidden(api: httpx.Client) -> None:
    reader = create_key(api, "members:read")
    r = api.post("/v1/members", json={"phone": "+8613600000001", "name": "Li"}, headers=bearer(reader["key"]))
    assert r.status_code == 403
    assert r.json()["type"] == "/problems/forbidden"
    assert api.get("/v1/api-keys", headers=bearer(reader["key"])).status_code == 403


def test_rotation_keeps_both_keys_working_until_the_old_one_is_revoked(api: httpx.Client) -> None:
    old = create_key(api, "members:write", name="pos old")
    new = create_key(api, "members:write", name="pos new")
    enrol(api, bearer(old["key"]))
    enrol(api, bearer(new["key"]))
    assert api.delete(f"/v1/api-keys/{old['id']}", headers=ADMIN_A).status_code == 204
    r = api.post("/v1/members", json={"phone": "+8613600000002", "name": "Li"}, headers=bearer(old["key"]))
    assert r.status_code == 401
    enrol(api, bearer(new["key"]))
    assert api.delete(f"/v1/api-keys/{old['id']}", headers=ADMIN_A).status_code == 404


def test_another_tenant_cannot_revoke_or_list_our_keys(api: httpx.Client) -> None:
    key = create_key(api, "members:read")
    other = {"Authorization": "Bearer key-tenant-b"}
    assert api.delete(f"/v1/api-keys/{key['id']}", headers=other).status_code == 404
    assert key["id"] not in {k["id"] for k in api.get("/v1/api-keys", headers=other).json()["items"]}


def test_the_command_line_tool_creates_a_key_that_the_gateway_accepts(
    api: httpx.Client, platform: Stack
) -> None:
    env = platform.base_env()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.admin",
            "create-key",
            "--tenant",
            "tenant-a",
            "--name",
            "cli",
            "--scope",
            "members:read",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    key = out.strip().splitlines()[-1]
    assert key.startswith("rg_")
    r = api.get("/v1/members/does-not-exist", headers=bearer(key))
    assert r.status_code == 404  # authenticated, then not found
    assert "MONGODB_URL" in env


def open_session(api: httpx.Client, phone: str) -> str:
    partner = create_key(api, "sessions:member", name="mini-program")
    r = api.post("/v1/sessions/member", json={"phone": phone}, headers=bearer(partner["key"]))
    assert r.status_code == 201, r.text
    token: str = r.json()["token"]
    return token


def test_a_member_session_sees_only_its_own_member(api: httpx.Client) -> None:
    phone = f"+86135{time.time_ns() % 100_000_000:08d}"
    me = enrol(api, ADMIN_A, phone)
    someone_else = enrol(api, ADMIN_A)
    token = open_session(api, phone)

    assert api.get(f"/v1/members/{me['id']}", headers=bearer(token)).status_code == 200
    own_inbox = eventually(
        lambda: api.get(f"/v1/members/{me['id']}/inbox", headers=bearer(token)).status_code == 200
    )
    assert own_inbox is True
    assert api.get(f"/v1/members/{someone_else['id']}", headers=bearer(token)).status_code == 404
    assert api.get(f"/v1/members/{someone_else['id']}/inbox", headers=bearer(token)).status_code == 404
    r = api.post("/v1/members", json={"phone": "+8613600000003", "name": "X"}, headers=bearer(token))
    assert r.status_code == 403


def test_a_session_for_an_unknown_phone_is_not_found(api: httpx.Client) -> None:
    partner = create_key(api, "sessions:member")
    r = api.post("/v1/sessions/member", json={"phone": "+8613499999999"}, headers=bearer(partner["key"]))
    assert r.status_code == 404


def test_member_sessions_are_rate_limited_with_retry_after(api: httpx.Client) -> None:
    phone = f"+86133{time.time_ns() % 100_000_000:08d}"
    me = enrol(api, ADMIN_A, phone)
    token = open_session(api, phone)
    first = api.get(f"/v1/members/{me['id']}", headers=bearer(token))
    assert first.status_code == 200
    assert "RateLimit-Remaining" in first.headers
    # 30 at once, so the bucket (burst 20, 5/s) empties however slow a loaded machine answers.
    with ThreadPoolExecutor(max_workers=30) as pool:
        url = f"/v1/members/{me['id']}"
        answers = list(pool.map(lambda _: api.get(url, headers=bearer(token)), range(30)))
    statuses = [r.status_code for r in answers]
    assert 429 in statuses
    refused = answers[statuses.index(429)]
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["content-type"] == "application/problem+json"


def test_request_id_and_traceparent_are_echoed(api: httpx.Client) -> None:
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    r = api.get("/healthz", headers={"traceparent": trace, "X-Request-Id": "req-1"})
    assert r.headers["traceparent"] == trace
    assert r.headers["X-Request-Id"] == "req-1"
    assert len(api.get("/healthz").headers["X-Request-Id"]) == 26


@pytest.mark.parametrize("env_var", ["GATEWAY_TOKEN_SECRET", "MONGODB_URL"])
def test_the_gateway_refuses_to_start_without_required_settings(env_var: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != env_var}
    env |= {
        "MEMBERS_GRPC_ADDR": "x:1",
        "COUPONS_GRPC_ADDR": "x:1",
        "MESSAGING_GRPC_ADDR": "x:1",
        "FEEDBACK_GRPC_ADDR": "x:1",
        "GATEWAY_TOKEN_SECRET": "s" * 40,
        "MONGODB_URL": "mongodb://x/",
    }
    del env[env_var]
    result = subprocess.run(
        [sys.executable, "-m", "gateway"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0
    assert env_var in result.stderr


def test_a_store_restricted_key_enrols_only_into_its_store(api: httpx.Client) -> None:
    r = api.post(
        "/v1/api-keys",
        json={"name": "POS sh-01", "scopes": ["members:write"], "store_id": "sh-01"},
        headers=ADMIN_A,
    )
    key = bearer(r.json()["key"])
    member = enrol(api, key)
    assert member["home_store_id"] == "sh-01"
    other = api.post(
        "/v1/members", json={"phone": "+8613600000009", "name": "Li", "store_id": "bj-02"}, headers=key
    )
    assert other.status_code == 403
    assert other.json()["field"] == "store_id"


def test_cors_is_granted_only_to_the_origins_a_key_lists(api: httpx.Client) -> None:
    origin = "https://mini.example-partner.test"
    r = api.post(
        "/v1/api-keys",
        json={"name": "web view", "scopes": ["members:read"], "cors_origins": [origin]},
        headers=ADMIN_A,
    )
    key = bearer(r.json()["key"])
    preflight = api.options(
        "/v1/members/x", headers={"Origin": origin, "Access-Control-Request-Method": "GET"}
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "Idempotency-Key" in preflight.headers["Access-Control-Allow-Headers"]
    stranger = api.options(
        "/v1/members/x", headers={"Origin": "https://evil.test", "Access-Control-Request-Method": "GET"}
    )
    assert "Access-Control-Allow-Origin" not in stranger.headers

    actual = api.get("/v1/members/x", headers=key | {"Origin": origin})
    assert actual.headers["Access-Control-Allow-Origin"] == origin
    assert "RateLimit-Remaining" in actual.headers["Access-Control-Expose-Headers"]
    no_cors_key = api.get("/v1/members/x", headers=ADMIN_A | {"Origin": origin})
    assert "Access-Control-Allow-Origin" not in no_cors_key.headers


def test_staff_sessions_see_their_own_members_or_their_store(api: httpx.Client) -> None:
    stamp = time.time_ns() % 10**9
    for code in (f"a{stamp}", f"b{stamp}"):
        api.post("/v1/stores", json={"code": code, "name": code}, headers=ADMIN_A)

    def staff(store: str, name: str, role: str = "assistant") -> dict[str, Any]:
        body: dict[str, Any] = api.post(
            f"/v1/stores/{store}/staff", json={"name": name, "role": role}, headers=ADMIN_A
        ).json()
        return body

    wang, zhao = staff(f"a{stamp}", "Wang"), staff(f"a{stamp}", "Zhao")
    boss, other_boss = staff(f"a{stamp}", "Boss", "manager"), staff(f"b{stamp}", "Other boss", "manager")
    app_key = create_key(api, "sessions:staff", name="assistants app")

    def session(who: dict[str, Any]) -> dict[str, str]:
        r = api.post("/v1/sessions/staff", json={"staff_id": who["id"]}, headers=bearer(app_key["key"]))
        assert r.status_code == 201, r.text
        return bearer(r.json()["token"])

    as_wang = session(wang)
    mine = api.post(
        "/v1/members", json={"phone": f"+86155{stamp % 10**8:08d}", "name": "Li"}, headers=as_wang
    )
    assert mine.status_code == 201, mine.text
    assert mine.json()["owner_staff_id"] == wang["id"]  # an assistant's enrolment is theirs
    assert mine.json()["home_store_id"] == f"a{stamp}"
    member_id = mine.json()["id"]

    assert api.get(f"/v1/members/{member_id}", headers=as_wang).status_code == 200
    assert api.get(f"/v1/members/{member_id}", headers=session(zhao)).status_code == 404
    assert api.get(f"/v1/members/{member_id}/points", headers=session(boss)).status_code == 200
    assert api.get(f"/v1/members/{member_id}", headers=session(other_boss)).status_code == 404
    assert api.get("/v1/api-keys", headers=as_wang).status_code == 403  # no admin scope
    member_token = open_session(api, mine.json()["phone"])
    assert (
        api.post(
            "/v1/sessions/staff", json={"staff_id": wang["id"]}, headers=bearer(member_token)
        ).status_code
        == 403
    )


def test_a_member_session_may_withdraw_its_own_consent_only(api: httpx.Client) -> None:
    phone = f"+86131{time.time_ns() % 100_000_000:08d}"
    me = enrol(api, ADMIN_A, phone)
    other = enrol(api, ADMIN_A)
    token = bearer(open_session(api, phone))
    granted = api.put(f"/v1/members/{me['id']}/consent/wechat", json={"granted": True}, headers=token)
    assert granted.status_code == 200, granted.text
    assert granted.json()["consent"]["wechat"] is True
    assert (
        api.put(
            f"/v1/members/{other['id']}/consent/wechat", json={"granted": True}, headers=token
        ).status_code
        == 404
    )
    assert api.patch(f"/v1/members/{me['id']}", json={"name": "Hacker"}, headers=token).status_code == 403

    stop = api.post("/v1/sms-replies", json={"phone": phone, "text": "退订"}, headers=ADMIN_A)
    assert stop.json() == {"unsubscribed": True, "member_id": me["id"]}
    listed = api.put(f"/v1/members/{other['id']}/blacklist", json={"reason": "extortion"}, headers=ADMIN_A)
    assert listed.json()["blacklisted"] is True
    assert api.delete(f"/v1/members/{other['id']}/blacklist", headers=ADMIN_A).status_code == 204
    changed = api.patch(
        f"/v1/members/{other['id']}", json={"tags": ["vip"], "gender": "male"}, headers=ADMIN_A
    )
    assert (changed.json()["tags"], changed.json()["gender"]) == (["vip"], "male")


def test_two_records_of_one_person_merge_through_the_gateway(api: httpx.Client) -> None:
    card = enrol(api, ADMIN_A)
    online = enrol(api, ADMIN_A)
    merged = api.post(f"/v1/members/{card['id']}/merge", json={"duplicate_id": online["id"]}, headers=ADMIN_A)
    assert merged.status_code == 200, merged.text
    found = api.post("/v1/members", json={"phone": online["phone"], "name": "Again"}, headers=ADMIN_A)
    assert (found.status_code, found.json()["id"]) == (
        200,
        card["id"],
    )  # the duplicate's phone finds the survivor
    foreign = api.post(
        f"/v1/members/{card['id']}/merge",
        json={"duplicate_id": online["id"]},
        headers={"Authorization": "Bearer key-tenant-b"},
    )
    assert foreign.status_code == 404


def test_an_oversized_body_is_refused_with_413_and_the_next_request_is_served(api: httpx.Client) -> None:
    big = {"phone": "+8613600000010", "name": "Li", "notes": "x" * (2 * 1024 * 1024)}
    r = api.post("/v1/members", json=big, headers=ADMIN_A)
    assert (r.status_code, r.headers["content-type"]) == (413, "application/problem+json"), r.text
    assert r.json()["type"] == "/problems/payload-too-large"
    assert api.get("/healthz").status_code == 200


def test_problem_answers_carry_the_rate_limit_headers(api: httpx.Client) -> None:
    r = api.get("/v1/members/no-such-member", headers=ADMIN_A)
    assert r.status_code == 404
    assert all(h in r.headers for h in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"))
