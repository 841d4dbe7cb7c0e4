"""gRPC commands of tracked links and the messaging report (a mixin of MessagingServicer)."""

from __future__ import annotations

from typing import Any

import grpc
from regulars.messaging.v1 import messaging_pb2

Context = grpc.aio.ServicerContext[Any, Any]


class EngagementCommands:
    async def ResolveLink(
        self, request: messaging_pb2.ResolveLinkRequest, context: Context
    ) -> messaging_pb2.ResolveLinkResponse:
        raise NotImplementedError

    async def GetMessagingReport(
        self, request: messaging_pb2.GetMessagingReportRequest, context: Context
    ) -> messaging_pb2.MessagingReport:
        raise NotImplementedError
