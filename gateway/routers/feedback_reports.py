"""Feedback reports for a chain's service team: complaints per 1,000 purchases, first-response
and resolution times, SLA compliance, remedies and their cost, satisfaction after resolution and
the top categories by store, assistant or month; and reviews by month.

Thin over gRPC `FeedbackService` (see `clients/feedback_reports.py`). Scope `cases:manage`. A
credential restricted to a store reports on that store only (asking for another is a 403).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from gateway.clients.feedback_reports import FeedbackReportsClient
from gateway.deps import ManageCases, side_client
from gateway.errors import Problem
from gateway.identity import Caller
from gateway.schemas.feedback_reports import (
    MONTH_PATTERN,
    FeedbackReportOut,
    GroupByName,
    ReviewDistributionOut,
)
from gateway.schemas.problems import responses

router = APIRouter(prefix="/v1", tags=["feedback reports"])

STORE_ID_MAX = 128


async def _reports(request: Request) -> FeedbackReportsClient:
    return side_client(request, "feedback_reports", "feedback", FeedbackReportsClient.over)


ReportsDep = Annotated[FeedbackReportsClient, Depends(_reports)]
FromMonth = Annotated[
    str,
    Query(
        alias="from", pattern=MONTH_PATTERN, description='The first month, "YYYY-MM"', examples=["2026-10"]
    ),
]
ToMonth = Annotated[
    str,
    Query(
        alias="to",
        pattern=MONTH_PATTERN,
        description='The last month, "YYYY-MM" (included; at most 12 months in all)',
        examples=["2026-11"],
    ),
]
StoreFilter = Annotated[
    str | None, Query(max_length=STORE_ID_MAX, description="Only this store (default: every store)")
]


def _store(caller: Caller, store_id: str | None) -> str:
    """The store asked for; a credential restricted to a store gets its own."""
    asked = (store_id or "").strip()
    if caller.store_id:
        if asked and asked != caller.store_id:
            raise Problem(
                403,
                "forbidden",
                "Forbidden",
                f"this credential is restricted to store {caller.store_id}",
                field="store_id",
            )
        return caller.store_id
    return asked


@router.get(
    "/feedback-reports",
    summary="Feedback report by store, assistant or month",
    description=(
        "Complaint cases opened in whole months of the tenant's zone (its feedback policy's), "
        "against the purchases counted in them: complaints per 1,000 purchases, first-response and "
        "resolution times in seconds (nearest-rank p50 and p90, wall clock), the share of cases "
        "that met their first-response and resolution SLAs (in business hours; of the cases that "
        "can be judged yet), remedies given with what the coupons were worth and the points given, "
        "satisfaction at closing and the top categories — one row per store, per assistant "
        "(credited with the purchase complained about) or per month, and their total. "
        "Scope `cases:manage`."
    ),
    responses=responses(400, 401, 403, 409, 422, 429, 503),
)
async def get_feedback_report(
    caller: ManageCases,
    reports: ReportsDep,
    from_month: FromMonth,
    to_month: ToMonth,
    group_by: Annotated[GroupByName, Query(description="One row per store, assistant or month")] = "month",
    store_id: StoreFilter = None,
) -> FeedbackReportOut:
    return await reports.report(caller.tenant_id, from_month, to_month, group_by, _store(caller, store_id))


@router.get(
    "/feedback-reports/reviews",
    summary="Reviews by month: good, medium, bad",
    description=(
        "Every month of the period (whole months in the tenant's zone), oldest first: the reviews "
        "posted in it by their rating as first posted — good (4-5), medium (3), bad (1-2) — and how "
        "many of them their member has since amended to a better class. Scope `cases:manage`."
    ),
    responses=responses(400, 401, 403, 409, 422, 429, 503),
)
async def get_review_distribution(
    caller: ManageCases,
    reports: ReportsDep,
    from_month: FromMonth,
    to_month: ToMonth,
    store_id: StoreFilter = None,
) -> ReviewDistributionOut:
    return await reports.review_distribution(caller.tenant_id, from_month, to_month, _store(caller, store_id))
