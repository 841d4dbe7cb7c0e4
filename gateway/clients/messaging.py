"""The messaging service as the gateway uses it: a member's in-app inbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from regulars.common.v1 import paging_pb2
from regulars.messaging.v1 import messaging_pb2 as pb
from regulars.messaging.v1 import messaging_pb2_grpc

from gateway.clients.calls import ServiceClient
from gateway.clients.pb_time import moment
from gateway.schemas.members import InboxMessageOut, InboxPage

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
            items=[
                InboxMessageOut(
                    id=m.id, kind=m.kind, title=m.title, body=m.body, created_at=moment(m.created_at)
                )
                for m in reply.messages
            ],
            next_page_token=reply.page.next_page_token or None,
        )
