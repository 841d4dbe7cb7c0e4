"""The members service as coupons sees it: a segment's member ids streamed in id order, and
whether a member exists (for a member coupons' projection has not heard of yet)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from regulars.members.v1 import members_pb2, members_pb2_grpc

from chassis.errors import NotFound, Unavailable
from chassis.grpc_client import LazyStub

LOOKUP_SECONDS = 2.0  # a claim waits this long at most for members to say a member exists


class MembersClient:
    def __init__(self, address: str) -> None:
        self._stub: LazyStub[Any] = LazyStub(address, members_pb2_grpc.MembersServiceStub)

    async def segment_members(self, tenant_id: str, segment_id: str, after: str = "") -> AsyncIterator[str]:
        request = members_pb2.StreamSegmentMembersRequest(
            tenant_id=tenant_id, segment_id=segment_id, after_member_id=after
        )
        try:
            async for item in self._stub().StreamSegmentMembers(request):
                yield item.member_id
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise NotFound(exc.details() or "segment not found") from exc
            raise  # members unreachable: the caller tries again later

    async def exists(self, tenant_id: str, member_id: str) -> bool:
        request = members_pb2.GetMemberRequest(tenant_id=tenant_id, member_id=member_id)
        try:
            await self._stub().GetMember(request, timeout=LOOKUP_SECONDS)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return False
            raise Unavailable("the members service did not answer; try again") from exc
        return True

    async def close(self) -> None:
        await self._stub.close()
