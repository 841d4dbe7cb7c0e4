"""Reviewer risk fed from real data (the matched purchase's value as purchase_made told it; a
delivery city against the cities of the tenant's stores) and the evidence pack's threads,
surveys and messages, with messaging answering, not answering, or holding more than a pack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chassis.errors import InvalidArgument
from services.feedback.domain import risk
from services.feedback.domain.evidence import MessagesStatus, SentMessage
from services.feedback.domain.risk import MemberProfile, RiskSignals
from services.feedback.domain.surveys import Purchase
from tests.unit.test_feedback_use_cases import NOW, Feedback


def test_a_delivery_city_is_remote_only_when_no_store_is_there() -> None:
    stores = {"Shanghai", "Hangzhou ", ""}
    assert risk.remote_from("Lhasa", stores)
    assert not risk.remote_from("  shanghai", stores)  # case and spacing do not matter
    assert not risk.remote_from("hangzhou", stores)
    assert not risk.remote_from("", stores)  # none given: not known
    assert not risk.remote_from("Lhasa", {""})  # no store with a city: not known


def test_cheap_goods_and_a_remote_address_count_with_their_reasons() -> None:
    regular = MemberProfile(datetime(2020, 1, 1, tzinfo=UTC), 12)
    plain = risk.score(RiskSignals(at=NOW, profile=regular, purchased_at_store=True), 50)
    flagged = risk.score(
        RiskSignals(at=NOW, profile=regular, purchased_at_store=True, goods_value=1990, remote_address=True),
        50,
    )
    dear = risk.score(RiskSignals(at=NOW, profile=regular, purchased_at_store=True, goods_value=99_900), 50)

    assert plain.score == 0
    assert dear.score == 0
    assert flagged.score == risk.CHEAP_GOODS + risk.REMOTE_ADDRESS
    assert set(flagged.reasons) == {"cheap goods (¥19.90)", "a remote delivery address"}


async def test_opening_a_case_scores_the_matched_purchases_value_and_the_delivery_city() -> None:
    f = Feedback()
    f.members.cities["t1"] = frozenset({"Shanghai"})
    f.purchases.paid_for[("t1", "s1", "R1")] = 1500  # the receipt R1 was ¥15

    cheap, _ = await f.reviews.post(
        tenant_id="t1",
        member_id="m1",
        store_id="s1",
        receipt_no="R1",
        sku="",
        rating=1,
        text="bad",
        image_urls=[],
        channel="mini_program",
        request_id="a",
        delivery_city="Lhasa",
    )
    near, _ = await f.opening.open(
        tenant_id="t1",
        member_id="m1",
        store_id="s1",
        category="service_delivery",
        severity="low",
        description="late",
        opened_by_kind="customer",
        opened_by="",
        request_id="b",
        receipt_no="R2",
        delivery_city="shanghai",
    )

    assert set(f.case(cheap.case_id).risk.reasons) == {"cheap goods (¥15.00)", "a remote delivery address"}
    assert f.case(cheap.case_id).delivery_city == "Lhasa"
    assert near.risk.reasons == ()  # R2 never seen: value unknown; a city with a store
    with pytest.raises(InvalidArgument) as bad:
        await f.opening.open(
            tenant_id="t1",
            member_id="m1",
            store_id="s1",
            category="service_delivery",
            severity="low",
            description="late",
            opened_by_kind="customer",
            opened_by="",
            request_id="c",
            delivery_city="x" * 65,
        )
    assert bad.value.field == "delivery_city"


def sent(i: int) -> SentMessage:
    at = NOW + timedelta(minutes=i)
    return SentMessage(f"msg{i}", "tpl-thanks", "care", "sms", "sent", "journey", "s1", "", at, at, "")


async def test_the_pack_holds_the_members_threads_surveys_and_messages_oldest_first() -> None:
    f = Feedback()
    f.messaging.sent[("t1", "m9")] = [sent(2), sent(1)]  # messaging lists newest first
    from services.feedback.service.surveys import Surveys
    from services.feedback.service.threads import Threads

    threads = Threads(f.thread_store, f.policies, f.clock)
    surveys = Surveys(f.survey_store, f.opening, f.members, f.policies, f.clock)
    await threads.open(
        tenant_id="t1", member_id="m9", kind="question", text="q?", store_id="", request_id="q"
    )
    await threads.open(
        tenant_id="t1", member_id="m1", kind="question", text="x?", store_id="", request_id="q"
    )
    await surveys.schedule(Purchase("t1", "p1", "m9", "s1", "R1", "", NOW))

    pack = await f.evidence.export("t1", "m9")

    assert [t.member_id for t in pack.threads] == ["m9"]
    assert [s.purchase_id for s in pack.surveys] == ["p1"]
    assert [m.id for m in pack.messages.messages] == ["msg1", "msg2"]
    assert (pack.messages.status, pack.messages.note) == (MessagesStatus.COMPLETE, "")


async def test_a_pack_made_while_messaging_is_down_says_its_messages_are_unavailable() -> None:
    f = Feedback()
    f.messaging.sent[("t1", "m1")] = [sent(1)]
    f.messaging.down = True
    await f.review()

    pack = await f.evidence.export("t1", "m1")

    assert len(pack.reviews) == 1  # feedback's own part is whole
    assert pack.messages.messages == ()
    assert pack.messages.status is MessagesStatus.UNAVAILABLE
    assert "messaging" in pack.messages.note


async def test_a_pack_with_more_messages_than_it_holds_says_so() -> None:
    f = Feedback()
    f.messaging.sent[("t1", "m1")] = [sent(1)]
    f.messaging.more = True

    pack = await f.evidence.export("t1", "m1")

    assert pack.messages.status is MessagesStatus.TRUNCATED
    assert "older" in pack.messages.note
