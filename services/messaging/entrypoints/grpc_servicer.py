"""MessagingService over gRPC: the inbox and sending; templates, staff tasks and engagement are
mixins kept in modules of their own (template_commands, task_commands, engagement_commands).

SendMessage runs under chassis.completion.finish: a deadline or a client hanging up stops the
waiting, not the step, which completes and is recorded (and a retry with the same key reads it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import grpc
from regulars.common.v1 import paging_pb2
from regulars.messaging.v1 import messaging_pb2, messaging_pb2_grpc

from chassis.completion import finish
from chassis.errors import InvalidArgument, NotFound
from services.messaging.domain.model import InboxMessage
from services.messaging.entrypoints.engagement_commands import EngagementCommands
from services.messaging.entrypoints.task_commands import TaskCommands
from services.messaging.entrypoints.template_commands import TemplateCommands
from services.messaging.pb_shapes import message_pb, stamp
from services.messaging.service import handlers
from services.messaging.service.dispatch import Dispatcher
from services.messaging.service.ports import InboxRepository, WechatQuotas
from services.messaging.service.sending import Sending, SendRequest

Context = grpc.aio.ServicerContext[Any, Any]


class InboxReads(Protocol):
    async def inbox_read(self, tenant_id: str, message_id: str, member_id: str, now: datetime) -> object: ...


def to_pb(m: InboxMessage) -> messaging_pb2.InboxMessage:
    return messaging_pb2.InboxMessage(
        id=m.id,
        tenant_id=m.tenant_id,
        member_id=m.member_id,
        kind=m.kind,
        title=m.title,
        body=m.body,
        created_at=stamp(m.created_at),
        read_at=stamp(m.read_at),
        message_id=m.message_id,
    )


def _at(ts: Any) -> datetime | None:
    return ts.ToDatetime(tzinfo=UTC) if ts.seconds or ts.nanos else None


class MessagingServicer(
    TemplateCommands, TaskCommands, EngagementCommands, messaging_pb2_grpc.MessagingServiceServicer
):
    def __init__(
        self,
        repo: InboxRepository,
        *,
        sending: Sending,
        dispatcher: Dispatcher,
        quotas: WechatQuotas,
        reads: InboxReads,
        clock: Callable[[], datetime],
    ) -> None:
        self._repo = repo
        self._sending = sending
        self._dispatcher = dispatcher
        self._quotas = quotas
        self._reads = reads
        self._clock = clock

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

    async def MarkInboxRead(
        self, request: messaging_pb2.MarkInboxReadRequest, context: Context
    ) -> messaging_pb2.InboxMessage:
        for name in ("tenant_id", "member_id", "inbox_message_id"):
            if not getattr(request, name):
                raise InvalidArgument(name, f"{name} is required")
        now = self._clock()
        found = await self._repo.mark_read(
            request.tenant_id, request.member_id, request.inbox_message_id, now
        )
        if found is None:
            raise NotFound(f"inbox message {request.inbox_message_id} not found")
        item, _ = found
        if item.message_id:  # engagement counts a read once per message, however often marked
            await self._reads.inbox_read(item.tenant_id, item.message_id, item.member_id, item.read_at or now)
        return to_pb(item)

    async def SendMessage(
        self, request: messaging_pb2.SendMessageRequest, context: Context
    ) -> messaging_pb2.SendMessageResponse:
        req = SendRequest(
            tenant_id=request.tenant_id,
            member_id=request.member_id,
            message_key=request.message_key,
            template_id=request.template_id,
            variables=dict(request.variables),
            channels=list(request.channels),
            not_before=_at(request.not_before) if request.HasField("not_before") else None,
            source=request.source,
            store_id=request.store_id,
            staff_id=request.staff_id,
            to_store=request.to_store,
        )
        message, created = await finish(self._sending.send(req))
        return messaging_pb2.SendMessageResponse(message=message_pb(message), created=created)

    async def GetMessage(
        self, request: messaging_pb2.GetMessageRequest, context: Context
    ) -> messaging_pb2.Message:
        return message_pb(await self._sending.get(request.tenant_id, request.message_id))

    async def ListMessages(
        self, request: messaging_pb2.ListMessagesRequest, context: Context
    ) -> messaging_pb2.ListMessagesResponse:
        items, token = await self._sending.list(
            request.tenant_id,
            request.member_id,
            request.template_id,
            request.page.page_size,
            request.page.page_token,
        )
        return messaging_pb2.ListMessagesResponse(
            messages=[message_pb(m) for m in items], page=paging_pb2.PageResponse(next_page_token=token)
        )

    async def RecordDeliveryReceipt(
        self, request: messaging_pb2.RecordDeliveryReceiptRequest, context: Context
    ) -> messaging_pb2.Message:
        after = await finish(
            self._sending.receipt(request.tenant_id, request.message_id, request.status, request.reason)
        )
        return message_pb(after)

    async def RunDispatcher(
        self, request: messaging_pb2.RunDispatcherRequest, context: Context
    ) -> messaging_pb2.DispatcherSummary:
        if request.limit < 0:
            raise InvalidArgument("limit", "limit must not be negative")
        now = _at(request.now) or self._clock()
        s = await finish(self._dispatcher.run(now, request.limit or 200))
        return messaging_pb2.DispatcherSummary(
            sent=s.sent,
            failed=s.failed,
            deferred=s.deferred,
            capped=s.capped,
            skipped=s.skipped,
            retried=s.retried,
        )

    async def RecordWechatSubscription(
        self, request: messaging_pb2.RecordWechatSubscriptionRequest, context: Context
    ) -> messaging_pb2.WechatQuota:
        for name in ("tenant_id", "member_id", "provider_template_id", "openid", "grant_id"):
            if not getattr(request, name):
                raise InvalidArgument(name, f"{name} is required")
        if await self._dispatcher.contact(request.tenant_id, request.member_id) is None:
            raise NotFound(f"member {request.member_id} not found")
        remaining = await self._quotas.grant(
            request.tenant_id,
            request.member_id,
            request.provider_template_id,
            request.openid,
            request.grant_id,
        )
        return messaging_pb2.WechatQuota(
            member_id=request.member_id,
            provider_template_id=request.provider_template_id,
            remaining=remaining,
        )
