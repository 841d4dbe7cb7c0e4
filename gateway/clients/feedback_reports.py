"""The feedback service's reports as the gateway uses them: the feedback report and the review
distribution of whole months. Each method is one RPC, with a longer deadline than a point read:
a report reads a period's cases and reviews and groups its purchases."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
from regulars.feedback.v1 import feedback_pb2 as pb
from regulars.feedback.v1 import feedback_pb2_grpc

from gateway.clients.calls import Calls, ServiceClient
from gateway.clients.feedback_reports_mapping import distribution_out, report_out
from gateway.schemas.feedback_reports import FeedbackReportOut, GroupByName, ReviewDistributionOut

REPORT_DEADLINES = 5  # times the gateway's ordinary deadline

if TYPE_CHECKING:
    Stub = feedback_pb2_grpc.FeedbackServiceAsyncStub
else:  # the async stub class is in the type stubs only
    Stub = feedback_pb2_grpc.FeedbackServiceStub


class FeedbackReportsClient(ServiceClient[Stub]):
    @classmethod
    def over(cls, channel: grpc.aio.Channel, calls: Calls) -> FeedbackReportsClient:
        """The client on the gateway's channel to feedback (`ServiceClients.channels["feedback"]`)."""
        return cls(feedback_pb2_grpc.FeedbackServiceStub(channel), calls)

    def _deadline(self) -> float:
        return self._call.timeout * REPORT_DEADLINES

    async def report(
        self, tenant_id: str, from_month: str, to_month: str, group_by: GroupByName, store_id: str
    ) -> FeedbackReportOut:
        req = pb.GetFeedbackReportRequest(
            tenant_id=tenant_id,
            from_month=from_month,
            to_month=to_month,
            group_by=group_by,
            store_id=store_id,
        )
        reply = await self._call(self._stub.GetFeedbackReport, req, deadline_seconds=self._deadline())
        return report_out(reply, group_by)

    async def review_distribution(
        self, tenant_id: str, from_month: str, to_month: str, store_id: str
    ) -> ReviewDistributionOut:
        req = pb.GetReviewDistributionRequest(
            tenant_id=tenant_id, from_month=from_month, to_month=to_month, store_id=store_id
        )
        reply = await self._call(self._stub.GetReviewDistribution, req, deadline_seconds=self._deadline())
        return distribution_out(reply)
