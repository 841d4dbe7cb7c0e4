"""Engagement protobuf -> the gateway's schemas."""

from __future__ import annotations

from regulars.messaging.v1 import messaging_pb2 as pb

from gateway.schemas.messaging_reports import MessagingReportOut, StaffStatOut, TemplateChannelRowOut


def row_out(r: pb.TemplateChannelRow) -> TemplateChannelRowOut:
    return TemplateChannelRowOut(
        template_id=r.template_id,
        channel=r.channel,
        requested=r.requested,
        sent=r.sent,
        deferred=r.deferred,
        capped=r.capped,
        failed=r.failed,
        skipped=r.skipped,
        clicked=r.clicked,
        converted=r.converted,
        revenue=r.revenue.minor_units,
        currency=r.revenue.currency,
    )


def staff_out(s: pb.StaffTaskStat) -> StaffStatOut:
    return StaffStatOut(
        staff_id=s.staff_id,
        open=s.open,
        overdue=s.overdue,
        done=s.done,
        done_on_time=s.done_on_time,
        on_time_rate=s.on_time_rate,
        conversions=s.conversions,
        attributed_revenue=s.attributed_revenue.minor_units,
        currency=s.attributed_revenue.currency,
    )


def report_out(r: pb.MessagingReport) -> MessagingReportOut:
    return MessagingReportOut(rows=[row_out(x) for x in r.rows], staff=[staff_out(s) for s in r.staff])
