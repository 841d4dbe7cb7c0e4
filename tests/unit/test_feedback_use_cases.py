"""Feedback's use cases on in-memory fakes of its ports: a review opens one case however often
it is opened, a resolution hands over one coupon and charges the budget once whatever crashes
between its writes, risky cases wait for a manager, the clock reports each breach and each
follow-up once."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from chassis.errors import FailedPrecondition, InvalidArgument
from services.feedback.domain import events
from services.feedback.domain.cases import Action, Case, CaseState, parse_remedy
from services.feedback.domain.policy import FeedbackPolicy, defaults
from services.feedback.domain.reviews import Review
from services.feedback.domain.risk import RiskDecision
from services.feedback.service.cases import Cases
from services.feedback.service.clock import CaseClock
from services.feedback.service.erasure import Erasure
from services.feedback.service.evidence import Evidence
from services.feedback.service.opening import CaseOpening
from services.feedback.service.policy import Policies
from services.feedback.service.resolving import Resolutions
from services.feedback.service.reviews import Reviews
from tests.unit.fakes_feedback import (
    Crash,
    FakeBudget,
    FakeCases,
    FakeCoupons,
    FakeErasures,
    FakeMembers,
    FakeMessaging,
    FakePolicies,
    FakePurchaseValues,
    FakeReviews,
    FakeSurveys,
    FakeThreads,
    with_coupons,
)

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai, as the store opens
COUPON = parse_remedy("coupon", "sorry for the scratched case")
APOLOGY = parse_remedy("apology_only", "")


class Feedback:
    """The use cases wired on fakes, as bootstrap.py wires them on the store and the clients."""

    def __init__(self, policy: FeedbackPolicy | None = None) -> None:
        self.now = NOW
        ids = itertools.count(1)
        self.review_store = FakeReviews()
        self.case_store = FakeCases()
        self.policies = FakePolicies(policy or with_coupons())
        self.budget = FakeBudget()
        self.coupons = FakeCoupons("tpl-medium", "tpl-bad", "tpl-vip")
        self.members = FakeMembers()
        self.members.regular("m1")
        self.thread_store = FakeThreads()
        self.survey_store = FakeSurveys()
        self.erasures = FakeErasures()
        self.purchases = FakePurchaseValues()
        self.messaging = FakeMessaging()
        self.erasure = Erasure(
            self.erasures,
            self.review_store,
            self.case_store,
            self.thread_store,
            self.survey_store,
            self.clock,
        )
        self.opening = CaseOpening(
            self.case_store,
            self.review_store,
            self.members,
            self.policies,
            self.clock,
            lambda: f"id{next(ids)}",
            purchases=self.purchases,
            erasures=self.erasures,
        )
        self.reviews = Reviews(
            self.review_store,
            self.opening,
            self.members,
            self.policies,
            self.clock,
            lambda: f"id{next(ids)}",
            erasure=self.erasure,
        )
        self.evidence = Evidence(
            self.review_store,
            self.case_store,
            self.thread_store,
            self.survey_store,
            self.messaging,
            self.clock,
        )
        self.cases = Cases(self.case_store, self.review_store, self.clock)
        self.resolutions = Resolutions(
            self.case_store, self.policies, self.budget, self.coupons, self.members, self.clock
        )
        self.case_clock = CaseClock(self.case_store, self.resolutions)

    def clock(self) -> datetime:
        return self.now

    async def review(
        self,
        rating: int = 1,
        member: str = "m1",
        request: str = "req-1",
        store: str = "s1",
        text: str = "rude",
    ) -> tuple[Review, bool]:
        return await self.reviews.post(
            tenant_id="t1",
            member_id=member,
            store_id=store,
            receipt_no="R1",
            sku="",
            rating=rating,
            text=text,
            image_urls=[],
            channel="mini_program",
            request_id=request,
        )

    async def in_progress(self, member: str = "m1", request: str = "req-1", store: str = "s1") -> Case:
        review, _ = await self.review(member=member, request=request, store=store)
        await self.cases.acknowledge("t1", review.case_id, "staff-1", "we are sorry; we will call you today")
        return await self.cases.start("t1", review.case_id, "staff-1", "", assign_staff_id="staff-2")

    def case(self, case_id: str) -> Case:
        return self.case_store.stored[("t1", case_id)]


async def test_a_bad_review_opens_exactly_one_case_however_often_it_is_opened() -> None:
    f = Feedback()
    review, created = await f.review(rating=1)

    again = [await f.opening.open_for_review(review) for _ in range(2)]
    await asyncio.gather(*(f.opening.open_for_review(review) for _ in range(3)))  # consumer replicas at once
    retried, created_again = await f.review(rating=1)

    assert created
    assert not created_again
    assert retried == review
    assert f.case_store.inserts == 1
    assert len(f.case_store.stored) == 1
    assert review.case_id
    assert all(c is not None and c.id == review.case_id for c in again)
    assert len(f.case_store.facts(events.ComplaintOpened)) == 1
    assert len(f.review_store.announced) == 1
    case = f.case(review.case_id)
    assert (case.review_id, case.state, case.severity.value, case.source.value) == (
        review.id,
        CaseState.OPEN,
        "high",
        "review",
    )


async def test_a_crash_between_the_review_and_its_case_is_completed_by_review_posted() -> None:
    f = Feedback()
    f.review_store.crash("insert")

    with pytest.raises(Crash):
        await f.review(rating=2)
    assert not f.case_store.stored  # the review is written, its case not yet
    [posted] = f.review_store.announced
    await f.opening.open_for_review(posted.review)  # the consumer of our own review_posted
    await f.opening.open_for_review(posted.review)  # delivered twice

    assert [c.review_id for c in f.case_store.stored.values()] == [posted.review.id]
    assert len(f.case_store.facts(events.ComplaintOpened)) == 1


async def test_good_reviews_open_no_case_and_medium_ones_only_when_the_policy_says_so() -> None:
    f = Feedback()
    good, _ = await f.review(rating=5, request="a")
    medium, _ = await f.review(rating=3, request="b")
    assert (good.case_id, medium.case_id) == ("", "")
    assert not f.case_store.stored

    g = Feedback(with_coupons(open_case_for_medium=True))
    medium, _ = await g.review(rating=3, request="b")
    assert medium.case_id
    assert g.case(medium.case_id).severity.value == "low"


async def test_a_post_is_idempotent_per_member_and_request_and_verifies_the_purchase() -> None:
    f = Feedback()
    first, _ = await f.review(rating=4, member="m1", request="same")
    other, created = await f.review(rating=4, member="m2", request="same")

    assert created
    assert other.id != first.id
    assert first.verified_purchase
    assert not other.verified_purchase
    with pytest.raises(InvalidArgument) as bad:
        await f.review(rating=6, request="x")
    assert bad.value.field == "rating"


@pytest.mark.parametrize(
    ("port", "method", "nth"),
    [
        ("case_store", "save", 1),  # the settlement is on the case
        ("budget", "charge", 1),  # the budget is charged
        ("coupons", "issue", 1),  # the coupon is issued
        ("case_store", "save", 2),  # the case is resolved
    ],
)
async def test_a_resolve_retried_after_a_crash_at_any_step_issues_one_coupon_and_charges_once(
    port: str, method: str, nth: int
) -> None:
    f = Feedback()
    case = await f.in_progress()
    getattr(f, port).crash(method, nth)

    with pytest.raises(Crash):
        await f.resolutions.resolve("t1", case.id, "staff-1", COUPON)
    f.now += timedelta(minutes=5)  # a retry later
    resolved = await f.resolutions.resolve("t1", case.id, "staff-1", COUPON)
    again = await f.resolutions.resolve("t1", case.id, "staff-1", COUPON)

    assert resolved == again == f.case(case.id)
    assert resolved.state is CaseState.RESOLVED
    assert resolved.pending is None
    assert list(f.coupons.issued.values()) == [("tpl-bad", "m1", resolved.remedy.coupon_code)]  # type: ignore[union-attr]
    assert f.budget.spent == {("t1", "s1", "2026-03"): 1000}
    assert len(f.case_store.facts(events.ComplaintResolved)) == 1
    assert [e.action for e in resolved.timeline].count(Action.COMPENSATION_ISSUED) == 1
    assert resolved.resolved_at == NOW
    assert resolved.follow_up_at == NOW + timedelta(days=7)


async def test_the_clock_finishes_a_resolution_a_crash_left_half_done() -> None:
    f = Feedback()
    case = await f.in_progress()
    f.coupons.crash("issue")
    with pytest.raises(Crash):
        await f.resolutions.resolve("t1", case.id, "staff-1", COUPON)

    assert (await f.case_clock.run(NOW + timedelta(seconds=10))).resolutions_finished == 0  # still in flight
    summary = await f.case_clock.run(NOW + timedelta(minutes=2))

    assert summary.resolutions_finished == 1
    assert f.case(case.id).state is CaseState.RESOLVED
    assert len(f.coupons.issued) == 1
    assert sum(f.budget.spent.values()) == 1000


async def test_two_resolves_at_once_issue_one_coupon() -> None:
    f = Feedback()
    case = await f.in_progress()

    done = await asyncio.gather(*(f.resolutions.resolve("t1", case.id, "staff-1", COUPON) for _ in range(3)))

    assert {c.remedy.coupon_code for c in done if c.remedy} == {"CODE1"}
    assert len(f.coupons.issued) == 1
    assert sum(f.budget.spent.values()) == 1000
    assert len(f.case_store.facts(events.ComplaintResolved)) == 1


async def test_a_retried_resolution_finishes_as_planned_even_in_the_next_month_after_a_policy_change() -> (
    None
):
    f = Feedback()
    case = await f.in_progress()
    f.budget.crash("charge")
    with pytest.raises(Crash):
        await f.resolutions.resolve("t1", case.id, "staff-1", COUPON)
    f.now = datetime(2026, 4, 2, tzinfo=UTC)
    f.policies.stored["t1"] = with_coupons(budget=9000, version=2)

    resolved = await f.resolutions.resolve("t1", case.id, "staff-1", parse_remedy("points", "", points=50))

    assert resolved.remedy is not None
    assert resolved.remedy.kind.value == "coupon"
    assert f.budget.spent == {("t1", "s1", "2026-03"): 1000}
    assert not f.members.points


async def test_the_budget_refuses_a_compensation_past_it_and_the_case_can_be_resolved_otherwise() -> None:
    f = Feedback(with_coupons(budget=1500))
    first = await f.in_progress(member="m1", request="a")
    second = await f.in_progress(member="m1", request="b")
    await f.resolutions.resolve("t1", first.id, "staff-1", COUPON)

    with pytest.raises(FailedPrecondition, match="cannot cover"):
        await f.resolutions.resolve("t1", second.id, "staff-1", COUPON)

    refused = f.case(second.id)
    assert refused.state is CaseState.IN_PROGRESS
    assert refused.pending is None
    assert "cannot cover" in refused.timeline[-1].note
    assert len(f.coupons.issued) == 1
    assert f.budget.spent == {("t1", "s1", "2026-03"): 1000}
    resolved = await f.resolutions.resolve("t1", second.id, "staff-1", APOLOGY)
    assert resolved.state is CaseState.RESOLVED
    assert resolved.remedy == APOLOGY


async def test_no_coupon_without_a_template_or_a_budget_and_the_refusal_says_which() -> None:
    f = Feedback(defaults("t1"))
    case = await f.in_progress()
    with pytest.raises(FailedPrecondition, match="store_monthly_budget"):
        await f.resolutions.resolve("t1", case.id, "staff-1", COUPON)
    f.policies.stored["t1"] = FeedbackPolicy("t1", store_monthly_budget=5000, version=1)
    with pytest.raises(FailedPrecondition, match="no compensation coupon is set for bad reviews"):
        await f.resolutions.resolve("t1", case.id, "staff-1", COUPON)

    chosen = parse_remedy("coupon", "", template_id="tpl-vip", value=800)
    resolved = await f.resolutions.resolve("t1", case.id, "staff-1", chosen)

    assert f.coupons.issued[("t1", case.id)][0] == "tpl-vip"
    assert sum(f.budget.spent.values()) == 800
    assert resolved.remedy is not None
    assert resolved.remedy.value == 800


async def test_a_risky_case_gets_no_compensation_until_a_manager_approves() -> None:
    f = Feedback()
    f.members.newcomer("m9", joined_at=NOW - timedelta(days=1))  # no purchase, at this store or anywhere
    case = await f.in_progress(member="m9")
    assert case.risk.needs_manager
    assert "no purchase at this store" in case.risk.reasons

    with pytest.raises(FailedPrecondition, match="needs a manager's decision"):
        await f.resolutions.resolve("t1", case.id, "staff-1", COUPON)
    assert not f.coupons.issued
    assert not f.budget.spent
    assert f.case(case.id).pending is None

    approved = await f.resolutions.decide_risk(
        "t1", case.id, "manager-1", "approve", "receipt shown in store"
    )
    resolved = await f.resolutions.resolve("t1", case.id, "staff-1", COUPON)

    assert approved.risk.decision is RiskDecision.APPROVED
    assert approved.risk.decided_by == "manager-1"
    assert resolved.state is CaseState.RESOLVED
    assert len(f.coupons.issued) == 1


async def test_an_apology_needs_no_manager_even_on_a_risky_case() -> None:
    f = Feedback()
    f.members.newcomer("m9", joined_at=NOW - timedelta(days=1))
    case = await f.in_progress(member="m9")

    resolved = await f.resolutions.resolve("t1", case.id, "staff-1", APOLOGY)

    assert resolved.state is CaseState.RESOLVED
    assert not f.coupons.issued


async def test_confirmed_extortion_rejects_the_case_and_blacklists_once_even_when_retried() -> None:
    f = Feedback()
    f.members.newcomer("m9", joined_at=NOW)
    review, _ = await f.review(member="m9", text="加我微信 abc12345, 转账 500 元 or I post more")
    f.members.crash("blacklist")

    with pytest.raises(Crash):
        await f.resolutions.decide_risk(
            "t1", review.case_id, "manager-1", "confirm_extortion", "asked for cash", True
        )
    rejected = await f.resolutions.decide_risk(
        "t1", review.case_id, "manager-1", "confirm_extortion", "asked for cash", True
    )

    assert rejected.state is CaseState.REJECTED
    assert rejected.risk.decision is RiskDecision.EXTORTION_CONFIRMED
    assert [e.action for e in rejected.timeline][-2:] == [Action.EXTORTION_CONFIRMED, Action.REJECTED]
    assert f.members.blacklisted == {("t1", "m9"): f"extortion confirmed on case {review.case_id}"}
    assert f.review_store.stored[("t1", review.id)].text.startswith("加我微信")  # the review stays as written
    with pytest.raises(FailedPrecondition, match="the case is rejected; it cannot be resolved"):
        await f.resolutions.resolve("t1", review.case_id, "staff-1", APOLOGY)


async def test_a_points_remedy_is_awarded_once_when_retried_after_a_crash() -> None:
    f = Feedback()
    case = await f.in_progress()
    f.members.crash("award_points")
    points = parse_remedy("points", "", points=200)

    with pytest.raises(Crash):
        await f.resolutions.resolve("t1", case.id, "staff-1", points)
    resolved = await f.resolutions.resolve("t1", case.id, "staff-1", points)

    assert f.members.points == {("t1", case.id): ("m1", 200)}
    assert f.members.calls["award_points"] == 2
    assert resolved.state is CaseState.RESOLVED
    assert not f.budget.spent


async def test_each_sla_breach_is_reported_once_even_by_two_clocks_at_once() -> None:
    f = Feedback()
    review, _ = await f.review(rating=1)  # high: first response in 4 business hours, resolution in 24
    case = f.case(review.case_id)
    assert case.first_response_due == NOW + timedelta(hours=4)

    assert (await f.case_clock.run(case.first_response_due)).breaches == 0  # due, not overdue
    later = case.first_response_due + timedelta(minutes=1)
    summaries = await asyncio.gather(f.case_clock.run(later), f.case_clock.run(later))
    again = await f.case_clock.run(later + timedelta(hours=1))
    after_resolution_due = await f.case_clock.run(case.resolution_due + timedelta(minutes=1))

    assert sorted(s.breaches for s in summaries) == [0, 1]
    assert again.breaches == 0
    assert after_resolution_due.breaches == 1
    breached = f.case_store.facts(events.ComplaintSlaBreached)
    assert [(b.sla, b.due) for b in breached] == [  # type: ignore[union-attr]
        ("first_response", case.first_response_due),
        ("resolution", case.resolution_due),
    ]
    assert f.case(case.id).sla_breaches == ("first_response", "resolution")


async def test_a_late_acknowledgement_records_its_breach_with_it_once() -> None:
    f = Feedback()
    review, _ = await f.review(rating=1)
    f.now = NOW + timedelta(hours=5)

    late = await f.cases.acknowledge("t1", review.case_id, "staff-1", "so sorry for the wait")

    assert late.sla_breaches == ("first_response",)
    assert (await f.case_clock.run(f.now)).breaches == 0
    assert len(f.case_store.facts(events.ComplaintSlaBreached)) == 1


async def test_the_follow_up_comes_once_and_the_case_closes_with_the_customers_satisfaction() -> None:
    f = Feedback()
    case = await f.in_progress()
    resolved = await f.resolutions.resolve("t1", case.id, "staff-1", COUPON)
    assert resolved.follow_up_at is not None

    early = await f.case_clock.run(resolved.follow_up_at - timedelta(minutes=1))
    due = await f.case_clock.run(resolved.follow_up_at)
    again = await f.case_clock.run(resolved.follow_up_at + timedelta(hours=1))
    f.now = resolved.follow_up_at + timedelta(hours=2)
    closed = await f.cases.close("t1", case.id, "staff-1", 4, "happy with the coupon")

    assert (early.follow_ups_due, due.follow_ups_due, again.follow_ups_due) == (0, 1, 0)
    assert len(f.case_store.facts(events.ComplaintFollowUpDue)) == 1
    assert closed.state is CaseState.CLOSED
    assert closed.satisfaction == 4
    kinds = [type(fact).__name__ for fact in f.case_store.announced if fact.case.id == case.id]
    assert kinds == [
        "ComplaintOpened",
        "ComplaintAcknowledged",
        "ComplaintResolved",
        "ComplaintFollowUpDue",
        "ComplaintClosed",
    ]


async def test_an_illegal_move_is_refused_naming_the_state_and_changes_nothing() -> None:
    f = Feedback()
    review, _ = await f.review(rating=1)
    before = f.case(review.case_id)

    with pytest.raises(FailedPrecondition, match="the case is open; it cannot be closed"):
        await f.cases.close("t1", review.case_id, "staff-1", 5, "")

    assert f.case(review.case_id) == before


async def test_a_case_opened_directly_is_idempotent_on_its_request_id() -> None:
    f = Feedback()
    opened = [
        await f.opening.open(
            tenant_id="t1",
            member_id="m1",
            store_id="s1",
            category="service_discount_not_honoured",
            severity="medium",
            description="the promised 20% off was refused",
            opened_by_kind="assistant",
            opened_by="staff-3",
            request_id="call-7",
        )
        for _ in range(2)
    ]

    assert [created for _, created in opened] == [True, False]
    assert opened[0][0] == opened[1][0]
    assert opened[0][0].opened_by == "staff-3"
    assert len(f.case_store.facts(events.ComplaintOpened)) == 1


async def test_the_evidence_pack_lists_the_members_reviews_and_cases_only() -> None:
    f = Feedback()
    f.members.newcomer("m9", joined_at=NOW)
    await f.review(member="m9", request="a", store="s1")
    await f.review(member="m9", request="b", store="s2", rating=5)
    await f.review(member="m1", request="c")

    pack = await f.evidence.export("t1", "m9")

    assert pack.member_id == "m9"
    assert len(pack.reviews) == 2
    assert len(pack.cases) == 1
    assert {r.member_id for r in pack.reviews} == {"m9"}
    assert pack.cases[0].timeline[0].action is Action.OPENED
    assert pack.exported_at == NOW


async def test_many_bad_reviews_across_stores_count_against_the_reviewer() -> None:
    f = Feedback()
    f.members.regular("m5", store_id="s3")
    for i, store in enumerate(("s1", "s2", "s3")):
        review, _ = await f.review(member="m5", request=f"r{i}", store=store)

    last = f.case(review.case_id)
    assert "3 bad reviews at 3 stores in the last 30 days" in last.risk.reasons


async def test_the_shop_replies_and_the_member_amends_keeping_the_history() -> None:
    f = Feedback()
    review, _ = await f.review(rating=2, text="slow service")
    replied = await f.reviews.reply(
        "t1", review.id, "We are sorry; we have added staff on Sundays.", "staff-1"
    )
    with pytest.raises(FailedPrecondition, match="only the member"):
        await f.reviews.amend("t1", review.id, "m2", 5, "great", [])
    amended = await f.reviews.amend("t1", review.id, "m1", 4, "much better after the call", [])

    assert replied.reply is not None
    assert replied.reply.quoted_text == "slow service"
    assert amended.rating == 4
    assert [v.text for v in amended.history] == ["slow service"]
    assert amended.reply == replied.reply
    assert amended.case_id == review.case_id
    assert f.case(review.case_id).state is CaseState.OPEN  # amending changes no case


async def test_the_policy_changes_only_on_top_of_the_version_read() -> None:
    store = FakePolicies()
    policies = Policies(store, clock=lambda: NOW)

    first = await policies.update("t1", {"follow_up_days": 5}, 0, "manager-1")
    with pytest.raises(FailedPrecondition, match="at version 1, not 0"):
        await policies.update("t1", {"follow_up_days": 3}, 0, "manager-2")
    same = await policies.update("t1", {"follow_up_days": 5}, 1, "manager-2")

    assert (first.version, first.follow_up_days, first.changed_by) == (1, 5, "manager-1")
    assert same == first
    assert (await policies.get("t1")).version == 1
    assert (await policies.get("t2")).version == 0
    with pytest.raises(InvalidArgument) as bad:
        await policies.update("t1", {"slas": [{"severity": "high", "first_response_hours": 0}]}, 1, "m")
    assert bad.value.field == "slas[0].first_response_hours"


async def test_another_member_reusing_a_request_id_opens_their_own_case() -> None:
    f = Feedback()
    opened = [
        await f.opening.open(
            tenant_id="t1",
            member_id=member,
            store_id="s1",
            category="service_attitude",
            severity="low",
            description="nobody answered",
            opened_by_kind="customer",
            opened_by=member,
            request_id="req-1",
        )
        for member in ("m1", "m2")
    ]

    assert [created for _, created in opened] == [True, True]
    assert [case.member_id for case, _ in opened] == ["m1", "m2"]
