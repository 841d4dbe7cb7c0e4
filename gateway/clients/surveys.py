"""The feedback service's satisfaction surveys and threads (questions and suggestions) as the
gateway uses them. Each method is one RPC: the request built from a schema, the reply mapped
back. Who acts (`by`) and as whom (`author`) are the route's to say, never the body's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
from regulars.feedback.v1 import feedback_pb2 as pb
from regulars.feedback.v1 import feedback_pb2_grpc

from gateway.clients.calls import Calls, ServiceClient
from gateway.clients.surveys_mapping import survey_out, thread_out
from gateway.schemas.surveys import (
    AnswerSurveyBody,
    OpenThreadBody,
    SurveyOut,
    SurveyStateName,
    ThreadKindName,
    ThreadOut,
    ThreadStateName,
)

# An answer may open a case (members is asked about the member) and credit points in members.
SLOW = 3

if TYPE_CHECKING:
    Stub = feedback_pb2_grpc.FeedbackServiceAsyncStub
else:  # the async stub class is in the type stubs only
    Stub = feedback_pb2_grpc.FeedbackServiceStub


class SurveysClient(ServiceClient[Stub]):
    @classmethod
    def over(cls, channel: grpc.aio.Channel, calls: Calls) -> SurveysClient:
        """The client on the gateway's channel to feedback (`ServiceClients.channels["feedback"]`)."""
        return cls(feedback_pb2_grpc.FeedbackServiceStub(channel), calls)

    # --- Surveys -------------------------------------------------------------------------------

    async def get_survey(self, tenant_id: str, token: str, member_id: str) -> SurveyOut:
        """By its link's token; with `member_id`, that member's only (another's: 404)."""
        req = pb.GetSurveyRequest(tenant_id=tenant_id, token=token, member_id=member_id)
        return survey_out(await self._call(self._stub.GetSurvey, req))

    async def list_surveys(
        self, tenant_id: str, *, member_id: str, store_id: str, state: SurveyStateName | None, limit: int
    ) -> list[SurveyOut]:
        req = pb.ListSurveysRequest(
            tenant_id=tenant_id, member_id=member_id, store_id=store_id, state=state or "", limit=limit
        )
        reply = await self._call(self._stub.ListSurveys, req)
        return [survey_out(s) for s in reply.surveys]

    async def answer_survey(
        self, tenant_id: str, token: str, member_id: str, body: AnswerSurveyBody
    ) -> SurveyOut:
        req = pb.AnswerSurveyRequest(
            tenant_id=tenant_id,
            token=token,
            member_id=member_id,
            csat=body.csat,
            nps=body.nps,
            text=body.text,
            wants_call_back=body.wants_call_back,
            category=body.category or "",
        )
        return survey_out(
            await self._call(self._stub.AnswerSurvey, req, deadline_seconds=self._call.timeout * SLOW)
        )

    # --- Threads -------------------------------------------------------------------------------

    async def open_thread(
        self, tenant_id: str, member_id: str, body: OpenThreadBody
    ) -> tuple[ThreadOut, bool]:
        """The thread, and whether this opened it (False: a retry with the same request_id)."""
        req = pb.OpenThreadRequest(
            tenant_id=tenant_id,
            member_id=member_id,
            kind=body.kind,
            text=body.text,
            store_id=body.store_id,
            request_id=body.request_id,
        )
        reply = await self._call(self._stub.OpenThread, req)
        return thread_out(reply.thread), reply.created

    async def get_thread(self, tenant_id: str, thread_id: str) -> ThreadOut:
        req = pb.GetThreadRequest(tenant_id=tenant_id, thread_id=thread_id)
        return thread_out(await self._call(self._stub.GetThread, req))

    async def list_threads(
        self,
        tenant_id: str,
        *,
        member_id: str,
        store_id: str,
        state: ThreadStateName | None,
        kind: ThreadKindName | None,
        limit: int,
    ) -> list[ThreadOut]:
        req = pb.ListThreadsRequest(
            tenant_id=tenant_id,
            member_id=member_id,
            store_id=store_id,
            state=state or "",
            kind=kind or "",
            limit=limit,
        )
        reply = await self._call(self._stub.ListThreads, req)
        return [thread_out(t) for t in reply.threads]

    async def post_message(
        self, tenant_id: str, thread_id: str, author: str, by: str, text: str, request_id: str
    ) -> ThreadOut:
        req = pb.PostThreadMessageRequest(
            tenant_id=tenant_id, thread_id=thread_id, author=author, by=by, text=text, request_id=request_id
        )
        return thread_out(await self._call(self._stub.PostThreadMessage, req))

    async def assign_thread(
        self, tenant_id: str, thread_id: str, by: str, store_id: str, staff_id: str
    ) -> ThreadOut:
        req = pb.AssignThreadRequest(
            tenant_id=tenant_id, thread_id=thread_id, by=by, store_id=store_id, staff_id=staff_id
        )
        return thread_out(await self._call(self._stub.AssignThread, req))

    async def adopt(self, tenant_id: str, thread_id: str, by: str, note: str) -> ThreadOut:
        req = pb.ThreadActionRequest(
            tenant_id=tenant_id, thread_id=thread_id, author="staff", by=by, note=note
        )
        return thread_out(await self._call(self._stub.AdoptSuggestion, req))

    async def close_thread(
        self, tenant_id: str, thread_id: str, author: str, by: str, note: str
    ) -> ThreadOut:
        req = pb.ThreadActionRequest(
            tenant_id=tenant_id, thread_id=thread_id, author=author, by=by, note=note
        )
        return thread_out(await self._call(self._stub.CloseThread, req))
