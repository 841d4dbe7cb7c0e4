"""Feedback through the gateway: a member's 1-star review becomes a case that staff acknowledge,
start, resolve with exactly one compensation coupon however often the resolve is sent, follow up
and close with the customer's satisfaction; the timeline records who did what and when. Also who
may see and do what: a member session only its own, a store's credential only its store, a key
only with the scope; illegal moves and bad input refused naming the state or the field.

Each test runs in tenants of its own (the static test keys' tenant is fuzzed by schemathesis,
which changes its feedback policy too), with keys made by the admin command line.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from regulars.feedback.v1 import feedback_pb2, feedback_pb2_grpc
from ulid import ULID

from devstack.processes import ROOT, Stack

ADMIN = [
    "feedback:write",
    "feedback:read",
    "cases:handle",
    "cases:manage",
    "coupons:admin",
    "coupons:read",
    "keys:admin",
    "members:write",
    "members:read",
    "purchases:write",
    "directory:write",
    "sessions:member",
    "sessions:staff",
]
CLASP = "The clasp broke the day after I bought it."


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Tenant:
    """A fresh tenant, an admin key of it (`headers`, `key_id`) and a store with its manager."""

    def __init__(self, platform: Stack, api: httpx.Client) -> None:
        self.id = f"fb-{str(ULID()).lower()}"
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
        self.headers = bearer(key)
        self.key_id = key.split("_", 2)[1]
        self.store = self.open_store("jingan")

    def post(self, path: str, body: dict[str, Any], status: int = 201) -> Any:
        r = self.api.post(path, json=body, headers=self.headers)
        assert r.status_code == status, f"{path}: {r.status_code} {r.text}"
        return r.json()

    def open_store(self, code: str) -> str:
        self.post("/v1/stores", {"code": code, "name": code.title()})
        return code

    def staff_session(self, store: str, name: str, role: str = "manager") -> tuple[str, dict[str, str]]:
        """(the staff id, the headers of their session)."""
        staff = self.post(f"/v1/stores/{store}/staff", {"name": name, "role": role})
        session = self.post("/v1/sessions/staff", {"staff_id": staff["id"]})
        return staff["id"], bearer(session["token"])

    def key(self, *scopes: str, store_id: str | None = None) -> dict[str, str]:
        made = self.post("/v1/api-keys", {"name": "other", "scopes": list(scopes), "store_id": store_id})
        return bearer(made["key"])

    def enrol(self) -> tuple[str, dict[str, str]]:
        """(a new member's id, the headers of a member session for them)."""
        phone = f"+86136{time.time_ns() % 100_000_000:08d}"
        member = self.post("/v1/members", {"phone": phone, "name": "Wu"})
        session = self.post("/v1/sessions/member", {"phone": phone})
        return member["id"], bearer(session["token"])

    def active_template(self) -> str:
        template = self.post(
            "/v1/coupon-templates",
            {
                "name": f"¥10 sorry #{time.time_ns()}",
                "benefit": {"kind": "amount_off", "amount_off": 1000},
                "validity": {"duration_seconds": 30 * 86400},
                "limits": {"total_stock": 100},
            },
        )
        self.post(f"/v1/coupon-templates/{template['id']}/state", {"state": "active"}, status=200)
        template_id: str = template["id"]
        return template_id

    def set_policy(self, **changes: Any) -> dict[str, Any]:
        current = self.api.get("/v1/feedback-policy", headers=self.headers)
        assert current.status_code == 200, current.text
        r = self.api.put("/v1/feedback-policy", json=current.json() | changes, headers=self.headers)
        assert r.status_code == 200, r.text
        policy: dict[str, Any] = r.json()
        return policy

    def bad_review(
        self, as_member: dict[str, str], request_id: str = "mp-1", **fields: Any
    ) -> dict[str, Any]:
        body = {
            "store_id": self.store,
            "receipt_no": "R-1001",
            "rating": 1,
            "text": CLASP,
            "image_urls": ["https://img.example.com/clasp.jpg"],
            "request_id": request_id,
        }
        r = self.api.post("/v1/reviews", json=body | fields, headers=as_member)
        assert r.status_code == 201, r.text
        review: dict[str, Any] = r.json()
        return review


@pytest.fixture
def api(platform: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as client:
        yield client


@pytest.fixture
def tenant(platform: Stack, api: httpx.Client) -> Tenant:
    return Tenant(platform, api)


def run_case_clock(platform: Stack, at: datetime) -> feedback_pb2.CaseClockSummary:
    """The service's own clock at `at` (it runs every minute; no gateway route reaches it)."""
    stamp = Timestamp()
    stamp.FromDatetime(at)
    with grpc.insecure_channel(f"127.0.0.1:{platform.ports['feedback']}") as channel:
        stub: Any = feedback_pb2_grpc.FeedbackServiceStub(channel)
        summary: feedback_pb2.CaseClockSummary = stub.RunCaseClock(
            feedback_pb2.RunCaseClockRequest(at=stamp), timeout=30
        )
        return summary


def test_a_one_star_review_becomes_a_closed_case_with_one_compensation_coupon(
    platform: Stack, api: httpx.Client, tenant: Tenant
) -> None:
    template_id = tenant.active_template()
    policy = tenant.set_policy(
        presets=[{"rating_class": "bad", "template_id": template_id, "value": 1000}],
        store_monthly_budget=5000,
        risk_threshold=100,  # nobody needs a manager here
        follow_up_days=1,
    )
    assert policy["version"] == 1
    assert policy["presets"][-1] == {"rating_class": "bad", "template_id": template_id, "value": 1000}
    staff_id, as_staff = tenant.staff_session(tenant.store, "Boss")
    member_id, as_member = tenant.enrol()
    tenant.post(
        "/v1/purchases",
        {
            "member_id": member_id,
            "store_id": tenant.store,
            "receipt_no": "R-1001",
            "occurred_at": "2026-11-20T10:00:00Z",
            "lines": [{"sku": "RING-22", "list_price": 58000, "paid_price": 58000}],
        },
    )

    # The member posts a 1-star review from the mini-program: a case is open.
    review = tenant.bad_review(as_member)
    assert (review["member_id"], review["rating"], review["rating_class"]) == (member_id, 1, "bad")
    assert (review["channel"], review["verified_purchase"], review["reply"]) == ("mini_program", True, None)
    again = api.post(
        "/v1/reviews",
        json={"store_id": tenant.store, "receipt_no": "R-1001", "rating": 1, "request_id": "mp-1"},
        headers=as_member,
    )
    assert (again.status_code, again.json()["id"], again.json()["text"]) == (200, review["id"], CLASP)
    case_id = review["case_id"]
    assert case_id
    opened = api.get(f"/v1/cases/{case_id}", headers=as_member)
    assert opened.status_code == 200, opened.text
    assert (opened.json()["state"], opened.json()["source"], opened.json()["review_id"]) == (
        "open",
        "review",
        review["id"],
    )
    assert opened.json()["risk"] is None  # the member never sees the reviewer risk
    listed = api.get("/v1/cases", params={"state": "open"}, headers=as_staff)
    assert [c["id"] for c in listed.json()["items"]] == [case_id], listed.text
    assert listed.json()["items"][0]["risk"] is not None

    # Staff apologise, reply publicly, start and resolve with the policy's coupon.
    act = f"/v1/cases/{case_id}"
    sorry = api.post(f"{act}/acknowledge", json={"note": "We are so sorry."}, headers=as_staff)
    assert (sorry.status_code, sorry.json()["state"]) == (200, "acknowledged"), sorry.text
    replied = api.post(
        f"/v1/reviews/{review['id']}/reply", json={"text": "We will fix it this week."}, headers=as_staff
    )
    assert replied.status_code == 200, replied.text
    assert replied.json()["reply"] | {"at": None} == {
        "text": "We will fix it this week.",
        "quoted_text": CLASP,
        "quoted_rating": 1,
        "by": f"staff:{staff_id}",
        "at": None,
    }
    started = api.post(f"{act}/start", json={"assign_staff_id": staff_id}, headers=as_staff)
    assert (started.status_code, started.json()["state"]) == (200, "in_progress"), started.text
    assert started.json()["assigned_staff_id"] == staff_id

    def resolve(_: int) -> httpx.Response:
        with httpx.Client(base_url=platform.gateway_url, timeout=60) as client:
            return client.post(f"{act}/resolve", json={"remedy": {"kind": "coupon"}}, headers=as_staff)

    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(resolve, range(3)))
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
    remedies = [a.json()["remedy"] for a in answers]
    code = remedies[0]["coupon_code"]
    assert code
    assert all(r == remedies[0] for r in remedies)
    assert (remedies[0]["kind"], remedies[0]["template_id"], remedies[0]["value"]) == (
        "coupon",
        template_id,
        1000,
    )
    resolved = api.get(act, headers=tenant.headers).json()
    assert resolved["state"] == "resolved"
    wallet = api.get(f"/v1/members/{member_id}/coupons", headers=as_member)
    assert wallet.status_code == 200, wallet.text
    assert [(c["code"], c["template_id"]) for c in wallet.json()["items"]] == [(code, template_id)]

    # The follow-up day comes: the case is up for its follow-up, then closed with satisfaction 5.
    early = api.post(f"{act}/close", json={"satisfaction": 5}, headers=as_staff)
    assert early.status_code == 409, early.text
    follow_up_at = datetime.fromisoformat(resolved["follow_up_at"])
    run_case_clock(platform, follow_up_at + timedelta(minutes=1))
    assert api.get(act, headers=as_member).json()["state"] == "follow_up"
    closed = api.post(f"{act}/close", json={"satisfaction": 5, "note": "Happy with it."}, headers=as_staff)
    assert closed.status_code == 200, closed.text
    assert (closed.json()["state"], closed.json()["satisfaction"]) == ("closed", 5)

    # The whole timeline, with who and when.
    final = api.get(act, headers=tenant.headers).json()
    timeline = final["timeline"]
    staff = f"staff:{staff_id}"
    steps = [(e["action"], e["by"]) for e in timeline if e["action"] != "compensation_issued"]
    assert steps[:4] == [
        ("opened", member_id),  # the review's member opened it
        ("acknowledged", staff),
        ("started", staff),
        ("resolved", staff),
    ], timeline
    assert [a for a, _ in steps[4:]] == ["follow_up_due", "closed"], timeline
    assert steps[-1] == ("closed", staff)
    assert timeline[1]["note"] == "We are so sorry."
    # In order, but for the follow-up: the clock was run at the follow-up day, ahead of now.
    moments = [datetime.fromisoformat(e["at"]) for e in timeline if e["action"] != "follow_up_due"]
    assert moments == sorted(moments)
    assert final["remedy"]["coupon_code"] == code
    assert final["sla_breaches"] == []
    assert [
        c["code"] for c in api.get(f"/v1/members/{member_id}/coupons", headers=as_member).json()["items"]
    ] == [code]

    # A closed case moves no more: 409 naming its state.
    illegal = api.post(f"{act}/acknowledge", json={"note": "again"}, headers=as_staff)
    assert illegal.status_code == 409, illegal.text
    assert illegal.json()["type"] == "/problems/conflict"
    assert "closed" in illegal.json()["detail"]

    # The member amends the review afterwards; the earlier version stays in its history.
    amended = api.post(
        f"/v1/reviews/{review['id']}/amendments",
        json={"rating": 4, "text": "Fixed within the week. Thank you!"},
        headers=as_member,
    )
    assert amended.status_code == 200, amended.text
    assert (amended.json()["rating"], amended.json()["rating_class"]) == (4, "good")
    assert [(v["rating"], v["text"]) for v in amended.json()["history"]] == [(1, CLASP)]


def test_illegal_moves_are_refused_naming_the_state(api: httpx.Client, tenant: Tenant) -> None:
    _, as_member = tenant.enrol()
    case_id = tenant.bad_review(as_member)["case_id"]
    act = f"/v1/cases/{case_id}"
    for step, body in (
        ("start", {}),
        ("resolve", {"remedy": {"kind": "apology_only"}}),
        ("close", {"satisfaction": 4}),
    ):
        r = api.post(f"{act}/{step}", json=body, headers=tenant.headers)
        assert r.status_code == 409, f"{step}: {r.status_code} {r.text}"
        assert "open" in r.json()["detail"], r.text
    rejected = api.post(f"{act}/reject", json={"note": "Duplicate of another case"}, headers=tenant.headers)
    assert (rejected.status_code, rejected.json()["state"]) == (200, "rejected"), rejected.text
    assert rejected.json()["timeline"][-1]["by"] == f"api_key:{tenant.key_id}"
    again = api.post(f"{act}/acknowledge", json={}, headers=tenant.headers)
    assert again.status_code == 409, again.text
    assert "rejected" in again.json()["detail"]
    assert api.post("/v1/cases/NOSUCHCASE/acknowledge", json={}, headers=tenant.headers).status_code == 404


def test_a_member_session_reads_and_amends_only_its_own_reviews_and_cases(
    api: httpx.Client, tenant: Tenant
) -> None:
    mine, as_me = tenant.enrol()
    other, as_other = tenant.enrol()
    review = tenant.bad_review(as_me)
    theirs = tenant.bad_review(as_other)

    assert api.get(f"/v1/reviews/{review['id']}", headers=as_me).status_code == 200
    for path in (f"/v1/reviews/{theirs['id']}", f"/v1/cases/{theirs['case_id']}"):
        r = api.get(path, headers=as_me)
        assert r.status_code == 404, f"{path}: {r.status_code} {r.text}"
    assert api.get("/v1/reviews", params={"member_id": other}, headers=as_me).status_code == 404
    listed = api.get("/v1/reviews", headers=as_me).json()["items"]
    assert [r["id"] for r in listed] == [review["id"]]
    assert [c["id"] for c in api.get("/v1/cases", headers=as_me).json()["items"]] == [review["case_id"]]
    amend = {"rating": 5, "text": "All good now"}
    assert api.post(f"/v1/reviews/{theirs['id']}/amendments", json=amend, headers=as_me).status_code == 404
    impostor = api.post(
        "/v1/reviews",
        json={"member_id": other, "store_id": tenant.store, "rating": 1, "text": "x"},
        headers=as_me,
    )
    assert impostor.status_code == 404, impostor.text
    # No handling for members: replying and acting on cases need cases:handle.
    assert (
        api.post(f"/v1/reviews/{review['id']}/reply", json={"text": "hi"}, headers=as_me).status_code == 403
    )
    assert api.post(f"/v1/cases/{review['case_id']}/acknowledge", json={}, headers=as_me).status_code == 403

    # A member opens a case directly, as the customer; a key opens one as the assistant.
    body = {
        "store_id": tenant.store,
        "category": "service_discount_not_honoured",
        "description": "The member discount was not applied.",
        "request_id": "direct-1",
    }
    own = api.post("/v1/cases", json=body, headers=as_me)
    assert own.status_code == 201, own.text
    assert (own.json()["member_id"], own.json()["source"], own.json()["severity"]) == (
        mine,
        "customer",
        "medium",
    )
    assert own.json()["timeline"][0]["by"] == f"member:{mine}"
    # The same request_id from another member opens that member's own case, never the first's.
    reused = api.post("/v1/cases", json=body, headers=as_other)
    assert reused.status_code == 201, reused.text
    assert reused.json()["member_id"] == other
    assert reused.json()["id"] != own.json()["id"]
    assert mine not in reused.text
    desk = api.post(
        "/v1/cases", json=body | {"member_id": other, "request_id": "desk-1"}, headers=tenant.headers
    )
    assert desk.status_code == 201, desk.text
    assert (desk.json()["source"], desk.json()["timeline"][0]["by"]) == (
        "assistant",
        f"api_key:{tenant.key_id}",
    )


def test_keys_need_the_scope_and_a_stores_credential_acts_only_there(
    api: httpx.Client, tenant: Tenant
) -> None:
    member, as_member = tenant.enrol()
    case_id = tenant.bad_review(as_member)["case_id"]
    reader = tenant.key("feedback:read", "members:read")
    calls: list[tuple[str, str, Any]] = [
        ("POST", "/v1/reviews", {"member_id": member, "store_id": tenant.store, "rating": 5}),
        ("POST", f"/v1/cases/{case_id}/acknowledge", {"note": "sorry"}),
        ("POST", f"/v1/cases/{case_id}/resolve", {"remedy": {"kind": "apology_only"}}),
        ("POST", f"/v1/cases/{case_id}/risk-decision", {"decision": "approve"}),
        ("GET", f"/v1/members/{member}/evidence", None),
        ("GET", "/v1/feedback-policy", None),
    ]
    for method, path, body in calls:
        r = api.request(method, path, json=body, headers=reader)
        assert r.status_code == 403, f"{method} {path}: {r.status_code} {r.text}"
        assert r.json()["type"] == "/problems/forbidden"
    assert api.get(f"/v1/cases/{case_id}", headers=reader).status_code == 200
    nothing = tenant.key("members:read")
    assert api.get(f"/v1/cases/{case_id}", headers=nothing).status_code == 403
    assert api.get("/v1/reviews", headers=nothing).status_code == 403

    # Another store's assistant and key see none of this store's cases and reviews.
    elsewhere = tenant.open_store("pudong")
    _, as_other_staff = tenant.staff_session(elsewhere, "Far")
    other_till = tenant.key("feedback:write", "feedback:read", "cases:handle", store_id=elsewhere)
    for headers in (as_other_staff, other_till):
        assert api.get(f"/v1/cases/{case_id}", headers=headers).status_code == 404
        ack = api.post(f"/v1/cases/{case_id}/acknowledge", json={"note": "x"}, headers=headers)
        assert ack.status_code == 404, ack.text
        assert api.get("/v1/cases", headers=headers).json()["items"] == []
        assert api.get("/v1/reviews", params={"store_id": tenant.store}, headers=headers).status_code == 403
    wrong_store = api.post(
        "/v1/reviews", json={"member_id": member, "store_id": tenant.store, "rating": 5}, headers=other_till
    )
    assert (wrong_store.status_code, wrong_store.json()["field"]) == (403, "store_id"), wrong_store.text
    at_its_store = api.post("/v1/reviews", json={"member_id": member, "rating": 5}, headers=other_till)
    assert at_its_store.status_code == 201, at_its_store.text
    assert (at_its_store.json()["store_id"], at_its_store.json()["channel"]) == (elsewhere, "store_app")
    _, as_my_staff = tenant.staff_session(tenant.store, "Near", role="assistant")
    assert api.get(f"/v1/cases/{case_id}", headers=as_my_staff).status_code == 200
    silent = api.post(f"/v1/cases/{case_id}/acknowledge", json={}, headers=as_my_staff)
    assert (silent.status_code, silent.json()["field"]) == (400, "note"), silent.text  # say sorry
    sorry = api.post(f"/v1/cases/{case_id}/acknowledge", json={"note": "Sorry!"}, headers=as_my_staff)
    assert sorry.status_code == 200, sorry.text


def test_bad_input_is_refused_naming_the_field(api: httpx.Client, tenant: Tenant) -> None:
    member, as_member = tenant.enrol()
    review = {"store_id": tenant.store, "text": "?"}
    for rating in (0, 6, -1):
        bad = api.post("/v1/reviews", json=review | {"rating": rating}, headers=as_member)
        assert bad.status_code == 400, bad.text
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert bad.json()["field"] == "rating", bad.text
    no_member = api.post("/v1/reviews", json=review | {"rating": 3}, headers=tenant.headers)
    assert (no_member.status_code, no_member.json()["field"]) == (400, "member_id"), no_member.text
    nobody = api.post(
        "/v1/reviews", json=review | {"rating": 3, "member_id": "NOBODY"}, headers=tenant.headers
    )
    assert nobody.status_code == 404, nobody.text
    image = api.post(
        "/v1/reviews", json=review | {"rating": 3, "image_urls": ["ftp://x/y.jpg"]}, headers=as_member
    )
    assert (image.status_code, image.json()["field"]) == (400, "image_urls[0]"), image.text
    unknown = api.post("/v1/reviews", json=review | {"rating": 3, "stars": 3}, headers=as_member)
    assert unknown.status_code == 422, unknown.text

    case_id = tenant.bad_review(as_member)["case_id"]
    no_points = api.post(
        f"/v1/cases/{case_id}/resolve",
        json={"remedy": {"kind": "points", "points": 0}},
        headers=tenant.headers,
    )
    assert (no_points.status_code, no_points.json()["field"]) == (400, "remedy.points"), no_points.text

    # The policy: a mistake names its path; a stale version is a conflict.
    policy = api.get("/v1/feedback-policy", headers=tenant.headers).json()
    assert policy["version"] == 0
    slas = [dict(s) for s in policy["slas"]]
    slas[1]["resolution_hours"] = 1
    wrong = api.put("/v1/feedback-policy", json=policy | {"slas": slas}, headers=tenant.headers)
    assert (wrong.status_code, wrong.json()["field"]) == (400, "slas[1].resolution_hours"), wrong.text
    zone = api.put("/v1/feedback-policy", json=policy | {"time_zone": "Mars/Olympus"}, headers=tenant.headers)
    assert (zone.status_code, zone.json()["field"]) == (400, "time_zone"), zone.text
    first = api.put("/v1/feedback-policy", json=policy | {"follow_up_days": 3}, headers=tenant.headers)
    assert (first.status_code, first.json()["version"]) == (200, 1), first.text
    stale = api.put("/v1/feedback-policy", json=policy | {"follow_up_days": 5}, headers=tenant.headers)
    assert stale.status_code == 409, stale.text
    assert api.get("/v1/feedback-policy", headers=tenant.headers).json()["follow_up_days"] == 3
    shop_key = tenant.key("cases:manage", store_id=tenant.store)
    assert api.put("/v1/feedback-policy", json=first.json(), headers=shop_key).status_code == 403
    evidence = api.get(f"/v1/members/{member}/evidence", headers=tenant.headers)
    assert evidence.status_code == 200, evidence.text
    assert [c["id"] for c in evidence.json()["cases"]] == [case_id]
