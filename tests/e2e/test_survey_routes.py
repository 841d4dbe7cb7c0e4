"""Satisfaction surveys and questions and suggestions through the gateway: a purchase brings a
survey that the member's own session reads by its token and answers once (a low answer opens one
case the member can see), while another member's session gets a 404 for that token; a member's
suggestion is answered by the shop, adopted once and closed, and another member never sees it.

Each test runs in a tenant of its own (the static keys' tenant is fuzzed by schemathesis), with
a key made by the admin command line (tests/e2e/test_feedback_routes.py's Tenant).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from devstack.processes import Stack
from tests.e2e.test_feedback_routes import Tenant
from tests.support import eventually


@pytest.fixture
def client(platform: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as api:
        yield api


@pytest.fixture
def shop(platform: Stack, client: httpx.Client) -> Tenant:
    return Tenant(platform, client)


def survey_of(shop: Tenant, member_id: str) -> dict[str, Any]:
    """The member's survey once feedback has scheduled it from purchase_made."""

    def probe() -> dict[str, Any] | None:
        r = shop.api.get("/v1/surveys", params={"member_id": member_id}, headers=shop.headers)
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items[0] if items else None

    return eventually(probe)


def test_a_member_answers_its_own_survey_once_and_another_members_token_is_a_404(shop: Tenant) -> None:
    api = shop.api
    member_id, as_member = shop.enrol()
    _, as_other = shop.enrol()
    purchase = shop.post(
        "/v1/purchases",
        {
            "member_id": member_id,
            "store_id": shop.store,
            "receipt_no": "R-3001",
            "occurred_at": datetime.now(UTC).isoformat(),
            "lines": [{"sku": "RING-22", "list_price": 58000, "paid_price": 58000}],
        },
    )
    survey = survey_of(shop, member_id)
    token = survey["token"]
    assert (survey["purchase_id"], survey["store_id"], survey["state"], survey["answer"]) == (
        purchase["id"],
        shop.store,
        "scheduled",
        None,
    )

    mine = api.get(f"/v1/surveys/{token}", headers=as_member)
    theirs = api.get(f"/v1/surveys/{token}", headers=as_other)
    stolen = api.post(f"/v1/surveys/{token}/answer", json={"csat": 5}, headers=as_other)
    unknown = api.get("/v1/surveys/no-such-token", headers=as_member)
    answer = {"csat": 1, "nps": 2, "text": "Nobody helped me.", "wants_call_back": True}
    answered = api.post(f"/v1/surveys/{token}/answer", json=answer, headers=as_member)
    again = api.post(f"/v1/surveys/{token}/answer", json=answer, headers=as_member)
    changed = api.post(f"/v1/surveys/{token}/answer", json={"csat": 5}, headers=as_member)
    bad = api.post(f"/v1/surveys/{token}/answer", json={"csat": 9}, headers=as_member)
    listed = api.get("/v1/surveys", headers=as_member)
    others_list = api.get("/v1/surveys", params={"member_id": member_id}, headers=as_other)

    assert (mine.status_code, mine.json()["id"]) == (200, survey["id"]), mine.text
    assert theirs.status_code == 404, theirs.text
    assert theirs.headers["content-type"].startswith("application/problem+json")
    assert token not in theirs.json()["detail"]  # (the path it echoes as `instance` is its own)
    assert stolen.status_code == 404, stolen.text
    assert unknown.status_code == 404, unknown.text
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert (
        body["state"],
        body["answer"]["csat"],
        body["answer"]["nps"],
        body["answer"]["wants_call_back"],
    ) == (
        "answered",
        1,
        2,
        True,
    )
    assert body["case_id"]
    assert again.json() == body  # the same answer again: the survey as answered
    assert changed.status_code == 409, changed.text
    assert (bad.status_code, bad.json()["field"]) == (400, "csat")
    assert [s["id"] for s in listed.json()["items"]] == [survey["id"]]
    assert others_list.status_code == 404, others_list.text

    case = api.get(f"/v1/cases/{body['case_id']}", headers=as_member)
    assert case.status_code == 200, case.text
    assert (case.json()["source"], case.json()["survey_id"], case.json()["member_id"]) == (
        "survey",
        survey["id"],
        member_id,
    )
    cases = api.get("/v1/cases", params={"member_id": member_id}, headers=shop.headers).json()["items"]
    assert [c["id"] for c in cases] == [body["case_id"]]  # one case, however often it was answered
    assert api.get(f"/v1/cases/{body['case_id']}", headers=as_other).status_code == 404


def test_a_members_suggestion_is_answered_adopted_once_and_closed_and_no_other_member_sees_it(
    shop: Tenant,
) -> None:
    api = shop.api
    member_id, as_member = shop.enrol()
    _, as_other = shop.enrol()
    ask = {"kind": "suggestion", "text": "Could you open at 9 on Sundays?", "request_id": "mp-1"}

    opened = api.post("/v1/threads", json=ask | {"store_id": shop.store}, headers=as_member)
    retried = api.post("/v1/threads", json=ask | {"store_id": shop.store}, headers=as_member)
    assert (opened.status_code, retried.status_code) == (201, 200), opened.text
    thread = opened.json()
    tid = thread["id"]
    assert (thread["member_id"], thread["state"], thread["first_response_due"] is not None) == (
        member_id,
        "open",
        True,
    )
    assert retried.json()["id"] == tid

    assert api.get(f"/v1/threads/{tid}", headers=as_other).status_code == 404
    assert (
        api.post(f"/v1/threads/{tid}/messages", json={"text": "me too"}, headers=as_other).status_code == 404
    )
    # A member session cannot act for the shop.
    assert api.post(f"/v1/threads/{tid}/adopt", json={}, headers=as_member).status_code == 403

    reply = {"text": "We are looking into it.", "request_id": "reply-1"}
    answered = api.post(f"/v1/threads/{tid}/messages", json=reply, headers=shop.headers)
    replayed = api.post(f"/v1/threads/{tid}/messages", json=reply, headers=shop.headers)
    follow = api.post(f"/v1/threads/{tid}/messages", json={"text": "Thanks!"}, headers=as_member)
    assigned = api.post(f"/v1/threads/{tid}/assign", json={"store_id": shop.store}, headers=shop.headers)
    adopted = api.post(
        f"/v1/threads/{tid}/adopt", json={"note": "From December: 9:00."}, headers=shop.headers
    )
    adopted_again = api.post(f"/v1/threads/{tid}/adopt", json={}, headers=shop.headers)
    closed = api.post(f"/v1/threads/{tid}/close", json={}, headers=as_member)
    late = api.post(f"/v1/threads/{tid}/messages", json={"text": "one more"}, headers=as_member)
    seen = api.get(f"/v1/threads/{tid}", headers=as_member)
    listed = api.get("/v1/threads", params={"kind": "suggestion"}, headers=as_member)

    assert answered.status_code == 200, answered.text
    assert answered.json()["state"] == "answered"
    assert answered.json()["first_responded_at"] is not None
    assert replayed.json()["messages"] == answered.json()["messages"]  # a retried reply counts once
    assert follow.json()["state"] == "open"
    assert assigned.json()["assigned_store_id"] == shop.store
    assert adopted.status_code == 200, adopted.text
    assert (adopted.json()["adopted_by"], adopted.json()["messages"][-1]["text"]) == (
        f"api_key:{shop.key_id}",
        "From December: 9:00.",
    )
    assert adopted_again.json() == adopted.json()
    assert (closed.status_code, closed.json()["state"], closed.json()["closed_by"]) == (
        200,
        "closed",
        member_id,
    )
    assert late.status_code == 409, late.text
    assert [(m["author"], m["text"]) for m in seen.json()["messages"]] == [
        ("member", "Could you open at 9 on Sundays?"),
        ("staff", "We are looking into it."),
        ("member", "Thanks!"),
        ("staff", "From December: 9:00."),
    ]
    assert [t["id"] for t in listed.json()["items"]] == [tid]
    assert api.get("/v1/threads", headers=as_other).json()["items"] == []
