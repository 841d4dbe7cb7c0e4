"""Feedback and a member's erasure, evidence packs and risk against real FerretDB and Kafka,
with members, coupons and (when started) messaging beside it:

- members erases a member (EraseMember: the real member_erased on members' topic): feedback
  scrubs their review (text, images, earlier versions, the shop's replies), its case
  (description, notes, risk reasons, delivery city), their thread and their survey answer; the
  reports' figures are the same; member_erased delivered twice more, and review_posted (with
  the original text) once more, change nothing; a new post for them is refused.
- an evidence pack holds the member's threads and surveys, and the messages messaging sent them;
  made while messaging is not running, it says its messages are unavailable.
- a bad review about a cheap purchase (members' purchase_made), delivered to a city where the
  chain has no store, counts both against the reviewer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from pymongo import MongoClient
from regulars.feedback.v1 import feedback_pb2
from regulars.members.v1 import members_pb2
from regulars.messaging.v1 import messaging_pb2, messaging_pb2_grpc
from ulid import ULID

from chassis.cloudevents import Envelope
from chassis.kafka import EventPublisher
from devstack.processes import Stack, free_port
from tests.integration.test_feedback import Apis, a_member, feedback_events
from tests.integration.test_feedback_surveys import members_events, poll, surveys_of
from tests.support import fresh_namespace, server_urls

MEMBERS_TOPIC = "regulars.members.v1"
FEEDBACK_TOPIC = "regulars.feedback.v1"
WORDS = "Ms Fang here: the vase arrived cracked, call me on 13800138000"


@pytest.fixture
def stack() -> Iterator[Stack]:
    """Members, coupons and feedback; messaging has a port (feedback's MESSAGING_GRPC_ADDR) but
    is not running until a test starts it."""
    mongodb, kafka = server_urls()
    names = ("members", "coupons", "messaging", "feedback")
    s = Stack(
        mongodb_url=mongodb,
        kafka_bootstrap_servers=kafka,
        namespace=fresh_namespace(),
        ports={name: free_port() for name in names},
    )
    try:
        for name in ("members", "coupons", "feedback"):
            s.start(name)
        yield s
    finally:
        s.stop_all()


def stamp(at: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(at)
    return out


async def a_store(apis: Apis, tenant: str, code: str, city: str) -> None:
    await apis.members.CreateStore(
        members_pb2.CreateStoreRequest(tenant_id=tenant, code=code, name=code, city=city)
    )


async def a_purchase(apis: Apis, tenant: str, member: str, receipt: str, paid: int) -> Any:
    line = members_pb2.PurchaseLine(
        sku="VASE-1", category="ceramics", quantity=1, list_price=paid, paid_price=paid
    )
    recorded = await apis.members.RecordPurchase(
        members_pb2.RecordPurchaseRequest(
            tenant_id=tenant,
            member_id=member,
            store_id="sh-01",
            receipt_no=receipt,
            currency="CNY",
            occurred_at=stamp(datetime.now(UTC).replace(microsecond=0)),
            lines=[line],
        )
    )
    return recorded.purchase


def feedback_documents(stack: Stack, tenant: str) -> list[dict[str, Any]]:
    """Every document the feedback database holds for the tenant, outboxes included."""
    with MongoClient[dict[str, Any]](stack.mongodb_url) as client:
        db = client[f"{stack.namespace}regulars_feedback"]
        return [doc for name in db.list_collection_names() for doc in db[name].find({"tenant_id": tenant})]


async def redeliver(stack: Stack, topic: str, records: list[Any], times: int) -> None:
    publisher = EventPublisher(stack.kafka_bootstrap_servers)
    await publisher.start()
    try:
        envelopes = [Envelope.from_record(r.headers, r.value) for r in records]
        await publisher.publish_many([(f"{stack.namespace}{topic}", e) for e in envelopes] * times)
    finally:
        await publisher.stop()


async def report(apis: Apis, tenant: str) -> tuple[Any, Any]:
    month = datetime.now(UTC).strftime("%Y-%m")
    rows = await apis.feedback.GetFeedbackReport(
        feedback_pb2.GetFeedbackReportRequest(
            tenant_id=tenant, from_month=month, to_month=month, group_by="store"
        )
    )
    reviews = await apis.feedback.GetReviewDistribution(
        feedback_pb2.GetReviewDistributionRequest(tenant_id=tenant, from_month=month, to_month=month)
    )
    rows.ClearField("generated_at")  # when it was asked, not what it counts
    return rows, reviews


async def test_an_erased_member_leaves_no_words_in_feedback_and_the_reports_keep_their_figures(
    stack: Stack,
) -> None:
    tenant = f"ceramics-{ULID()}"
    apis = Apis(stack)
    try:
        await a_store(apis, tenant, "sh-01", "Shanghai")
        member = await a_member(apis, tenant, "+8613900005001")
        await a_purchase(apis, tenant, member, "R-5001", 1500)
        [survey] = await poll(lambda: surveys_of(apis, tenant, member))
        posted = await apis.feedback.PostReview(
            feedback_pb2.PostReviewRequest(
                tenant_id=tenant,
                member_id=member,
                store_id="sh-01",
                receipt_no="R-5001",
                rating=2,
                text=WORDS,
                image_urls=["https://img.example.com/vase.jpg"],
                channel="mini_program",
                request_id="rv-1",
                delivery_city="Lhasa",
            )
        )
        review = posted.review
        await apis.feedback.ReplyToReview(
            feedback_pb2.ReplyToReviewRequest(
                tenant_id=tenant, review_id=review.id, text="Dear Ms Fang, we are sorry", by="staff-1"
            )
        )
        await apis.feedback.AmendReview(
            feedback_pb2.AmendReviewRequest(
                tenant_id=tenant, review_id=review.id, member_id=member, rating=3, text=f"{WORDS}, still"
            )
        )
        await apis.feedback.ReplyToReview(
            feedback_pb2.ReplyToReviewRequest(
                tenant_id=tenant, review_id=review.id, text="We will replace it, Ms Fang", by="staff-1"
            )
        )
        await apis.feedback.AcknowledgeCase(
            feedback_pb2.CaseActionRequest(
                tenant_id=tenant, case_id=review.case_id, by="staff-1", note="Sorry Ms Fang, we will call"
            )
        )
        opened = await apis.feedback.OpenThread(
            feedback_pb2.OpenThreadRequest(
                tenant_id=tenant,
                member_id=member,
                kind="question",
                text="Ms Fang asks: do you ship?",
                request_id="q1",
            )
        )
        await apis.feedback.PostThreadMessage(
            feedback_pb2.PostThreadMessageRequest(
                tenant_id=tenant, thread_id=opened.thread.id, author="staff", by="staff-1", text="Yes Ms Fang"
            )
        )
        await apis.feedback.AnswerSurvey(
            feedback_pb2.AnswerSurveyRequest(
                tenant_id=tenant,
                token=survey.token,
                member_id=member,
                csat=4,
                nps=8,
                text="Ms Fang: nice shop",
            )
        )
        await feedback_events(stack, tenant, "regulars.feedback.v1.review_posted", 1)
        before = await report(apis, tenant)
        assert any("Fang" in repr(d) for d in feedback_documents(stack, tenant))

        await apis.members.EraseMember(
            members_pb2.EraseMemberRequest(tenant_id=tenant, member_id=member, reason="PIPL request")
        )

        async def scrubbed() -> Any:
            found = await apis.feedback.GetReview(
                feedback_pb2.GetReviewRequest(tenant_id=tenant, review_id=review.id)
            )
            return found if found.HasField("erased_at") else None

        erased_review = await poll(scrubbed)
        await asyncio.sleep(2)  # the rest of the member's aggregates, and the outbox relay

        def snapshot() -> list[dict[str, Any]]:
            return sorted(feedback_documents(stack, tenant), key=lambda d: str(d["_id"]))

        first = snapshot()
        after = await report(apis, tenant)
        # member_erased delivered twice more; review_posted (with the words as posted) once more
        erased_events = await members_events(stack, tenant, "regulars.members.v1.member_erased")
        await redeliver(stack, MEMBERS_TOPIC, erased_events, 2)
        review_posted = await feedback_events(stack, tenant, "regulars.feedback.v1.review_posted", 1)
        await redeliver(stack, FEEDBACK_TOPIC, review_posted, 1)
        await asyncio.sleep(4)  # let the consumer handle every copy
        second = snapshot()
        case = await apis.feedback.GetCase(
            feedback_pb2.GetCaseRequest(tenant_id=tenant, case_id=review.case_id)
        )
        thread = await apis.feedback.GetThread(
            feedback_pb2.GetThreadRequest(tenant_id=tenant, thread_id=opened.thread.id)
        )
        [answered] = await surveys_of(apis, tenant, member)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await apis.feedback.PostReview(
                feedback_pb2.PostReviewRequest(
                    tenant_id=tenant,
                    member_id=member,
                    store_id="sh-01",
                    rating=1,
                    text="again",
                    channel="mini_program",
                    request_id="rv-2",
                )
            )
    finally:
        await apis.close()

    assert (erased_review.text, list(erased_review.image_urls)) == ("", [])
    assert [(v.text, v.rating) for v in erased_review.history] == [("", 2)]
    assert (erased_review.reply.text, erased_review.reply.quoted_text) == ("", "")
    assert [(r.text, r.quoted_text) for r in erased_review.earlier_replies] == [("", "")]
    assert (erased_review.rating, erased_review.rating_class) == (3, feedback_pb2.RATING_CLASS_MEDIUM)
    assert (case.description, case.delivery_city, list(case.risk.reasons)) == ("", "", [])
    assert {e.note for e in case.timeline} == {""}
    assert case.state == "acknowledged"
    assert case.HasField("erased_at")
    assert [m.text for m in thread.messages] == ["", ""]
    assert thread.HasField("erased_at")
    assert (answered.answer.text, answered.answer.csat, answered.answer.nps) == ("", 4, 8)
    # nothing of what the member wrote is anywhere in feedback's store, outboxes included
    assert [
        d["_id"] for d in first if "Fang" in repr(d) or "img.example" in repr(d) or "Lhasa" in repr(d)
    ] == []
    assert after == before  # the reports count the same
    assert second == first  # the redeliveries changed nothing
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "erased" in (refused.value.details() or "")


async def test_the_evidence_pack_holds_threads_surveys_and_messages_or_says_messages_are_unavailable(
    stack: Stack,
) -> None:
    tenant = f"florist-{ULID()}"
    apis = Apis(stack)
    try:
        await a_store(apis, tenant, "sh-01", "Shanghai")
        member = await a_member(apis, tenant, "+8613900005002")
        await a_purchase(apis, tenant, member, "R-6001", 20_000)
        [survey] = await poll(lambda: surveys_of(apis, tenant, member))
        await apis.feedback.OpenThread(
            feedback_pb2.OpenThreadRequest(
                tenant_id=tenant, member_id=member, kind="suggestion", text="stock peonies", request_id="s1"
            )
        )
        down = await apis.feedback.ExportEvidence(
            feedback_pb2.ExportEvidenceRequest(tenant_id=tenant, member_id=member)
        )

        stack.start("messaging")
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{stack.ports['messaging']}")
        messaging: Any = messaging_pb2_grpc.MessagingServiceStub(channel)
        try:
            await messaging.SaveTemplate(
                messaging_pb2.SaveTemplateRequest(
                    template=messaging_pb2.Template(
                        tenant_id=tenant,
                        id="thanks",
                        name="thanks",
                        message_class="transactional",
                        texts={"inbox": messaging_pb2.ChannelText(title="Thank you", body="for coming")},
                    )
                )
            )

            async def sent() -> Any:
                try:
                    return await messaging.SendMessage(
                        messaging_pb2.SendMessageRequest(
                            tenant_id=tenant,
                            member_id=member,
                            message_key=f"thanks:{member}",
                            template_id="thanks",
                        )
                    )
                except grpc.aio.AioRpcError:
                    return None  # messaging has not heard of the member yet

            message = (await poll(sent)).message
        finally:
            await channel.close()

        async def whole() -> Any:  # feedback's channel to messaging reconnects within seconds
            pack = await apis.feedback.ExportEvidence(
                feedback_pb2.ExportEvidenceRequest(tenant_id=tenant, member_id=member)
            )
            return pack if pack.messages_status == "complete" else None

        up = await poll(whole)
    finally:
        await apis.close()

    assert (down.messages_status, len(down.messages)) == ("unavailable", 0)
    assert "messaging" in down.messages_note
    assert [t.kind for t in down.threads] == ["suggestion"]
    assert [s.id for s in down.surveys] == [survey.id]
    assert up.messages_status == "complete"
    assert [(m.id, m.template_id) for m in up.messages] == [(message.id, "thanks")]
    assert [s.id for s in up.surveys] == [survey.id]
    assert len(up.threads) == 1


async def test_a_cheap_purchase_delivered_where_the_chain_has_no_store_counts_against_the_reviewer(
    stack: Stack,
) -> None:
    tenant = f"glass-{ULID()}"
    apis = Apis(stack)
    try:
        await a_store(apis, tenant, "sh-01", "Shanghai")
        member = await a_member(apis, tenant, "+8613900005003")
        await a_purchase(apis, tenant, member, "R-7001", 1990)
        await poll(lambda: surveys_of(apis, tenant, member))  # purchase_made reached feedback
        await asyncio.sleep(1)  # and was counted with its value, just after the survey
        far = await apis.feedback.PostReview(
            feedback_pb2.PostReviewRequest(
                tenant_id=tenant,
                member_id=member,
                store_id="sh-01",
                receipt_no="R-7001",
                rating=1,
                text="it broke",
                channel="mini_program",
                request_id="far",
                delivery_city="Lhasa",
            )
        )
        near = await apis.feedback.OpenCase(
            feedback_pb2.OpenCaseRequest(
                tenant_id=tenant,
                member_id=member,
                store_id="sh-01",
                category="service_delivery",
                description="late",
                request_id="near",
                receipt_no="R-unknown",
                delivery_city="shanghai",
            )
        )
        far_case = await apis.feedback.GetCase(
            feedback_pb2.GetCaseRequest(tenant_id=tenant, case_id=far.review.case_id)
        )
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await apis.feedback.OpenCase(
                feedback_pb2.OpenCaseRequest(
                    tenant_id=tenant,
                    member_id=member,
                    store_id="sh-01",
                    category="service_delivery",
                    description="late",
                    request_id="bad",
                    delivery_city="x" * 65,
                )
            )
    finally:
        await apis.close()

    assert "cheap goods (¥19.90)" in far_case.risk.reasons
    assert "a remote delivery address" in far_case.risk.reasons
    assert far_case.delivery_city == "Lhasa"
    assert not {"a remote delivery address"} & set(near.risk.reasons)
    assert not [r for r in near.risk.reasons if r.startswith("cheap goods")]
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
