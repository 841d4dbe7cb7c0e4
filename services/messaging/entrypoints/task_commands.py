"""gRPC commands of staff tasks (a mixin of MessagingServicer); bootstrap hands it the use case
with `serve_tasks`. A listing judges "due" and "overdue" at the request's `now` when it names
one (operators, tests), else at the service's clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from regulars.common.v1 import paging_pb2
from regulars.messaging.v1 import messaging_pb2

from services.messaging.entrypoints.task_mapping import stat_pb, task_pb
from services.messaging.service.tasks import StaffTasks

Context = grpc.aio.ServicerContext[Any, Any]


def _moment(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


class TaskCommands:
    _tasks: StaffTasks

    def serve_tasks(self, tasks: StaffTasks) -> None:
        """The use case these commands run on (bootstrap calls it once, before serving)."""
        self._tasks = tasks

    async def ListStaffTasks(
        self, request: messaging_pb2.ListStaffTasksRequest, context: Context
    ) -> messaging_pb2.ListStaffTasksResponse:
        now = _moment(request.now) if request.HasField("now") else self._tasks.clock()
        found, token = await self._tasks.list(
            request.tenant_id,
            staff_id=request.staff_id,
            store_id=request.store_id,
            state=request.state,
            now=now,
            limit=request.page.page_size,
            page_token=request.page.page_token,
        )
        return messaging_pb2.ListStaffTasksResponse(
            tasks=[task_pb(t, now) for t in found], page=paging_pb2.PageResponse(next_page_token=token)
        )

    async def GetStaffTask(
        self, request: messaging_pb2.GetStaffTaskRequest, context: Context
    ) -> messaging_pb2.StaffTask:
        return task_pb(await self._tasks.get(request.tenant_id, request.task_id), self._tasks.clock())

    async def CompleteStaffTask(
        self, request: messaging_pb2.CompleteStaffTaskRequest, context: Context
    ) -> messaging_pb2.StaffTask:
        done = await self._tasks.complete(
            request.tenant_id,
            request.task_id,
            request.outcome,
            request.notes,
            request.staff_id,
            request.by_manager,
            self._tasks.clock(),
        )
        return task_pb(done)

    async def GetStaffTaskStats(
        self, request: messaging_pb2.GetStaffTaskStatsRequest, context: Context
    ) -> messaging_pb2.StaffTaskStats:
        rows = await self._tasks.stats(
            request.tenant_id,
            request.store_id,
            _moment(request.since) if request.HasField("since") else None,
            _moment(request.until) if request.HasField("until") else None,
            self._tasks.clock(),
        )
        return messaging_pb2.StaffTaskStats(
            store_id=request.store_id.strip(), staff=[stat_pb(r) for r in rows]
        )
