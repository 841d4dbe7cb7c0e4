"""The gRPC commands of satisfaction surveys and of questions and suggestions (threads).

A mixin of FeedbackServicer (the proto's FeedbackService declares them), kept apart so the
servicer module stays about reviews and cases; bootstrap hands it its use cases with
`serve_surveys`. Answering a survey and opening a thread run under chassis.completion.finish
(they touch members and several documents): a deadline or a client hanging up stops the
waiting, not the writes.
"""

from __future__ import annotations

from typing import Any

import grpc
from regulars.feedback.v1 import feedback_pb2

from chassis.completion import finish
from services.feedback.pb_shapes import survey_pb, thread_pb
from services.feedback.service.surveys import Surveys
from services.feedback.service.threads import Threads

Context = grpc.aio.ServicerContext[Any, Any]


class SurveyCommands:
    _surveys: Surveys
    _threads: Threads

    def serve_surveys(self, surveys: Surveys, threads: Threads) -> None:
        """The use cases these commands run on (bootstrap calls it once, before serving)."""
        self._surveys = surveys
        self._threads = threads

    # Satisfaction surveys

    async def GetSurvey(
        self, request: feedback_pb2.GetSurveyRequest, context: Context
    ) -> feedback_pb2.Survey:
        found = await self._surveys.get(
            request.tenant_id, token=request.token, survey_id=request.survey_id, member_id=request.member_id
        )
        return survey_pb(found)

    async def ListSurveys(
        self, request: feedback_pb2.ListSurveysRequest, context: Context
    ) -> feedback_pb2.ListSurveysResponse:
        found = await self._surveys.list_surveys(
            request.tenant_id, request.member_id, request.store_id, request.state, request.limit
        )
        return feedback_pb2.ListSurveysResponse(surveys=[survey_pb(s) for s in found])

    async def AnswerSurvey(
        self, request: feedback_pb2.AnswerSurveyRequest, context: Context
    ) -> feedback_pb2.Survey:
        answered = await finish(
            self._surveys.answer(
                tenant_id=request.tenant_id,
                token=request.token,
                member_id=request.member_id,
                csat=request.csat,
                nps=request.nps if request.HasField("nps") else None,
                text=request.text,
                wants_call_back=request.wants_call_back,
                category=request.category,
            )
        )
        return survey_pb(answered)

    # Questions and suggestions

    async def OpenThread(
        self, request: feedback_pb2.OpenThreadRequest, context: Context
    ) -> feedback_pb2.OpenThreadResponse:
        thread, created = await finish(
            self._threads.open(
                tenant_id=request.tenant_id,
                member_id=request.member_id,
                kind=request.kind,
                text=request.text,
                store_id=request.store_id,
                request_id=request.request_id,
            )
        )
        return feedback_pb2.OpenThreadResponse(thread=thread_pb(thread), created=created)

    async def GetThread(
        self, request: feedback_pb2.GetThreadRequest, context: Context
    ) -> feedback_pb2.Thread:
        return thread_pb(await self._threads.get(request.tenant_id, request.thread_id))

    async def ListThreads(
        self, request: feedback_pb2.ListThreadsRequest, context: Context
    ) -> feedback_pb2.ListThreadsResponse:
        found = await self._threads.list_threads(
            request.tenant_id, request.member_id, request.store_id, request.state, request.kind, request.limit
        )
        return feedback_pb2.ListThreadsResponse(threads=[thread_pb(t) for t in found])

    async def PostThreadMessage(
        self, request: feedback_pb2.PostThreadMessageRequest, context: Context
    ) -> feedback_pb2.Thread:
        posted = await self._threads.post(
            request.tenant_id, request.thread_id, request.author, request.by, request.text, request.request_id
        )
        return thread_pb(posted)

    async def AssignThread(
        self, request: feedback_pb2.AssignThreadRequest, context: Context
    ) -> feedback_pb2.Thread:
        assigned = await self._threads.assign(
            request.tenant_id, request.thread_id, request.by, request.store_id, request.staff_id
        )
        return thread_pb(assigned)

    async def AdoptSuggestion(
        self, request: feedback_pb2.ThreadActionRequest, context: Context
    ) -> feedback_pb2.Thread:
        adopted = await self._threads.adopt(request.tenant_id, request.thread_id, request.by, request.note)
        return thread_pb(adopted)

    async def CloseThread(
        self, request: feedback_pb2.ThreadActionRequest, context: Context
    ) -> feedback_pb2.Thread:
        closed = await self._threads.close(
            request.tenant_id, request.thread_id, request.author, request.by, request.note
        )
        return thread_pb(closed)
