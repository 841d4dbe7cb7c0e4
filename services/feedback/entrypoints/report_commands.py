"""The report commands: the feedback report and the review distribution of whole months.

A mixin of FeedbackServicer (the proto's FeedbackService declares them), kept apart so the
servicer module stays about reviews and cases. The servicer is given `reports` (a Reports).
"""

from __future__ import annotations

from typing import Any

import grpc
from regulars.feedback.v1 import feedback_pb2

from services.feedback.entrypoints import report_mapping as mapping
from services.feedback.service.reports import Reports

Context = grpc.aio.ServicerContext[Any, Any]


class ReportCommands:
    _reports: Reports

    async def GetFeedbackReport(
        self, request: feedback_pb2.GetFeedbackReportRequest, context: Context
    ) -> feedback_pb2.FeedbackReport:
        report = await self._reports.feedback_report(
            request.tenant_id, request.from_month, request.to_month, request.group_by, request.store_id
        )
        return mapping.report_pb(request.tenant_id, report)

    async def GetReviewDistribution(
        self, request: feedback_pb2.GetReviewDistributionRequest, context: Context
    ) -> feedback_pb2.ReviewDistribution:
        period, months = await self._reports.review_distribution(
            request.tenant_id, request.from_month, request.to_month, request.store_id
        )
        return mapping.distribution_pb(request.tenant_id, request.store_id.strip(), period, months)
