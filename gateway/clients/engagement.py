"""The messaging service's tracked links and report as the gateway uses them. Each method is
one RPC; the report gets a longer deadline than a point read (it reads a period's messages)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import grpc
from regulars.messaging.v1 import messaging_pb2 as pb
from regulars.messaging.v1 import messaging_pb2_grpc

from gateway.clients.calls import Calls, ServiceClient
from gateway.clients.engagement_mapping import report_out
from gateway.clients.pb_time import optional_timestamp
from gateway.schemas.messaging_reports import MessagingReportOut

REPORT_DEADLINES = 5  # times the gateway's ordinary deadline

if TYPE_CHECKING:
    Stub = messaging_pb2_grpc.MessagingServiceAsyncStub
else:  # the async stub class is in the type stubs only
    Stub = messaging_pb2_grpc.MessagingServiceStub


class EngagementClient(ServiceClient[Stub]):
    @classmethod
    def over(cls, channel: grpc.aio.Channel, calls: Calls) -> EngagementClient:
        """The client on the gateway's channel to messaging (`ServiceClients.channels["messaging"]`)."""
        return cls(messaging_pb2_grpc.MessagingServiceStub(channel), calls)

    async def resolve(self, token: str, user_agent: str) -> str:
        """Where the link's token leads (the tap recorded); a problem 404 for an unknown token."""
        reply = await self._call(
            self._stub.ResolveLink, pb.ResolveLinkRequest(token=token, user_agent=user_agent)
        )
        return reply.url

    async def report(
        self, tenant_id: str, since: datetime | None, until: datetime | None
    ) -> MessagingReportOut:
        req = pb.GetMessagingReportRequest(
            tenant_id=tenant_id, since=optional_timestamp(since), until=optional_timestamp(until)
        )
        reply = await self._call(
            self._stub.GetMessagingReport, req, deadline_seconds=self._call.timeout * REPORT_DEADLINES
        )
        return report_out(reply)
