"""gRPC commands of staff tasks (a mixin of MessagingServicer)."""

from __future__ import annotations

from typing import Any

import grpc
from regulars.messaging.v1 import messaging_pb2

Context = grpc.aio.ServicerContext[Any, Any]


class TaskCommands:
    async def ListStaffTasks(
        self, request: messaging_pb2.ListStaffTasksRequest, context: Context
    ) -> messaging_pb2.ListStaffTasksResponse:
        raise NotImplementedError

    async def GetStaffTask(
        self, request: messaging_pb2.GetStaffTaskRequest, context: Context
    ) -> messaging_pb2.StaffTask:
        raise NotImplementedError

    async def CompleteStaffTask(
        self, request: messaging_pb2.CompleteStaffTaskRequest, context: Context
    ) -> messaging_pb2.StaffTask:
        raise NotImplementedError

    async def GetStaffTaskStats(
        self, request: messaging_pb2.GetStaffTaskStatsRequest, context: Context
    ) -> messaging_pb2.StaffTaskStats:
        raise NotImplementedError
