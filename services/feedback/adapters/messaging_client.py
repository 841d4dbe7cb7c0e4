"""The messaging service as feedback sees it: the messages the platform sent a member, for an
evidence pack (ListMessages by member, every page up to evidence.MESSAGES_MAX). Transport
errors become domain errors here: messaging not answering is Unavailable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc
from regulars.common.v1 import paging_pb2
from regulars.messaging.v1 import messaging_pb2, messaging_pb2_grpc

from chassis.errors import Unavailable
from chassis.grpc_client import LazyStub
from services.feedback.domain.evidence import MESSAGES_MAX, SentMessage

CALL_SECONDS = 3.0
PAGE_SIZE = 200


def _at(m: Any, name: str) -> datetime | None:
    return getattr(m, name).ToDatetime(tzinfo=UTC) if m.HasField(name) else None


def _sent(m: Any) -> SentMessage:
    return SentMessage(
        id=m.id,
        template_id=m.template_id,
        message_class=m.message_class,
        channel=m.channel,
        state=m.state,
        source=m.source,
        store_id=m.store_id,
        staff_id=m.staff_id,
        created_at=_at(m, "created_at"),
        sent_at=_at(m, "sent_at"),
        reason=m.reason,
    )


class MessagingClient:
    def __init__(self, address: str) -> None:
        self._stub: LazyStub[Any] = LazyStub(address, messaging_pb2_grpc.MessagingServiceStub)

    async def sent_to(self, tenant_id: str, member_id: str) -> tuple[list[SentMessage], bool]:
        """(the member's messages, newest first as messaging lists them, whether there were more
        than MESSAGES_MAX). Unavailable when messaging does not answer a page."""
        found: list[SentMessage] = []
        token = ""
        while True:
            request = messaging_pb2.ListMessagesRequest(
                tenant_id=tenant_id,
                member_id=member_id,
                page=paging_pb2.PageRequest(page_size=PAGE_SIZE, page_token=token),
            )
            try:
                reply = await self._stub().ListMessages(request, timeout=CALL_SECONDS)
            except grpc.aio.AioRpcError as exc:
                raise Unavailable(f"messaging did not answer ({exc.code().name})") from exc
            found.extend(_sent(m) for m in reply.messages)
            token = reply.page.next_page_token
            if not token:
                return found, False
            if len(found) >= MESSAGES_MAX:
                return found[:MESSAGES_MAX], True

    async def close(self) -> None:
        await self._stub.close()
