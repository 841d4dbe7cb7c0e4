"""The messaging service's staff tasks as the gateway uses them. Each method is one RPC: the
request built from the route's arguments, the reply mapped back. Who completes (`staff_id`,
`by_manager`) is the route's to say from the caller; the body only for an API key."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import grpc
from regulars.common.v1 import paging_pb2
from regulars.messaging.v1 import messaging_pb2 as pb
from regulars.messaging.v1 import messaging_pb2_grpc

from gateway.clients.calls import Calls, ServiceClient
from gateway.clients.pb_time import optional_timestamp
from gateway.clients.staff_tasks_mapping import stat_out, task_out
from gateway.schemas.staff_tasks import (
    ListingName,
    OutcomeName,
    StaffTaskOut,
    StaffTaskPage,
    StaffTaskStatsOut,
)

if TYPE_CHECKING:
    Stub = messaging_pb2_grpc.MessagingServiceAsyncStub
else:  # the async stub class is in the type stubs only
    Stub = messaging_pb2_grpc.MessagingServiceStub


class StaffTasksClient(ServiceClient[Stub]):
    @classmethod
    def over(cls, channel: grpc.aio.Channel, calls: Calls) -> StaffTasksClient:
        """The client on the gateway's channel to messaging (`ServiceClients.channels["messaging"]`)."""
        return cls(messaging_pb2_grpc.MessagingServiceStub(channel), calls)

    async def list(
        self,
        tenant_id: str,
        *,
        staff_id: str = "",
        store_id: str = "",
        state: ListingName | None,
        page_size: int,
        page_token: str,
    ) -> StaffTaskPage:
        """One assistant's tasks, a store's, or an assistant's in a store; "due" and "overdue"
        as at the service's clock."""
        req = pb.ListStaffTasksRequest(
            tenant_id=tenant_id,
            staff_id=staff_id,
            store_id=store_id,
            state=state or "",
            page=paging_pb2.PageRequest(page_size=page_size, page_token=page_token),
        )
        reply = await self._call(self._stub.ListStaffTasks, req)
        return StaffTaskPage(
            items=[task_out(t) for t in reply.tasks], next_page_token=reply.page.next_page_token or None
        )

    async def get(self, tenant_id: str, task_id: str) -> StaffTaskOut:
        req = pb.GetStaffTaskRequest(tenant_id=tenant_id, task_id=task_id)
        return task_out(await self._call(self._stub.GetStaffTask, req))

    async def complete(
        self,
        tenant_id: str,
        task_id: str,
        *,
        outcome: OutcomeName,
        notes: str,
        staff_id: str,
        by_manager: bool,
    ) -> StaffTaskOut:
        req = pb.CompleteStaffTaskRequest(
            tenant_id=tenant_id,
            task_id=task_id,
            outcome=outcome,
            notes=notes,
            staff_id=staff_id,
            by_manager=by_manager,
        )
        return task_out(await self._call(self._stub.CompleteStaffTask, req))

    async def stats(
        self, tenant_id: str, store_id: str, since: datetime | None, until: datetime | None
    ) -> StaffTaskStatsOut:
        req = pb.GetStaffTaskStatsRequest(
            tenant_id=tenant_id,
            store_id=store_id,
            since=optional_timestamp(since),
            until=optional_timestamp(until),
        )
        reply = await self._call(self._stub.GetStaffTaskStats, req)
        return StaffTaskStatsOut(store_id=reply.store_id, items=[stat_out(s) for s in reply.staff])
