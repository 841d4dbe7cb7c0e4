"""The messaging service as the gateway uses it: a member's in-app inbox, sending one message,
reading messages back, delivery receipts and WeChat subscriptions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from regulars.common.v1 import paging_pb2
from regulars.messaging.v1 import messaging_pb2 as pb
from regulars.messaging.v1 import messaging_pb2_grpc

from gateway.clients.calls import ServiceClient
from gateway.clients.messages_mapping import inbox_out, message_out
from gateway.clients.pb_time import optional_timestamp
from gateway.schemas.members import InboxMessageOut, InboxPage
from gateway.schemas.messages import (
    MessageOut,
    MessagePage,
    ReceiptBody,
    SendMessageBody,
    WechatQuotaOut,
    WechatSubscriptionBody,
)

if TYPE_CHECKING:
    Stub = messaging_pb2_grpc.MessagingServiceAsyncStub
else:  # the async stub class is in the type stubs only
    Stub = messaging_pb2_grpc.MessagingServiceStub


class MessagingClient(ServiceClient[Stub]):
    async def inbox(self, tenant_id: str, member_id: str, page_size: int, page_token: str) -> InboxPage:
        req = pb.ListInboxRequest(
            tenant_id=tenant_id,
            member_id=member_id,
            page=paging_pb2.PageRequest(page_size=page_size, page_token=page_token),
        )
        reply = await self._call(self._stub.ListInbox, req)
        return InboxPage(
            items=[inbox_out(m) for m in reply.messages], next_page_token=reply.page.next_page_token or None
        )

    async def mark_read(self, tenant_id: str, member_id: str, inbox_message_id: str) -> InboxMessageOut:
        req = pb.MarkInboxReadRequest(
            tenant_id=tenant_id, member_id=member_id, inbox_message_id=inbox_message_id
        )
        return inbox_out(await self._call(self._stub.MarkInboxRead, req))

    async def send(self, tenant_id: str, body: SendMessageBody, source: str) -> tuple[MessageOut, bool]:
        req = pb.SendMessageRequest(
            tenant_id=tenant_id,
            member_id=body.member_id,
            message_key=body.message_key,
            template_id=body.template_id,
            variables=body.variables,
            channels=body.channels,
            not_before=optional_timestamp(body.not_before),
            source=source,
            store_id=body.store_id,
            staff_id=body.staff_id,
            to_store=body.to_store,
        )
        reply = await self._call(self._stub.SendMessage, req)
        return message_out(reply.message), reply.created

    async def get(self, tenant_id: str, message_id: str) -> MessageOut:
        req = pb.GetMessageRequest(tenant_id=tenant_id, message_id=message_id)
        return message_out(await self._call(self._stub.GetMessage, req))

    async def list(
        self, tenant_id: str, member_id: str, template_id: str, page_size: int, page_token: str
    ) -> MessagePage:
        req = pb.ListMessagesRequest(
            tenant_id=tenant_id,
            member_id=member_id,
            template_id=template_id,
            page=paging_pb2.PageRequest(page_size=page_size, page_token=page_token),
        )
        reply = await self._call(self._stub.ListMessages, req)
        return MessagePage(
            items=[message_out(m) for m in reply.messages], next_page_token=reply.page.next_page_token or None
        )

    async def receipt(self, tenant_id: str, message_id: str, body: ReceiptBody) -> MessageOut:
        req = pb.RecordDeliveryReceiptRequest(
            tenant_id=tenant_id,
            message_id=message_id,
            status=body.status,
            reason=body.reason,
            provider_message_id=body.provider_message_id,
        )
        return message_out(await self._call(self._stub.RecordDeliveryReceipt, req))

    async def subscribe(self, tenant_id: str, member_id: str, body: WechatSubscriptionBody) -> WechatQuotaOut:
        req = pb.RecordWechatSubscriptionRequest(
            tenant_id=tenant_id,
            member_id=member_id,
            provider_template_id=body.provider_template_id,
            openid=body.openid,
            grant_id=body.grant_id,
        )
        q = await self._call(self._stub.RecordWechatSubscription, req)
        return WechatQuotaOut(
            member_id=q.member_id, provider_template_id=q.provider_template_id, remaining=q.remaining
        )
