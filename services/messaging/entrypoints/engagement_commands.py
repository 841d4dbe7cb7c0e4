"""gRPC commands of tracked links and the messaging report (a mixin of MessagingServicer);
bootstrap hands it its use cases with `serve_engagement`."""

from __future__ import annotations

from typing import Any

import grpc
from regulars.messaging.v1 import messaging_pb2

from chassis.errors import InvalidArgument
from services.messaging.entrypoints import engagement_mapping as mapping
from services.messaging.entrypoints.engagement_mapping import StaffStats
from services.messaging.service.engagement import Engagement

Context = grpc.aio.ServicerContext[Any, Any]


class EngagementCommands:
    _engagement: Engagement
    _staff_stats: StaffStats

    def serve_engagement(self, engagement: Engagement, staff_stats: StaffStats) -> None:
        """The use cases these commands run on, and where the report's per-assistant part comes
        from (bootstrap calls it once, before serving)."""
        self._engagement = engagement
        self._staff_stats = staff_stats

    async def ResolveLink(
        self, request: messaging_pb2.ResolveLinkRequest, context: Context
    ) -> messaging_pb2.ResolveLinkResponse:
        link = await self._engagement.click(request.token, request.user_agent, self._engagement.now())
        return messaging_pb2.ResolveLinkResponse(
            url=link.url, tenant_id=link.tenant_id, message_id=link.message_id
        )

    async def GetMessagingReport(
        self, request: messaging_pb2.GetMessagingReportRequest, context: Context
    ) -> messaging_pb2.MessagingReport:
        if not request.tenant_id:
            raise InvalidArgument("tenant_id", "tenant_id is required")
        since, until = mapping.period(request)
        rows = await self._engagement.report(request.tenant_id, since, until)
        staff = await self._staff_stats(request.tenant_id, since, until)
        return mapping.report_pb(rows, staff)
