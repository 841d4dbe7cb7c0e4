"""Replies of the report commands: the domain's reports as protobuf."""

from __future__ import annotations

from regulars.feedback.v1 import feedback_pb2

from services.feedback.domain.reports import FeedbackReport, Period, ReportRow, ReviewMonth
from services.feedback.pb_shapes import stamp


def row_pb(r: ReportRow) -> feedback_pb2.FeedbackReportRow:
    return feedback_pb2.FeedbackReportRow(
        key=r.key,
        purchases=r.purchases,
        complaints=r.complaints,
        complaint_rate_per_1000=r.complaint_rate_per_1000,
        first_response_p50_seconds=r.first_response_p50,
        first_response_p90_seconds=r.first_response_p90,
        resolution_p50_seconds=r.resolution_p50,
        resolution_p90_seconds=r.resolution_p90,
        sla_first_response_met_share=r.sla_first_response_met_share,
        sla_resolution_met_share=r.sla_resolution_met_share,
        remedies=[
            feedback_pb2.RemedyCost(
                kind=m.kind.value, count=m.count, coupon_value=m.coupon_value, points=m.points
            )
            for m in r.remedies
        ],
        satisfaction_avg=r.satisfaction_avg,
        satisfaction_count=r.satisfaction_count,
        top_categories=[feedback_pb2.CategoryCount(category=c.value, count=n) for c, n in r.top_categories],
        first_responses=r.first_responses,
        resolutions=r.resolutions,
        sla_first_response_judged=r.sla_first_response_judged,
        sla_resolution_judged=r.sla_resolution_judged,
    )


def report_pb(tenant_id: str, report: FeedbackReport) -> feedback_pb2.FeedbackReport:
    return feedback_pb2.FeedbackReport(
        tenant_id=tenant_id,
        from_month=report.period.first,
        to_month=report.period.last,
        group_by=report.group_by.value,
        store_id=report.store_id,
        time_zone=report.period.time_zone,
        rows=[row_pb(r) for r in report.rows],
        total=row_pb(report.total),
        generated_at=stamp(report.generated_at),
    )


def distribution_pb(
    tenant_id: str, store_id: str, period: Period, months: tuple[ReviewMonth, ...]
) -> feedback_pb2.ReviewDistribution:
    return feedback_pb2.ReviewDistribution(
        tenant_id=tenant_id,
        from_month=period.first,
        to_month=period.last,
        store_id=store_id,
        time_zone=period.time_zone,
        months=[
            feedback_pb2.ReviewMonth(
                month=m.month, good=m.good, medium=m.medium, bad=m.bad, amended_better=m.amended_better
            )
            for m in months
        ],
    )
