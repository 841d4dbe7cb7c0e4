"""Requests and replies of the engagement commands: the report's period from protobuf, its rows
and the assistants' attributed revenue to protobuf."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from regulars.common.v1 import money_pb2
from regulars.messaging.v1 import messaging_pb2

from services.messaging.domain.reports import Row
from services.messaging.service.engagement import Engagement

# (tenant, since, until) -> per assistant: tasks and attributed revenue (GetMessagingReport's `staff`).
StaffStats = Callable[[str, datetime | None, datetime | None], Awaitable[list[messaging_pb2.StaffTaskStat]]]


def period(request: messaging_pb2.GetMessagingReportRequest) -> tuple[datetime | None, datetime | None]:
    """[since, until) as asked; an unset end is open."""
    since = request.since.ToDatetime(tzinfo=UTC) if request.HasField("since") else None
    until = request.until.ToDatetime(tzinfo=UTC) if request.HasField("until") else None
    return since, until


def money(amount_minor: int, currency: str) -> money_pb2.Money:
    return money_pb2.Money(currency=currency, minor_units=amount_minor)


def row_pb(r: Row) -> messaging_pb2.TemplateChannelRow:
    return messaging_pb2.TemplateChannelRow(
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
        revenue=money(r.revenue_minor, r.currency),
    )


def report_pb(rows: list[Row], staff: list[messaging_pb2.StaffTaskStat]) -> messaging_pb2.MessagingReport:
    return messaging_pb2.MessagingReport(rows=[row_pb(r) for r in rows], staff=staff)


def revenue_stats(engagement: Engagement) -> StaffStats:
    """The assistants' part of the report from attribution alone (conversions and revenue of the
    messages that spoke for each, every store): what the report says before the staff-task stats,
    which add tasks done and on time, are wired in its place."""

    async def stats(
        tenant_id: str, since: datetime | None, until: datetime | None
    ) -> list[messaging_pb2.StaffTaskStat]:
        by_staff = await engagement.revenue_by_staff(tenant_id, "", since, until)
        return [
            messaging_pb2.StaffTaskStat(
                staff_id=staff_id, conversions=conversions, attributed_revenue=money(revenue, currency)
            )
            for staff_id, (conversions, revenue, currency) in by_staff.items()
        ]

    return stats
