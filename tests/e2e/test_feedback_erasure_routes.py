"""Feedback's side of privacy and disputes through the gateway: erasing a member
(`POST /v1/members/{id}/erasure`) scrubs their review, its replies and their case, keeps the
ratings, and a second erasure changes nothing; a member's evidence pack holds the message
messaging sent them, their question and their survey, and says its messages are complete."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devstack.processes import Stack
from tests.e2e.test_feedback_routes import CLASP, Tenant
from tests.support import eventually


@pytest.fixture
def api(platform: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as client:
        yield client


@pytest.fixture
def tenant(platform: Stack, api: httpx.Client) -> Tenant:
    return Tenant(platform, api)


def test_erasing_a_member_through_the_gateway_scrubs_their_review_and_case(
    api: httpx.Client, tenant: Tenant
) -> None:
    member, as_member = tenant.enrol()
    review = tenant.bad_review(as_member, delivery_city="Lhasa")
    tenant.post(f"/v1/reviews/{review['id']}/reply", {"text": "Dear Ms Wu, we are so sorry"}, status=200)
    tenant.post(
        f"/v1/cases/{review['case_id']}/acknowledge", {"note": "Sorry Ms Wu, we call today"}, status=200
    )
    privacy = tenant.key("members:privacy")

    erased = api.post(f"/v1/members/{member}/erasure", json={"reason": "PIPL request"}, headers=privacy)
    assert erased.status_code == 200, erased.text

    def scrubbed() -> dict[str, Any] | None:
        got = api.get(f"/v1/reviews/{review['id']}", headers=tenant.headers).json()
        return got if got.get("erased_at") else None

    after = eventually(scrubbed)
    again = api.post(f"/v1/members/{member}/erasure", json={"reason": "PIPL request"}, headers=privacy)
    case = api.get(f"/v1/cases/{review['case_id']}", headers=tenant.headers).json()
    listed = api.get("/v1/reviews", params={"member_id": member}, headers=tenant.headers).json()["items"]

    assert review["text"] == CLASP
    assert review["image_urls"]
    assert (after["text"], after["image_urls"], after["rating"], after["rating_class"]) == ("", [], 1, "bad")
    assert (after["reply"]["text"], after["reply"]["quoted_text"]) == ("", "")
    assert (case["description"], case["delivery_city"], {e["note"] for e in case["timeline"]}) == (
        "",
        None,
        {""},
    )
    assert case["erased_at"]
    assert case["state"] == "acknowledged"
    assert again.json()["erased_now"] is False
    assert [(r["id"], r["text"]) for r in listed] == [(review["id"], "")]


def test_the_evidence_pack_holds_the_message_messaging_sent_the_member(
    api: httpx.Client, tenant: Tenant
) -> None:
    member, as_member = tenant.enrol()
    crm = tenant.key("messages:send", "messages:admin")
    template = {
        "name": "thanks",
        "message_class": "transactional",
        "texts": {"inbox": {"title": "Thanks", "body": "Hi"}},
    }
    made = api.put("/v1/message-templates/thanks", json=template, headers=crm)
    assert made.status_code in (200, 201), made.text
    body = {"member_id": member, "message_key": f"thanks:{member}", "template_id": "thanks"}

    def sent() -> dict[str, Any] | None:  # once messaging has heard of the member
        r = api.post("/v1/messages", json=body, headers=crm)
        return r.json() if r.status_code in (200, 201) else None

    message = eventually(sent)
    opened = api.post(
        "/v1/threads", json={"kind": "question", "text": "Do you open on Sundays?"}, headers=as_member
    )
    assert opened.status_code == 201, opened.text
    tenant.bad_review(as_member)

    pack = api.get(f"/v1/members/{member}/evidence", headers=tenant.headers)

    assert pack.status_code == 200, pack.text
    got = pack.json()
    assert got["messages_status"] == "complete"
    assert [(m["id"], m["template_id"]) for m in got["messages"]] == [(message["id"], "thanks")]
    assert [t["id"] for t in got["threads"]] == [opened.json()["id"]]
    assert len(got["reviews"]) == 1
    assert len(got["cases"]) == 1
