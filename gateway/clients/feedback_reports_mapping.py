"""Feedback reports: protobuf replies -> the gateway's schemas."""

from __future__ import annotations

from regulars.feedback.v1 import feedback_pb2 as pb

from gateway.clients.pb_time import moment
from gateway.schemas.feedback_reports import (
    CategoryCountOut,
    FeedbackReportOut,
    FeedbackReportRowOut,
    GroupByName,
    RemedyCostOut,
    ReviewDistributionOut,
    ReviewMonthOut,
)


def row_out(r: pb.FeedbackReportRow) -> FeedbackReportRowOut:
    return FeedbackReportRowOut(
        key=r.key,
        purchases=r.purchases,
        complaints=r.complaints,
        complaint_rate_per_1000=r.complaint_rate_per_1000,
        first_response_p50_seconds=r.first_response_p50_seconds,
        first_response_p90_seconds=r.first_response_p90_seconds,
        first_responses=r.first_responses,
        resolution_p50_seconds=r.resolution_p50_seconds,
        resolution_p90_seconds=r.resolution_p90_seconds,
        resolutions=r.resolutions,
        sla_first_response_met_share=r.sla_first_response_met_share,
        sla_first_response_judged=r.sla_first_response_judged,
        sla_resolution_met_share=r.sla_resolution_met_share,
        sla_resolution_judged=r.sla_resolution_judged,
        remedies=[
            RemedyCostOut(kind=m.kind, count=m.count, coupon_value=m.coupon_value, points=m.points)
            for m in r.remedies
        ],
        satisfaction_avg=r.satisfaction_avg,
        satisfaction_count=r.satisfaction_count,
        top_categories=[CategoryCountOut(category=c.category, count=c.count) for c in r.top_categories],
    )


def report_out(r: pb.FeedbackReport, group_by: GroupByName) -> FeedbackReportOut:
    return FeedbackReportOut(
        from_month=r.from_month,
        to_month=r.to_month,
        group_by=group_by,
        store_id=r.store_id,
        time_zone=r.time_zone,
        rows=[row_out(x) for x in r.rows],
        total=row_out(r.total),
        generated_at=moment(r.generated_at),
    )


def distribution_out(d: pb.ReviewDistribution) -> ReviewDistributionOut:
    return ReviewDistributionOut(
        from_month=d.from_month,
        to_month=d.to_month,
        store_id=d.store_id,
        time_zone=d.time_zone,
        months=[
            ReviewMonthOut(
                month=m.month, good=m.good, medium=m.medium, bad=m.bad, amended_better=m.amended_better
            )
            for m in d.months
        ],
    )
