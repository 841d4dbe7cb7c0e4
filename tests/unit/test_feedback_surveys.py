"""Satisfaction surveys and questions and suggestions: the rules (scheduling, answers, which
answers open a case, a thread's states and first-response SLA) and the use cases on in-memory
fakes of the ports: purchase_made twice schedules one survey; the clock announces a survey due
once; a survey is answered once; a low answer opens one case and earns its points once however
often it is finished; a thread's late first response is reported once, a suggestion adopted once."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chassis.errors import FailedPrecondition, InvalidArgument, NotFound
from services.feedback.domain import events, threads
from services.feedback.domain import surveys as model
from services.feedback.domain.cases import Category, Source
from services.feedback.domain.opening import case_for_survey
from services.feedback.domain.policy import FeedbackPolicy, defaults, parse_policy, settings_to_dict
from services.feedback.domain.reviews import RatingClass
from services.feedback.domain.risk import RiskAssessment
from services.feedback.domain.sla import Severity
from services.feedback.domain.surveys import Purchase, SurveyState
from services.feedback.domain.threads import Author, ThreadState
from services.feedback.service.clock import CaseClock
from services.feedback.service.opening import CaseOpening
from services.feedback.service.resolving import Resolutions
from services.feedback.service.surveys import Surveys
from services.feedback.service.threads import Threads
from tests.unit.fakes_feedback import (
    Crash,
    FakeBudget,
    FakeCases,
    FakeCoupons,
    FakeMembers,
    FakePolicies,
    FakeReviews,
    FakeSurveys,
    FakeThreads,
)

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai, as the store opens
DAY = timedelta(days=1)
PURCHASE = Purchase("t1", "p1", "m1", "s1", "R1", "staff-1", NOW)


def policy(**changes: object) -> FeedbackPolicy:
    return replace(defaults("t1"), version=1, **changes)  # type: ignore[arg-type]


def answer(csat: int = 5, nps: int | None = 9, call_back: bool = False, category: str = "") -> model.Answer:
    return model.parse_answer(
        csat=csat, nps=nps, text="", wants_call_back=call_back, category=category, at=NOW + 4 * DAY
    )


# Rules


def test_a_purchase_schedules_its_survey_the_policys_days_later() -> None:
    survey = model.schedule(PURCHASE, "sv1", "tok", policy(survey_delay_days=5), NOW)

    assert survey is not None
    assert (survey.state, survey.member_id, survey.store_id, survey.staff_id) == (
        SurveyState.SCHEDULED,
        "m1",
        "s1",
        "staff-1",
    )
    assert survey.due_at == NOW + 5 * DAY
    assert survey.closes_at == survey.due_at + model.ANSWER_DAYS * DAY


def test_no_survey_without_surveys_a_member_or_the_time_to_answer_it() -> None:
    assert model.schedule(PURCHASE, "sv1", "tok", policy(survey_delay_days=0), NOW) is None
    assert model.schedule(replace(PURCHASE, member_id=" "), "sv1", "tok", policy(), NOW) is None
    late = NOW + (3 + model.ANSWER_DAYS) * DAY  # seen when its survey would already be closed
    assert model.schedule(PURCHASE, "sv1", "tok", policy(), late) is None


def test_a_survey_falls_due_on_its_day_once() -> None:
    survey = model.schedule(PURCHASE, "sv1", "tok", policy(), NOW)
    assert survey is not None

    assert model.fall_due(survey, NOW + 2 * DAY) is survey
    due = model.fall_due(survey, NOW + 3 * DAY)
    assert (due.state, due.fell_due_at) == (SurveyState.DUE, NOW + 3 * DAY)
    assert model.fall_due(due, NOW + 4 * DAY) is due


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"csat": 0}, "csat"),
        ({"csat": 6}, "csat"),
        ({"nps": 11}, "nps"),
        ({"nps": -1}, "nps"),
        ({"category": "weather"}, "category"),
        ({"text": "x" * 2001}, "text"),
    ],
)
def test_an_answer_names_its_wrong_field(given: dict[str, object], field: str) -> None:
    fields: dict[str, object] = {"csat": 3, "nps": 5, "text": "", "wants_call_back": False, "category": ""}
    with pytest.raises(InvalidArgument) as bad:
        model.parse_answer(**{**fields, **given}, at=NOW)  # type: ignore[arg-type]
    assert bad.value.field == field


def test_which_answers_open_a_case_is_the_policys() -> None:
    p = policy()
    assert model.opens_case(answer(csat=2), p)
    assert model.opens_case(answer(csat=5, nps=6), p)
    assert model.opens_case(answer(csat=5, nps=10, call_back=True), p)
    assert not model.opens_case(answer(csat=3, nps=7), p)
    assert not model.opens_case(answer(csat=3, nps=None), p)
    never = policy(survey_case_csat_max=0, survey_case_nps_max=-1)
    assert not model.opens_case(answer(csat=1, nps=0), never)
    assert model.opens_case(answer(csat=1, nps=0, call_back=True), never)


def test_a_survey_is_answered_once() -> None:
    survey = model.schedule(PURCHASE, "sv1", "tok", policy(survey_points=20), NOW)
    assert survey is not None
    low = model.parse_answer(csat=1, nps=2, text="cold staff", wants_call_back=False, category="", at=NOW)

    answered = model.give_answer(survey, low, policy(survey_points=20))
    again = model.give_answer(answered, replace(low, at=NOW + DAY), policy())

    assert answered.state is SurveyState.ANSWERED
    assert answered.case_id == model.survey_case_id(survey)
    assert answered.points == 20
    assert again is answered  # the same answer: the survey as answered
    with pytest.raises(FailedPrecondition, match="answered"):
        model.give_answer(answered, replace(low, csat=2), policy())
    with pytest.raises(FailedPrecondition, match="closed"):
        model.give_answer(survey, replace(low, at=survey.closes_at), policy())


def test_a_survey_case_is_about_what_the_answer_says_and_as_serious_as_its_csat() -> None:
    survey = model.schedule(PURCHASE, "sv1", "tok", policy(), NOW)
    assert survey is not None
    one = model.give_answer(survey, answer(csat=1, category="product_quality"), policy())
    call = model.give_answer(survey, answer(csat=5, call_back=True), policy())

    case = case_for_survey(one, policy(), RiskAssessment(), NOW)
    callback = case_for_survey(call, policy(), RiskAssessment(), NOW)

    assert (case.source, case.survey_id, case.category, case.severity) == (
        Source.SURVEY,
        survey.id,
        Category.PRODUCT_QUALITY,
        Severity.HIGH,
    )
    assert (case.rating_class, case.receipt_no, case.member_id) == (RatingClass.BAD, "R1", "m1")
    assert "CSAT 1/5" in case.description
    assert (callback.category, callback.severity, callback.rating_class) == (
        Category.SERVICE_OTHER,
        Severity.LOW,
        RatingClass.MEDIUM,
    )
    assert "asks for a call back" in callback.timeline[0].note


def test_the_survey_settings_of_a_policy_are_checked_and_read_back() -> None:
    made = parse_policy(
        {"survey_delay_days": 0, "survey_points": 50, "survey_case_csat_max": 0, "survey_case_nps_max": -1},
        "t1",
    )
    assert (
        made.survey_delay_days,
        made.survey_points,
        made.survey_case_csat_max,
        made.survey_case_nps_max,
    ) == (
        0,
        50,
        0,
        -1,
    )
    assert parse_policy(settings_to_dict(made), "t1") == made
    assert (defaults("t1").survey_delay_days, defaults("t1").survey_case_nps_max) == (3, 6)
    for key, value in (("survey_delay_days", 61), ("survey_points", -1), ("survey_case_nps_max", -2)):
        with pytest.raises(InvalidArgument) as bad:
            parse_policy({key: value}, "t1")
        assert bad.value.field == key


# Use cases


class Feedback:
    """The survey and thread use cases wired on fakes, as bootstrap.py wires them."""

    def __init__(self, p: FeedbackPolicy | None = None) -> None:
        self.now = NOW
        ids = itertools.count(1)
        tokens = itertools.count(1)
        self.survey_store = FakeSurveys()
        self.thread_store = FakeThreads()
        self.case_store = FakeCases()
        self.policies = FakePolicies(p or policy(survey_points=30))
        self.members = FakeMembers()
        self.members.regular("m1")
        self.opening = CaseOpening(self.case_store, FakeReviews(), self.members, self.policies, self.clock)
        self.surveys = Surveys(
            self.survey_store,
            self.opening,
            self.members,
            self.policies,
            self.clock,
            lambda: f"tok{next(tokens)}",
        )
        self.threads = Threads(self.thread_store, self.policies, self.clock, lambda: f"id{next(ids)}")
        resolutions = Resolutions(self.case_store, self.policies, FakeBudget(), FakeCoupons(), self.members)
        self.case_clock = CaseClock(self.case_store, resolutions, self.surveys, self.threads)

    def clock(self) -> datetime:
        return self.now

    async def scheduled(self) -> model.Survey:
        survey = await self.surveys.schedule(PURCHASE)
        assert survey is not None
        return survey

    async def answer(
        self, token: str, csat: int = 1, nps: int | None = 3, member: str = "m1"
    ) -> model.Survey:
        return await self.surveys.answer(
            tenant_id="t1",
            token=token,
            member_id=member,
            csat=csat,
            nps=nps,
            text="nobody helped me",
            wants_call_back=False,
            category="",
        )


async def test_purchase_made_twice_schedules_one_survey() -> None:
    f = Feedback()
    first = await f.scheduled()
    again = await f.scheduled()  # redelivered
    both = await asyncio.gather(*(f.surveys.schedule(PURCHASE) for _ in range(3)))  # replicas at once

    assert f.survey_store.inserts == 1
    assert again == first
    assert all(s == first for s in both)
    assert not f.survey_store.announced  # scheduling announces nothing: survey_due does, on its day


async def test_a_tenant_without_surveys_schedules_none() -> None:
    f = Feedback(policy(survey_delay_days=0))
    assert await f.surveys.schedule(PURCHASE) is None
    assert not f.survey_store.stored


async def test_the_clock_announces_a_survey_due_once_on_its_day() -> None:
    f = Feedback()
    survey = await f.scheduled()

    early = await f.case_clock.run(NOW + 2 * DAY)
    first = await f.case_clock.run(NOW + 3 * DAY)
    second = await f.case_clock.run(NOW + 3 * DAY + timedelta(minutes=1))

    assert (early.surveys_due, first.surveys_due, second.surveys_due) == (0, 1, 0)
    [due] = f.survey_store.facts(events.SurveyDue)
    assert (due.survey.id, due.survey.token, due.survey.state) == (survey.id, "tok1", SurveyState.DUE)


async def test_a_low_answer_opens_one_case_and_earns_its_points_once() -> None:
    f = Feedback()
    survey = await f.scheduled()
    f.now = NOW + 4 * DAY

    answered = await f.answer(survey.token)
    again = await f.answer(survey.token)  # the mini-program retries
    await f.surveys.follow_up(answered)  # survey_answered, delivered
    await f.surveys.follow_up(answered)  # ... twice

    assert again == answered
    assert (answered.state, answered.points) == (SurveyState.ANSWERED, 30)
    assert len(f.survey_store.facts(events.SurveyAnswered)) == 1
    assert f.case_store.inserts == 1
    case = f.case_store.stored[("t1", answered.case_id)]
    assert (case.source, case.survey_id, case.store_id, case.opened_at) == (
        Source.SURVEY,
        survey.id,
        "s1",
        answered.answer.at,  # type: ignore[union-attr]
    )
    assert len(f.case_store.facts(events.ComplaintOpened)) == 1
    assert f.members.survey_points == {("t1", survey.id): ("m1", 30)}
    assert f.members.calls["award_survey_points"] == 4  # asked each time; members counts it once


async def test_a_second_different_answer_is_refused_and_changes_nothing() -> None:
    f = Feedback()
    survey = await f.scheduled()
    answered = await f.answer(survey.token, csat=5, nps=10)

    with pytest.raises(FailedPrecondition):
        await f.answer(survey.token, csat=1, nps=0)

    assert f.survey_store.stored[("t1", survey.id)] == answered
    assert not answered.case_id
    assert not f.case_store.stored  # a happy answer opens no case
    assert len(f.survey_store.facts(events.SurveyAnswered)) == 1


async def test_a_crash_after_the_answer_is_finished_by_survey_answered() -> None:
    f = Feedback()
    survey = await f.scheduled()
    f.survey_store.crash("save")

    with pytest.raises(Crash):
        await f.answer(survey.token)
    assert not f.case_store.stored
    assert not f.members.survey_points
    [answered] = f.survey_store.facts(events.SurveyAnswered)
    await f.surveys.follow_up(await f.surveys.get("t1", survey_id=answered.survey.id))  # the consumer

    assert f.case_store.inserts == 1
    assert list(f.members.survey_points.values()) == [("m1", 30)]


async def test_only_the_surveys_member_finds_it_by_its_token() -> None:
    f = Feedback()
    survey = await f.scheduled()

    assert await f.surveys.get("t1", token=survey.token, member_id="m1") == survey
    with pytest.raises(NotFound):
        await f.surveys.get("t1", token=survey.token, member_id="m2")
    with pytest.raises(NotFound):
        await f.answer(survey.token, member="m2")
    with pytest.raises(NotFound):
        await f.surveys.get("t2", token=survey.token)
    with pytest.raises(InvalidArgument) as bad:
        await f.surveys.get("t1")
    assert bad.value.field == "token"
    assert [s.id for s in await f.surveys.list_surveys("t1", "m1", "", "scheduled", 0)] == [survey.id]


async def test_no_points_when_the_policy_gives_none() -> None:
    f = Feedback(policy(survey_points=0))
    survey = await f.scheduled()
    await f.answer(survey.token)
    assert not f.members.calls["award_survey_points"]


# Threads


async def test_a_thread_opens_once_per_request_and_its_first_response_is_due_by_the_low_sla() -> None:
    f = Feedback()
    opened, created = await f.threads.open(
        tenant_id="t1",
        member_id="m1",
        kind="question",
        text="Do you stock X?",
        store_id="s1",
        request_id="q1",
    )
    again, created_again = await f.threads.open(
        tenant_id="t1",
        member_id="m1",
        kind="question",
        text="Do you stock X?",
        store_id="s1",
        request_id="q1",
    )

    assert (created, created_again, again) == (True, False, opened)
    assert (opened.state, opened.kind.value, [m.author for m in opened.messages]) == (
        ThreadState.OPEN,
        "question",
        [Author.MEMBER],
    )
    # 48 business hours of 12 a day from Monday 10:00: Thursday 22:00 (14:00 UTC), as it closes.
    assert opened.first_response_due == NOW + 3 * DAY + timedelta(hours=12)
    assert len(f.thread_store.facts(events.ThreadOpened)) == 1
    with pytest.raises(InvalidArgument) as bad:
        await f.threads.open(
            tenant_id="t1", member_id="m1", kind="rant", text="x", store_id="", request_id=""
        )
    assert bad.value.field == "kind"


async def test_replies_move_a_thread_between_answered_and_open_and_a_retried_message_counts_once() -> None:
    f = Feedback()
    thread, _ = await f.threads.open(
        tenant_id="t1",
        member_id="m1",
        kind="question",
        text="Open on Sundays?",
        store_id="s1",
        request_id="q",
    )
    f.now += timedelta(hours=1)
    replied = await f.threads.post("t1", thread.id, "staff", "staff-1", "From 10:00.", "r1")
    retried = await f.threads.post("t1", thread.id, "staff", "staff-1", "From 10:00.", "r1")
    follow = await f.threads.post("t1", thread.id, "member", "", "And holidays?", "r2")

    assert retried == replied
    assert (replied.state, replied.first_responded_at) == (ThreadState.ANSWERED, f.now)
    assert follow.state is ThreadState.OPEN
    assert [m.author for m in follow.messages] == [Author.MEMBER, Author.STAFF, Author.MEMBER]
    assert len(f.thread_store.facts(events.ThreadMessagePosted)) == 2
    with pytest.raises(FailedPrecondition):
        await f.threads.post("t1", thread.id, "member", "m2", "I am not m1", "")
    with pytest.raises(InvalidArgument) as bad:
        await f.threads.post("t1", thread.id, "staff", "", "who am I", "")
    assert bad.value.field == "by"


async def test_a_late_first_response_is_reported_once() -> None:
    f = Feedback()
    thread, _ = await f.threads.open(
        tenant_id="t1", member_id="m1", kind="question", text="Hello?", store_id="s1", request_id="q"
    )
    late = thread.first_response_due + timedelta(minutes=1)

    first = await f.case_clock.run(late)
    second = await f.case_clock.run(late + DAY)
    f.now = late + DAY
    await f.threads.post("t1", thread.id, "staff", "staff-1", "Sorry for the wait.", "")

    assert (first.thread_breaches, second.thread_breaches) == (1, 0)
    [breached] = f.thread_store.facts(events.ThreadSlaBreached)
    assert (breached.thread.id, breached.sla, breached.due) == (
        thread.id,
        "first_response",
        thread.first_response_due,
    )
    assert f.thread_store.stored[("t1", thread.id)].sla_breaches == ("first_response",)


async def test_a_late_reply_reveals_the_breach_once_and_an_early_one_none() -> None:
    f = Feedback()
    late, _ = await f.threads.open(
        tenant_id="t1", member_id="m1", kind="question", text="a", store_id="s1", request_id="late"
    )
    early, _ = await f.threads.open(
        tenant_id="t1", member_id="m1", kind="question", text="b", store_id="s1", request_id="early"
    )
    await f.threads.post("t1", early.id, "staff", "staff-1", "Here you are.", "")
    f.now = late.first_response_due + timedelta(hours=1)
    await f.threads.post("t1", late.id, "staff", "staff-1", "Sorry.", "")
    await f.case_clock.run(f.now + DAY)

    assert [b.thread.id for b in f.thread_store.facts(events.ThreadSlaBreached)] == [late.id]


async def test_a_suggestion_is_adopted_once_and_a_question_never() -> None:
    f = Feedback()
    idea, _ = await f.threads.open(
        tenant_id="t1", member_id="m1", kind="suggestion", text="Open earlier", store_id="", request_id="s"
    )
    question, _ = await f.threads.open(
        tenant_id="t1", member_id="m1", kind="question", text="Why?", store_id="", request_id="q"
    )
    assigned = await f.threads.assign("t1", idea.id, "manager-1", "s2", "staff-9")
    adopted = await f.threads.adopt("t1", idea.id, "manager-1", "")
    again = await f.threads.adopt("t1", idea.id, "manager-2", "Thanks again")

    assert (assigned.assigned_store_id, assigned.assigned_staff_id) == ("s2", "staff-9")
    assert again == adopted
    assert (adopted.adopted_by, adopted.state, adopted.messages[-1].text) == (
        "manager-1",
        ThreadState.ANSWERED,
        threads.THANKS,
    )
    assert len(f.thread_store.facts(events.SuggestionAdopted)) == 1
    assert len(f.thread_store.facts(events.ThreadAssigned)) == 1
    assert not f.thread_store.facts(events.ThreadMessagePosted)  # the thanks goes with suggestion_adopted
    with pytest.raises(FailedPrecondition, match="suggestion"):
        await f.threads.adopt("t1", question.id, "manager-1", "")


async def test_a_closed_thread_takes_no_more_messages() -> None:
    f = Feedback()
    thread, _ = await f.threads.open(
        tenant_id="t1", member_id="m1", kind="question", text="a", store_id="", request_id="q"
    )
    closed = await f.threads.close("t1", thread.id, "member", "", "Found it, thanks")
    again = await f.threads.close("t1", thread.id, "staff", "staff-1", "")

    assert again == closed
    assert (closed.state, closed.closed_by, closed.messages[-1].text) == (
        ThreadState.CLOSED,
        "m1",
        "Found it, thanks",
    )
    assert len(f.thread_store.facts(events.ThreadClosed)) == 1
    with pytest.raises(FailedPrecondition, match="closed"):
        await f.threads.post("t1", thread.id, "staff", "staff-1", "Late", "")
    assert [t.id for t in await f.threads.list_threads("t1", "m1", "", "closed", "question", 0)] == [
        thread.id
    ]


async def test_a_thread_id_with_a_control_character_names_no_thread() -> None:
    """Found by the fuzzer: such an id cannot be a key part (keys.derived_id), so it is a 404."""
    f = Threads(FakeThreads(), FakePolicies())
    for act in (
        f.post("t1", "th\x1fx", "member", "m1", "hello", request_id="r-1"),
        f.adopt("t1", "th\x07", "staff-1", ""),
        f.close("t1", "th\x1f", "member", "m1", ""),
    ):
        with pytest.raises(NotFound):
            await act
