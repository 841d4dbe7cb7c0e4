"""The members service as coupons sees it: a segment's member ids, streamed in id order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from regulars.members.v1 import members_pb2, members_pb2_grpc


class MembersClient:
    def __init__(self, address: str) -> None:
        self._address = address
        self._channel: grpc.aio.Channel | None = None

    def _stub(self) -> Any:
        if self._channel is None:  # opened on first use, inside the service's event loop
            self._channel = grpc.aio.insecure_channel(self._address)
        return members_pb2_grpc.MembersServiceStub(self._channel)

    async def segment_members(self, tenant_id: str, segment_id: str, after: str = "") -> AsyncIterator[str]:
        request = members_pb2.StreamSegmentMembersRequest(
            tenant_id=tenant_id, segment_id=segment_id, after_member_id=after
        )
        async for item in self._stub().StreamSegmentMembers(request):
            yield item.member_id

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
