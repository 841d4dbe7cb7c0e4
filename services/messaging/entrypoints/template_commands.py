"""gRPC commands of templates and the messaging policy (a mixin of MessagingServicer)."""

from __future__ import annotations

from typing import Any

import grpc
from regulars.messaging.v1 import messaging_pb2

Context = grpc.aio.ServicerContext[Any, Any]


class TemplateCommands:
    async def SaveTemplate(
        self, request: messaging_pb2.SaveTemplateRequest, context: Context
    ) -> messaging_pb2.Template:
        raise NotImplementedError

    async def GetTemplate(
        self, request: messaging_pb2.GetTemplateRequest, context: Context
    ) -> messaging_pb2.Template:
        raise NotImplementedError

    async def ListTemplates(
        self, request: messaging_pb2.ListTemplatesRequest, context: Context
    ) -> messaging_pb2.ListTemplatesResponse:
        raise NotImplementedError

    async def GetMessagingPolicy(
        self, request: messaging_pb2.GetMessagingPolicyRequest, context: Context
    ) -> messaging_pb2.MessagingPolicy:
        raise NotImplementedError

    async def UpdateMessagingPolicy(
        self, request: messaging_pb2.UpdateMessagingPolicyRequest, context: Context
    ) -> messaging_pb2.MessagingPolicy:
        raise NotImplementedError
