"""Feedback reports through the gateway: the routes answer the very numbers FeedbackService
computes from purchases recorded through the gateway and cases opened in feedback; a credential
without `cases:manage` is refused, one restricted to a store sees that store only.

The test runs in a tenant of its own, with keys made by the admin command line.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import httpx
import pytest
from google.protobuf.json_format import MessageToDict
from regulars.feedback.v1 import feedback_pb2, feedback_pb2_grpc
from ulid import ULID

from devstack.processes import ROOT, Stack
from tests.support import eventually

SCOPES = ["cases:manage", "keys:admin", "members:write", "purchases:write"]
SHANGHAI = ZoneInfo("Asia/Shanghai")


class Tenant:
    def __init__(self, platform: Stack, api: httpx.Client) -> None:
        self.id = f"reports-{str(ULID()).lower()}"
        self.api = api
        out = subprocess.run(
            [sys.executable, "-m", "gateway.admin", "create-key", "--tenant", self.id, "--name", "manager"]
            + [arg for scope in SCOPES for arg in ("--scope", scope)],
            env=platform.base_env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        self.headers = {"Authorization": f"Bearer {out.strip().splitlines()[-1]}"}

    def key(self, *scopes: str, store_id: str | None = None) -> dict[str, str]:
        r = self.api.post(
            "/v1/api-keys",
            json={"name": "other", "scopes": list(scopes), "store_id": store_id},
            headers=self.headers,
        )
        assert r.status_code == 201, r.text
        return {"Authorization": f"Bearer {r.json()['key']}"}

    def enrol(self, phone: str) -> str:
        r = self.api.post("/v1/members", json={"phone": phone, "name": "Zhao"}, headers=self.headers)
        assert r.status_code == 201, r.text
        member_id: str = r.json()["id"]
        return member_id

    def purchase(self, member: str, store: str, receipt: str, staff: str, at: datetime) -> None:
        r = self.api.post(
            "/v1/purchases",
            headers=self.headers,
            json={
                "member_id": member,
                "store_id": store,
                "receipt_no": receipt,
                "served_by_staff_id": staff,
                "occurred_at": at.isoformat(),
                "lines": [{"sku": "CAKE-1", "list_price": 8800, "paid_price": 8800}],
            },
        )
        assert r.status_code in (200, 201), r.text


@pytest.fixture
def feedback(platform: Stack) -> Iterator[Any]:
    with grpc.insecure_channel(f"127.0.0.1:{platform.ports['feedback']}") as channel:
        yield feedback_pb2_grpc.FeedbackServiceStub(channel)


def grpc_row(row: Any) -> dict[str, Any]:
    """A report row as the route spells it (every field, zeros included)."""
    d = MessageToDict(row, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    for name in ("purchases",):  # int64 is a string in protobuf's JSON
        d[name] = int(d[name])
    for m in d["remedies"]:
        m["coupon_value"], m["points"] = int(m["coupon_value"]), int(m["points"])
    return d


def test_the_report_routes_answer_feedbacks_numbers_and_need_cases_manage(
    platform: Stack, feedback: Any
) -> None:
    now = datetime.now(UTC)
    if (now + timedelta(minutes=5)).astimezone(SHANGHAI).month != now.astimezone(SHANGHAI).month:
        time.sleep(301)  # keep the test's purchases and cases in one month
        now = datetime.now(UTC)
    month = now.astimezone(SHANGHAI).strftime("%Y-%m")
    with httpx.Client(base_url=platform.gateway_url, timeout=20) as api:
        t = Tenant(platform, api)
        m1, m2 = t.enrol("+8613700005001"), t.enrol("+8613700005002")
        t.purchase(m1, "bj-01", "B-1", "a1", now)
        t.purchase(m2, "bj-01", "B-2", "a2", now)
        t.purchase(m1, "bj-02", "B-3", "a2", now)
        posted = feedback.PostReview(
            feedback_pb2.PostReviewRequest(
                tenant_id=t.id,
                member_id=m1,
                store_id="bj-01",
                receipt_no="B-1",
                rating=1,
                text="Stale.",
                channel="mini_program",
                request_id="e2e-1",
            )
        )
        feedback.AcknowledgeCase(
            feedback_pb2.CaseActionRequest(
                tenant_id=t.id, case_id=posted.review.case_id, by="staff-1", note="Sorry"
            )
        )
        feedback.PostReview(
            feedback_pb2.PostReviewRequest(
                tenant_id=t.id,
                member_id=m2,
                store_id="bj-01",
                rating=5,
                channel="mini_program",
                request_id="e2e-2",
            )
        )
        query = {"from": month, "to": month, "group_by": "store"}

        def counted() -> dict[str, Any] | None:
            r = api.get("/v1/feedback-reports", params=query, headers=t.headers)
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()
            return body if body["total"]["purchases"] == 3 else None

        by_store = eventually(counted, 60)
        expected = feedback.GetFeedbackReport(
            feedback_pb2.GetFeedbackReportRequest(
                tenant_id=t.id, from_month=month, to_month=month, group_by="store"
            )
        )
        by_assistant = api.get(
            "/v1/feedback-reports", params={**query, "group_by": "assistant"}, headers=t.headers
        )
        reviews = api.get(
            "/v1/feedback-reports/reviews",
            params={"from": month, "to": month, "store_id": "bj-01"},
            headers=t.headers,
        )
        expected_reviews = feedback.GetReviewDistribution(
            feedback_pb2.GetReviewDistributionRequest(
                tenant_id=t.id, from_month=month, to_month=month, store_id="bj-01"
            )
        )

        no_scope = api.get("/v1/feedback-reports", params=query, headers=t.key("members:write"))
        no_scope_reviews = api.get(
            "/v1/feedback-reports/reviews",
            params={"from": month, "to": month},
            headers=t.key("members:write"),
        )
        store_key = t.key("cases:manage", store_id="bj-02")
        own_store = api.get("/v1/feedback-reports", params=query, headers=store_key)
        other_store = api.get(
            "/v1/feedback-reports", params={**query, "store_id": "bj-01"}, headers=store_key
        )
        bad_month = api.get("/v1/feedback-reports", params={**query, "from": "2026-13"}, headers=t.headers)
        too_long = api.get("/v1/feedback-reports", params={**query, "from": "2020-01"}, headers=t.headers)

    assert [grpc_row(r) for r in expected.rows] == by_store["rows"]
    assert grpc_row(expected.total) == by_store["total"]
    assert (by_store["from_month"], by_store["group_by"], by_store["time_zone"]) == (
        month,
        "store",
        "Asia/Shanghai",
    )
    bj01, bj02 = by_store["rows"]
    assert (bj01["key"], bj01["purchases"], bj01["complaints"], bj01["complaint_rate_per_1000"]) == (
        "bj-01",
        2,
        1,
        500.0,
    )
    assert (bj01["first_responses"], bj01["sla_first_response_met_share"]) == (1, 1.0)
    assert (bj02["key"], bj02["purchases"], bj02["complaints"]) == ("bj-02", 1, 0)
    assert by_assistant.status_code == 200, by_assistant.text
    assert [(r["key"], r["purchases"], r["complaints"]) for r in by_assistant.json()["rows"]] == [
        ("a1", 1, 1),
        ("a2", 2, 0),
    ]
    assert reviews.status_code == 200, reviews.text
    assert reviews.json()["months"] == [
        {
            "month": m.month,
            "good": m.good,
            "medium": m.medium,
            "bad": m.bad,
            "amended_better": m.amended_better,
        }
        for m in expected_reviews.months
    ]
    assert reviews.json()["months"] == [
        {"month": month, "good": 1, "medium": 0, "bad": 1, "amended_better": 0}
    ]
    assert (no_scope.status_code, no_scope_reviews.status_code) == (403, 403)
    assert "cases:manage" in no_scope.json()["detail"]
    assert own_store.status_code == 200, own_store.text
    assert [r["key"] for r in own_store.json()["rows"]] == ["bj-02"]
    assert own_store.json()["store_id"] == "bj-02"
    assert (other_store.status_code, other_store.json()["field"]) == (403, "store_id")
    assert bad_month.status_code == 422
    assert (too_long.status_code, too_long.json()["field"]) == (400, "to_month")
