"""The messaging report: per template and channel, the messages requested in a period and what
came of them (sent, deferred, capped, failed, skipped, clicked, converted, revenue), and per
assistant the tasks done and the revenue attributed. Thin over gRPC `GetMessagingReport`.
Scope `messages:admin`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gateway.deps import EngagementDep, require
from gateway.identity import Caller
from gateway.schemas.common import UtcTimestamp
from gateway.schemas.messaging_reports import MessagingReportOut
from gateway.schemas.problems import responses

router = APIRouter(prefix="/v1", tags=["messaging"])

AdminMessages = Annotated[Caller, Depends(require("messages:admin"))]


@router.get(
    "/messaging-reports",
    summary="Messaging report by template and channel",
    description=(
        "The messages requested in [`since`, `until`) (either end may be left open), one row per "
        "template and channel: how many were requested, sent (or delivered), deferred by quiet hours, "
        "capped, failed and skipped; how many were clicked (a tracked link tapped or read in the "
        "inbox) and converted (a purchase or a claimed coupon attributed to them, within the tenant's "
        "attribution window), and the revenue attributed. `staff`: per assistant, tasks open, overdue "
        "and done (on time) and the conversions and revenue of the messages that spoke for them. "
        "`until` not after `since` is a 400. Scope `messages:admin`."
    ),
    responses=responses(400, 401, 403, 409, 422, 429, 503),
)
async def get_messaging_report(
    caller: AdminMessages,
    engagement: EngagementDep,
    since: Annotated[
        UtcTimestamp | None, Query(description="Requested at or after (ISO 8601 with a zone)")
    ] = None,
    until: Annotated[
        UtcTimestamp | None, Query(description="Requested before (ISO 8601 with a zone)")
    ] = None,
) -> MessagingReportOut:
    return await engagement.report(caller.tenant_id, since, until)
