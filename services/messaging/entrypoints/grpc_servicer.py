"""MessagingService over gRPC: the inbox and sending; templates, staff tasks and engagement are
mixins kept in modules of their own (template_commands, task_commands, engagement_commands)."""

from __future__ import annotations

from typing import Any

import grpc
from regulars.common.v1 import paging_pb2
from regulars.messaging.v1 import messaging_pb2, messaging_pb2_grpc

from services.messaging.domain.model import InboxMessage
from services.messaging.entrypoints.engagement_commands import EngagementCommands
from services.messaging.entrypoints.task_commands import TaskCommands
from services.messaging.entrypoints.template_commands import TemplateCommands
from services.messaging.service import handlers
from services.messaging.service.ports import InboxRepository

Context = grpc.aio.ServicerContext[Any, Any]


def to_pb(m: InboxMessage) -> messaging_pb2.InboxMessage:
    pb = messaging_pb2.InboxMessage(
        id=m.id,
        tenant_id=m.tenant_id,
        member_id=m.member_id,
        kind=m.kind,
        title=m.title,
        body=m.body,
    )
    pb.created_at.FromDatetime(m.created_at)
    return pb


class MessagingServicer(
    TemplateCommands, TaskCommands, EngagementCommands, messaging_pb2_grpc.MessagingServiceServicer
):
    def __init__(self, repo: InboxRepository) -> None:
        self._repo = repo

    async def ListInbox(
        self, request: messaging_pb2.ListInboxRequest, context: Context
    ) -> messaging_pb2.ListInboxResponse:
        items, token = await handlers.list_inbox(
            request.tenant_id,
            request.member_id,
            request.page.page_size,
            request.page.page_token,
            self._repo,
        )
        return messaging_pb2.ListInboxResponse(
            messages=[to_pb(m) for m in items],
            page=paging_pb2.PageResponse(next_page_token=token),
        )

    async def MarkInboxRead(self, request: messaging_pb2.MarkInboxReadRequest, context: Context) -> messaging_pb2.InboxMessage:
        raise NotImplementedError

    async def SendMessage(
        self, request: messaging_pb2.SendMessageRequest, context: Context
    ) -> messaging_pb2.SendMessageResponse:
        raise NotImplementedError

    async def GetMessage(self, request: messaging_pb2.GetMessageRequest, context: Context) -> messaging_pb2.Message:
        raise NotImplementedError

    async def ListMessages(
        self, request: messaging_pb2.ListMessagesRequest, context: Context
    ) -> messaging_pb2.ListMessagesResponse:
        raise NotImplementedError

    async def RecordDeliveryReceipt(
        self, request: messaging_pb2.RecordDeliveryReceiptRequest, context: Context
    ) -> messaging_pb2.Message:
        raise NotImplementedError

    async def RunDispatcher(
        self, request: messaging_pb2.RunDispatcherRequest, context: Context
    ) -> messaging_pb2.DispatcherSummary:
        raise NotImplementedError

    async def RecordWechatSubscription(
        self, request: messaging_pb2.RecordWechatSubscriptionRequest, context: Context
    ) -> messaging_pb2.WechatQuota:
        raise NotImplementedError
