"""Erasing a member in feedback: the pure scrub rules (what goes, what reports keep, a second
scrub changes nothing, an erased aggregate takes no new content) and the use case on fakes (all
the member's reviews, cases, threads and surveys scrubbed, once; a crash midway finished by the
redelivery; nothing written after the erasure brings content back)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chassis.errors import FailedPrecondition
from services.feedback.domain import policy, transitions
from services.feedback.domain import surveys as survey_model
from services.feedback.domain import threads as thread_model
from services.feedback.domain.cases import Case, Settlement, parse_remedy
from services.feedback.domain.erasure import scrub_case, scrub_review, scrub_survey, scrub_thread
from services.feedback.domain.opening import case_for_review, review_case_id
from services.feedback.domain.reports import CaseFigures
from services.feedback.domain.reviews import Review, amend, parse_review, reply
from services.feedback.domain.risk import RiskAssessment
from services.feedback.domain.surveys import Purchase, Survey
from services.feedback.domain.threads import Thread
from services.feedback.service.erasure import Erasure, Scrubbed
from services.feedback.service.opening import CaseOpening
from services.feedback.service.reviews import Reviews
from services.feedback.service.surveys import Surveys
from services.feedback.service.threads import Threads
from tests.unit.fakes_feedback import (
    Crash,
    FakeCases,
    FakeErasures,
    FakeMembers,
    FakePolicies,
    FakeReviews,
    FakeSurveys,
    FakeThreads,
    with_coupons,
)

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
H = timedelta(hours=1)
ERASED = T0 + 30 * 24 * H
POLICY = policy.defaults("t1")
WORDS = "Ms Wang here: the clasp broke, call me on 13800138000"


def a_review() -> Review:
    posted = parse_review(
        review_id="r1",
        tenant_id="t1",
        member_id="m1",
        store_id="s1",
        receipt_no="R1",
        sku="",
        rating=2,
        text=WORDS,
        image_urls=["https://img.example/clasp.jpg"],
        channel="mini_program",
        posted_at=T0,
        delivery_city="Lhasa",
    )
    replied = reply(posted, "Dear Ms Wang, we are sorry", "staff-1", T0 + H)
    amended = amend(replied, "m1", 3, "still broken, Ms Wang", ["https://img.example/2.jpg"], T0 + 2 * H)
    return reply(amended, "We will exchange it, Ms Wang", "staff-1", T0 + 3 * H)


def a_case_opened() -> Case:
    review = a_review()
    return case_for_review(
        replace(review, case_id=review_case_id(review)),
        POLICY,
        RiskAssessment(40, ("joined today", "a remote delivery address"), False),
        T0,
    )


def a_case() -> Case:
    case = a_case_opened()
    case = transitions.acknowledge(case, "staff-1", "Sorry Ms Wang, we will call you", T0 + H)
    case = transitions.start(case, "staff-1", "called her at home", T0 + 2 * H)
    remedy = parse_remedy("exchange", "new clasp for Ms Wang's bracelet")
    return transitions.resolve(case, Settlement(remedy, "staff-1", T0 + 3 * H))


def a_thread() -> Thread:
    opened = thread_model.open_thread(
        thread_id="th1",
        message_id="msg1",
        tenant_id="t1",
        member_id="m1",
        kind="suggestion",
        text="I am Ms Wang from Jing'an: please open earlier on Sundays",
        store_id="s1",
        policy=POLICY,
        at=T0,
    )
    return thread_model.post(opened, "staff", "staff-1", "Thank you Ms Wang", "msg2", T0 + H)


def a_survey(answered: bool = True) -> Survey:
    scheduled = survey_model.schedule(
        Purchase("t1", "p1", "m1", "s1", "R1", "staff-1", T0), "sv1", "tok", POLICY, T0
    )
    assert scheduled is not None
    if not answered:
        return scheduled
    answer = survey_model.parse_answer(
        csat=2,
        nps=3,
        text="the assistant Ms Li was rude to me",
        wants_call_back=True,
        category="",
        at=T0 + 80 * H,
    )
    return survey_model.give_answer(scheduled, answer, POLICY)


# --- the scrub rules ---------------------------------------------------------------------------


def test_a_scrubbed_review_keeps_its_ratings_and_times_but_none_of_its_words_images_or_replies() -> None:
    review = a_review()
    scrubbed = scrub_review(review, ERASED)

    assert (scrubbed.text, scrubbed.image_urls, scrubbed.delivery_city) == ("", (), "")
    assert [(v.text, v.image_urls) for v in scrubbed.history] == [("", ())]
    assert scrubbed.reply is not None
    assert (scrubbed.reply.text, scrubbed.reply.quoted_text) == ("", "")
    assert [(r.text, r.quoted_text) for r in scrubbed.earlier_replies] == [("", "")]
    assert "Wang" not in repr(scrubbed)
    assert "img.example" not in repr(scrubbed)
    # what reports count stays: ratings now and as first posted, when, where
    assert (scrubbed.rating, scrubbed.history[0].rating, scrubbed.rating_class) == (3, 2, review.rating_class)
    assert (scrubbed.posted_at, scrubbed.store_id, scrubbed.receipt_no) == (T0, "s1", "R1")
    assert (scrubbed.reply.quoted_rating, scrubbed.reply.by, scrubbed.reply.at) == (3, "staff-1", T0 + 3 * H)
    assert scrubbed.erased_at == ERASED


def test_a_scrubbed_case_keeps_every_figure_reports_read_and_no_words() -> None:
    case = a_case()
    scrubbed = scrub_case(case, ERASED)

    assert case.remedy is not None
    # every figure a report reads is the same (a remedy's kind, value and points; not its note)
    assert CaseFigures.of(scrubbed) == replace(CaseFigures.of(case), remedy=replace(case.remedy, note=""))
    assert scrubbed.description == ""
    assert scrubbed.delivery_city == ""
    assert {e.note for e in scrubbed.timeline} == {""}
    assert [(e.action, e.by, e.at) for e in scrubbed.timeline] == [
        (e.action, e.by, e.at) for e in case.timeline
    ]
    assert scrubbed.remedy is not None
    assert scrubbed.remedy.note == ""
    settling = transitions.begin_resolution(
        transitions.start(
            transitions.acknowledge(a_case_opened(), "staff-1", "sorry", T0 + H), "staff-1", "", T0 + H
        ),
        Settlement(parse_remedy("refund", "refunded to Ms Wang's card"), "staff-1", T0 + 2 * H),
    )
    pending = scrub_case(settling, ERASED).pending
    assert pending is not None
    assert pending.remedy.note == ""
    assert pending.remedy.kind.value == "refund"
    assert (scrubbed.risk.score, scrubbed.risk.reasons) == (40, ())
    assert (scrubbed.state, scrubbed.severity, scrubbed.category) == (
        case.state,
        case.severity,
        case.category,
    )
    assert "Wang" not in repr(scrubbed)


def test_a_scrubbed_thread_and_survey_keep_who_wrote_when_and_the_scores() -> None:
    thread, survey = a_thread(), a_survey()
    t, s = scrub_thread(thread, ERASED), scrub_survey(survey, ERASED)

    assert [(m.author, m.by, m.at, m.text) for m in t.messages] == [
        (m.author, m.by, m.at, "") for m in thread.messages
    ]
    assert (t.state, t.first_responded_at, t.kind) == (thread.state, thread.first_responded_at, thread.kind)
    assert s.answer is not None
    assert survey.answer is not None
    assert s.answer == replace(survey.answer, text="")
    assert (s.case_id, s.points, s.state) == (survey.case_id, survey.points, survey.state)


@pytest.mark.parametrize(
    ("scrub", "make"),
    [(scrub_review, a_review), (scrub_case, a_case), (scrub_thread, a_thread), (scrub_survey, a_survey)],
)
def test_scrubbing_twice_is_scrubbing_once(scrub: object, make: object) -> None:
    once = scrub(make(), ERASED)  # type: ignore[operator]
    assert scrub(once, ERASED + H) is once  # type: ignore[operator]
    assert once.erased_at == ERASED  # the first erasure's moment stays


def test_an_erased_review_thread_or_survey_takes_no_new_content() -> None:
    review = scrub_review(a_review(), ERASED)
    with pytest.raises(FailedPrecondition, match="erased"):
        reply(review, "Dear Ms Wang", "staff-1", ERASED + H)
    with pytest.raises(FailedPrecondition, match="erased"):
        amend(review, "m1", 1, "back again", [], ERASED + H)
    thread = scrub_thread(a_thread(), ERASED)
    with pytest.raises(FailedPrecondition, match="erased"):
        thread_model.post(thread, "member", "m1", "hello again", "msg3", ERASED + H)
    survey = scrub_survey(a_survey(answered=False), ERASED)
    with pytest.raises(FailedPrecondition, match="erased"):
        survey_model.give_answer(
            survey,
            survey_model.parse_answer(
                csat=5, nps=None, text="lovely", wants_call_back=False, category="", at=T0 + 80 * H
            ),
            POLICY,
        )
    assert survey_model.fall_due(survey, T0 + 100 * H) is survey  # no link is sent any more


# --- the use case on fakes -----------------------------------------------------------------------


class Feedback:
    def __init__(self) -> None:
        self.now = T0
        ids = itertools.count(1)
        self.reviews_store, self.cases_store = FakeReviews(), FakeCases()
        self.threads_store, self.surveys_store = FakeThreads(), FakeSurveys()
        self.erasures = FakeErasures()
        self.members = FakeMembers()
        self.members.regular("m1")
        policies = FakePolicies(with_coupons())
        stores = (self.reviews_store, self.cases_store, self.threads_store, self.surveys_store)
        self.erasure = Erasure(self.erasures, *stores, self.clock)
        self.opening = CaseOpening(
            self.cases_store, self.reviews_store, self.members, policies, self.clock, erasures=self.erasures
        )
        self.reviews = Reviews(
            self.reviews_store,
            self.opening,
            self.members,
            policies,
            self.clock,
            lambda: f"id{next(ids)}",
            erasure=self.erasure,
        )
        self.threads = Threads(self.threads_store, policies, self.clock, erasure=self.erasure)
        self.surveys = Surveys(
            self.surveys_store, self.opening, self.members, policies, self.clock, erasure=self.erasure
        )

    def clock(self) -> datetime:
        return self.now

    async def post(self, request: str = "req-1", member: str = "m1") -> Review:
        review, _ = await self.reviews.post(
            tenant_id="t1",
            member_id=member,
            store_id="s1",
            receipt_no="R1",
            sku="",
            rating=1,
            text=WORDS,
            image_urls=["https://img.example/a.jpg"],
            channel="mini_program",
            request_id=request,
        )
        return review

    async def everything_of_m1(self) -> None:
        """A bad review (and its case), a thread, an answered survey; and another member's review."""
        await self.post()
        await self.post("req-other", member="m2")
        await self.threads.open(
            tenant_id="t1",
            member_id="m1",
            kind="question",
            text="Ms Wang asks: open Sundays?",
            store_id="s1",
            request_id="q1",
        )
        survey = await self.surveys.schedule(Purchase("t1", "p1", "m1", "s1", "R1", "staff-1", T0))
        assert survey is not None
        self.now = T0 + 80 * H
        await self.surveys.answer(
            tenant_id="t1",
            token=survey.token,
            member_id="m1",
            csat=1,
            nps=0,
            text="Ms Wang: awful",
            wants_call_back=False,
            category="",
        )

    def words_of_m1(self) -> list[str]:
        stores: list[Mapping[tuple[str, str], object]] = [
            self.reviews_store.stored,
            self.cases_store.stored,
            self.threads_store.stored,
            self.surveys_store.stored,
        ]
        return [repr(a) for s in stores for a in s.values() if "Wang" in repr(a) and "'m1'" in repr(a)]


async def test_erasure_scrubs_every_aggregate_of_the_member_once_and_leaves_others() -> None:
    f = Feedback()
    await f.everything_of_m1()
    assert len(f.words_of_m1()) >= 4  # review, its case, thread, survey (and the survey's case)

    f.now = ERASED
    first = await f.erasure.erase("t1", "m1")
    again = await f.erasure.erase("t1", "m1")  # member_erased delivered twice

    assert first == Scrubbed(reviews=1, cases=2, threads=1, surveys=1)
    assert again == Scrubbed()
    assert f.words_of_m1() == []
    other = [r for r in f.reviews_store.stored.values() if r.member_id == "m2"]
    assert [r.text for r in other] == [WORDS]  # another member keeps their review


async def test_a_crash_midway_is_finished_by_the_redelivery() -> None:
    f = Feedback()
    await f.everything_of_m1()
    f.cases_store.crash("save")  # the process dies after the first case is scrubbed
    with pytest.raises(Crash):
        await f.erasure.erase("t1", "m1")
    assert f.words_of_m1()  # some left

    await f.erasure.erase("t1", "m1")  # member_erased, redelivered: the commit came after

    assert f.words_of_m1() == []


async def test_nothing_written_after_the_erasure_brings_content_back() -> None:
    f = Feedback()
    review = await f.post()
    case_id = review.case_id
    await f.erasure.erase("t1", "m1")

    with pytest.raises(FailedPrecondition, match="erased"):
        await f.post("req-2")  # a new review
    with pytest.raises(FailedPrecondition, match="erased"):
        await f.post()  # the same post retried
    with pytest.raises(FailedPrecondition, match="erased"):
        await f.threads.open(
            tenant_id="t1", member_id="m1", kind="question", text="hi", store_id="", request_id="q9"
        )
    with pytest.raises(FailedPrecondition, match="erased"):
        await f.opening.open(
            tenant_id="t1",
            member_id="m1",
            store_id="s1",
            category="service_other",
            severity="low",
            description="Ms Wang again",
            opened_by_kind="customer",
            opened_by="",
            request_id="c9",
        )
    assert await f.surveys.schedule(Purchase("t1", "p9", "m1", "s1", "R9", "", ERASED)) is None
    # a late review_posted: the case the scrubbed review opens (were it missing) is scrubbed too
    del f.cases_store.stored[("t1", case_id)]
    late = await f.opening.open_for_review(f.reviews_store.stored[("t1", review.id)])
    assert late is not None
    assert late.erased_at is not None
    assert "Wang" not in repr(late)
    # staff carry on with the case; what they say is not kept
    from services.feedback.service.cases import Cases

    acked = await Cases(f.cases_store, f.reviews_store, f.clock).acknowledge(
        "t1", case_id, "staff-1", "Sorry Ms Wang"
    )
    assert acked.state.value == "acknowledged"
    assert {e.note for e in acked.timeline} == {""}
    assert f.words_of_m1() == []


async def test_a_post_racing_the_erasure_is_scrubbed_by_the_post_itself() -> None:
    f = Feedback()
    # the erasure marked the member after the post checked, and scrubbed before the post's write
    checked = f.erasure.refuse_if_erased

    async def erased_right_after_the_check(tenant_id: str, member_id: str) -> None:
        await checked(tenant_id, member_id)
        await f.erasure.erase(tenant_id, member_id)

    f.erasure.refuse_if_erased = erased_right_after_the_check  # type: ignore[method-assign]
    review = await f.post()

    stored = f.reviews_store.stored[("t1", review.id)]
    assert (stored.text, stored.erased_at is not None) == ("", True)
    assert f.words_of_m1() == []
