"""Answers of the feedback report routes: complaint rates, response and resolution times, SLA
compliance, remedies and satisfaction by store, assistant or month; reviews by month."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

GroupByName = Literal["store", "assistant", "month"]
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"

_ROW: dict[str, Any] = {
    "key": "sh-01",
    "purchases": 4000,
    "complaints": 6,
    "complaint_rate_per_1000": 1.5,
    "first_response_p50_seconds": 1800.0,
    "first_response_p90_seconds": 14400.0,
    "first_responses": 6,
    "resolution_p50_seconds": 86400.0,
    "resolution_p90_seconds": 259200.0,
    "resolutions": 5,
    "sla_first_response_met_share": 0.8333,
    "sla_first_response_judged": 6,
    "sla_resolution_met_share": 1.0,
    "sla_resolution_judged": 5,
    "remedies": [
        {"kind": "coupon", "count": 3, "coupon_value": 3000, "points": 0},
        {"kind": "points", "count": 1, "coupon_value": 0, "points": 200},
    ],
    "satisfaction_avg": 4.25,
    "satisfaction_count": 4,
    "top_categories": [
        {"category": "product_quality", "count": 4},
        {"category": "service_attitude", "count": 2},
    ],
}


class RemedyCostOut(BaseModel):
    kind: str = Field(description="coupon, points, exchange, repair, refund or apology_only")
    count: int
    coupon_value: int = Field(description="What the coupons given were worth, minor units")
    points: int = Field(description="The points given")


class CategoryCountOut(BaseModel):
    category: str
    count: int


class FeedbackReportRowOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ROW]})

    key: str = Field(
        description='The store id, the assistant\'s staff id ("" = none) or the month "YYYY-MM"; '
        '"" in the total'
    )
    purchases: int = Field(description="Purchases counted in the period")
    complaints: int = Field(description="Complaint cases opened in the period")
    complaint_rate_per_1000: float = Field(description="complaints per 1,000 purchases; 0 without purchases")
    first_response_p50_seconds: float = Field(
        description="Seconds from opening to the first response, nearest-rank median; 0 when none answered"
    )
    first_response_p90_seconds: float
    first_responses: int = Field(description="Cases answered (what the first-response times are of)")
    resolution_p50_seconds: float = Field(description="Seconds from opening to the resolution (or rejection)")
    resolution_p90_seconds: float
    resolutions: int = Field(description="Cases resolved or rejected (what the resolution times are of)")
    sla_first_response_met_share: float = Field(
        description="Of the cases whose first-response SLA can be judged, the share met, 0..1"
    )
    sla_first_response_judged: int
    sla_resolution_met_share: float = Field(
        description="Of the cases whose resolution SLA can be judged, the share met, 0..1"
    )
    sla_resolution_judged: int
    remedies: list[RemedyCostOut]
    satisfaction_avg: float = Field(description="The customers' satisfaction (1-5) at closing; 0 when none")
    satisfaction_count: int
    top_categories: list[CategoryCountOut] = Field(description="Most cases first")


class FeedbackReportOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "from_month": "2026-10",
                    "to_month": "2026-11",
                    "group_by": "store",
                    "store_id": "",
                    "time_zone": "Asia/Shanghai",
                    "rows": [_ROW],
                    "total": {**_ROW, "key": ""},
                    "generated_at": "2026-11-23T10:00:00Z",
                }
            ]
        }
    )

    from_month: str = Field(description='The first month, "YYYY-MM"')
    to_month: str = Field(description='The last month, "YYYY-MM"')
    group_by: GroupByName
    store_id: str = Field(description='The one store reported on ("" = every store)')
    time_zone: str = Field(description="The zone the months are in (the tenant's feedback policy)")
    rows: list[FeedbackReportRowOut] = Field(description="By key; every month of the period when by month")
    total: FeedbackReportRowOut
    generated_at: datetime = Field(description="When the report was computed")


class ReviewMonthOut(BaseModel):
    month: str
    good: int = Field(description="Reviews posted that month rated 4-5 (as first posted)")
    medium: int = Field(description="Rated 3")
    bad: int = Field(description="Rated 1-2")
    amended_better: int = Field(description="Of them, amended since by their member to a better class")


class ReviewDistributionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "from_month": "2026-10",
                    "to_month": "2026-11",
                    "store_id": "sh-01",
                    "time_zone": "Asia/Shanghai",
                    "months": [
                        {"month": "2026-10", "good": 120, "medium": 14, "bad": 6, "amended_better": 2},
                        {"month": "2026-11", "good": 98, "medium": 9, "bad": 3, "amended_better": 1},
                    ],
                }
            ]
        }
    )

    from_month: str
    to_month: str
    store_id: str = Field(description='The one store reported on ("" = every store)')
    time_zone: str
    months: list[ReviewMonthOut] = Field(description="Every month of the period, oldest first")
