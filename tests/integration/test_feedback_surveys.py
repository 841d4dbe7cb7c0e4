"""Satisfaction surveys and questions and suggestions against real FerretDB and Kafka, with
members and coupons beside feedback: a purchase recorded in members schedules one survey
(however often purchase_made arrives), the clock announces it due once, a CSAT 1 answer opens
one case, announces survey_answered once and credits its points once in members; a thread
answered before its SLA is not reported, one left unanswered is reported once, and a suggestion
is adopted once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from regulars.feedback.v1 import events_pb2, feedback_pb2
from regulars.members.v1 import members_pb2
from ulid import ULID

from chassis.cloudevents import Envelope
from chassis.kafka import EventPublisher
from devstack.processes import Stack
from tests.integration.test_feedback import Apis, a_member, feedback_events
from tests.kafka_tools import header, read_all
from tests.support import eventually

MEMBERS_TOPIC = "regulars.members.v1"
SURVEY_POINTS = 25


def stamp(at: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(at)
    return out


async def members_events(stack: Stack, tenant: str, ce_type: str) -> list[Any]:
    topic = f"{stack.namespace}{MEMBERS_TOPIC}"

    def probe() -> list[Any] | None:
        records = asyncio.run(read_all(stack.kafka_bootstrap_servers, topic, settle_seconds=1.5))
        mine = [r for r in records if header(r, "ce_type") == ce_type and header(r, "ce_tenantid") == tenant]
        return mine or None

    return await asyncio.to_thread(eventually, probe)


async def surveys_of(apis: Apis, tenant: str, member: str) -> list[feedback_pb2.Survey]:
    reply = await apis.feedback.ListSurveys(
        feedback_pb2.ListSurveysRequest(tenant_id=tenant, member_id=member)
    )
    return list(reply.surveys)


async def poll(probe: Any, attempts: int = 100) -> Any:
    """`await probe()` until it answers something (every 0.3 s, `attempts` times at most)."""
    for _ in range(attempts):
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.3)
    raise AssertionError("nothing came")


async def test_a_purchase_gets_one_survey_due_once_and_a_low_answer_one_case_and_its_points_once(
    feedback_stack: Stack,
) -> None:
    tenant = f"jeweller-{ULID()}"
    apis = Apis(feedback_stack)
    try:
        policy = await apis.feedback.GetFeedbackPolicy(
            feedback_pb2.GetFeedbackPolicyRequest(tenant_id=tenant)
        )
        policy.survey_points = SURVEY_POINTS
        await apis.feedback.UpdateFeedbackPolicy(feedback_pb2.UpdateFeedbackPolicyRequest(policy=policy))
        member = await a_member(apis, tenant, "+8613900004001")
        bought = datetime.now(UTC).replace(microsecond=0)
        line = members_pb2.PurchaseLine(sku="RING-1", quantity=1, list_price=50_000, paid_price=50_000)
        recorded = await apis.members.RecordPurchase(
            members_pb2.RecordPurchaseRequest(
                tenant_id=tenant,
                member_id=member,
                store_id="sh-01",
                receipt_no="R-2001",
                currency="CNY",
                occurred_at=stamp(bought),
                lines=[line],
            )
        )
        purchase = recorded.purchase

        found = await poll(lambda: surveys_of(apis, tenant, member))
        assert [(s.purchase_id, s.state, s.store_id) for s in found] == [(purchase.id, "scheduled", "sh-01")]
        [survey] = found
        assert survey.due_at.ToDatetime(tzinfo=UTC) == bought + timedelta(days=3)  # the default delay

        # purchase_made delivered twice more: still one survey.
        [made] = await members_events(feedback_stack, tenant, "regulars.members.v1.purchase_made")
        publisher = EventPublisher(feedback_stack.kafka_bootstrap_servers)
        await publisher.start()
        try:
            envelope = Envelope.from_record(made.headers, made.value)
            topic = f"{feedback_stack.namespace}{MEMBERS_TOPIC}"
            await publisher.publish_many([(topic, envelope), (topic, envelope)])
        finally:
            await publisher.stop()
        await asyncio.sleep(3)  # let the consumer handle both copies
        assert [s.id for s in await surveys_of(apis, tenant, member)] == [survey.id]

        early = await apis.feedback.RunCaseClock(
            feedback_pb2.RunCaseClockRequest(at=stamp(bought + timedelta(days=2)))
        )
        later = bought + timedelta(days=3, minutes=1)
        first = await apis.feedback.RunCaseClock(feedback_pb2.RunCaseClockRequest(at=stamp(later)))
        second = await apis.feedback.RunCaseClock(feedback_pb2.RunCaseClockRequest(at=stamp(later)))
        due = await feedback_events(feedback_stack, tenant, "regulars.feedback.v1.survey_due", 1)
        token = events_pb2.SurveyDue.FromString(due[0].value).survey.token  # what messaging delivers

        answer = feedback_pb2.AnswerSurveyRequest(
            tenant_id=tenant, token=token, member_id=member, csat=1, nps=2, text="The ring scratched at once."
        )
        answered = await apis.feedback.AnswerSurvey(answer)
        again = await apis.feedback.AnswerSurvey(answer)  # the mini-program retries
        with pytest.raises(grpc.aio.AioRpcError) as changed:
            await apis.feedback.AnswerSurvey(
                feedback_pb2.AnswerSurveyRequest(tenant_id=tenant, token=token, member_id=member, csat=5)
            )
        with pytest.raises(grpc.aio.AioRpcError) as other:
            await apis.feedback.GetSurvey(
                feedback_pb2.GetSurveyRequest(tenant_id=tenant, token=token, member_id="someone-else")
            )
        cases = await apis.feedback.ListCases(
            feedback_pb2.ListCasesRequest(tenant_id=tenant, member_id=member)
        )
        await asyncio.sleep(2)  # let feedback consume its own survey_answered (finishing nothing more)
        points = await apis.members.GetPoints(
            members_pb2.GetPointsRequest(tenant_id=tenant, member_id=member)
        )
    finally:
        await apis.close()

    assert (early.surveys_due, first.surveys_due, second.surveys_due) == (0, 1, 0)
    assert len(due) == 1
    assert answered.state == "answered"
    assert (answered.answer.csat, answered.answer.nps, answered.points) == (1, 2, SURVEY_POINTS)
    assert again == answered
    assert changed.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert other.value.code() == grpc.StatusCode.NOT_FOUND
    assert [(c.id, c.source, c.survey_id, c.severity, c.store_id) for c in cases.cases] == [
        (answered.case_id, "survey", survey.id, "high", "sh-01")
    ]
    answers = await feedback_events(feedback_stack, tenant, "regulars.feedback.v1.survey_answered", 1)
    assert len(answers) == 1
    opened = await feedback_events(feedback_stack, tenant, "regulars.feedback.v1.complaint_opened", 1)
    assert [events_pb2.ComplaintOpened.FromString(r.value).case.id for r in opened] == [answered.case_id]
    for_survey = [(e.delta, e.source) for e in points.entries if e.reason == "survey_answer"]
    assert for_survey == [(SURVEY_POINTS, f"survey_answer:{survey.id}")]  # credited once
    assert points.balance == purchase.points_awarded + SURVEY_POINTS


async def open_thread(apis: Apis, tenant: str, member: str, kind: str, text: str, request: str) -> Any:
    reply = await apis.feedback.OpenThread(
        feedback_pb2.OpenThreadRequest(
            tenant_id=tenant, member_id=member, kind=kind, text=text, store_id="sh-01", request_id=request
        )
    )
    return reply.thread


async def test_a_thread_answered_in_time_is_not_reported_a_late_one_once_and_a_suggestion_adopted_once(
    feedback_stack: Stack,
) -> None:
    tenant = f"bakery-{ULID()}"
    apis = Apis(feedback_stack)
    try:
        member = await a_member(apis, tenant, "+8613900004002")
        asked = await open_thread(apis, tenant, member, "question", "Do you bake rye on Sundays?", "q-1")
        forgotten = await open_thread(apis, tenant, member, "question", "Is there parking?", "q-2")
        idea = await open_thread(apis, tenant, member, "suggestion", "Open at 7 on weekdays", "s-1")
        reply = feedback_pb2.PostThreadMessageRequest(
            tenant_id=tenant,
            thread_id=asked.id,
            author="staff",
            by="staff-1",
            text="Yes, from 8:00.",
            request_id="reply-1",
        )
        replied = await apis.feedback.PostThreadMessage(reply)
        retried = await apis.feedback.PostThreadMessage(reply)
        adopt = feedback_pb2.ThreadActionRequest(
            tenant_id=tenant, thread_id=idea.id, author="staff", by="manager-1", note="Thanks: from March!"
        )
        adopted = await apis.feedback.AdoptSuggestion(adopt)
        adopted_again = await apis.feedback.AdoptSuggestion(adopt)
        late = forgotten.first_response_due.ToDatetime(tzinfo=UTC) + timedelta(minutes=1)
        first = await apis.feedback.RunCaseClock(feedback_pb2.RunCaseClockRequest(at=stamp(late)))
        second = await apis.feedback.RunCaseClock(feedback_pb2.RunCaseClockRequest(at=stamp(late)))
        mine = await apis.feedback.ListThreads(
            feedback_pb2.ListThreadsRequest(tenant_id=tenant, member_id=member)
        )
        with pytest.raises(grpc.aio.AioRpcError) as question:
            await apis.feedback.AdoptSuggestion(
                feedback_pb2.ThreadActionRequest(tenant_id=tenant, thread_id=asked.id, author="staff", by="m")
            )
    finally:
        await apis.close()

    assert (replied.state, [m.author for m in replied.messages]) == ("answered", ["member", "staff"])
    assert retried == replied
    assert replied.first_responded_at.ToDatetime(tzinfo=UTC) < replied.first_response_due.ToDatetime(
        tzinfo=UTC
    )
    assert (adopted.adopted_by, adopted.messages[-1].text) == ("manager-1", "Thanks: from March!")
    assert adopted_again == adopted
    assert (first.thread_breaches, second.thread_breaches) == (1, 0)  # the forgotten one only
    assert {t.id: list(t.sla_breaches) for t in mine.threads} == {
        asked.id: [],
        forgotten.id: ["first_response"],
        idea.id: [],
    }
    assert question.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    breached = await feedback_events(feedback_stack, tenant, "regulars.feedback.v1.thread_sla_breached", 1)
    assert [events_pb2.ThreadSlaBreached.FromString(r.value).thread_id for r in breached] == [forgotten.id]
    thanked = await feedback_events(feedback_stack, tenant, "regulars.feedback.v1.suggestion_adopted", 1)
    assert [events_pb2.SuggestionAdopted.FromString(r.value).thread.id for r in thanked] == [idea.id]
    posted = await feedback_events(feedback_stack, tenant, "regulars.feedback.v1.thread_message_posted", 1)
    assert [events_pb2.ThreadMessagePosted.FromString(r.value).message.text for r in posted] == [
        "Yes, from 8:00."
    ]
