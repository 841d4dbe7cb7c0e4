"""In-memory fakes of feedback's own ports (never of Mongo or Kafka), for service-layer tests.

Each keeps the promise its port documents: an insert is once per id, a save applies only on
top of the version read, a budget charge is once per case and never past the limit, a
compensation coupon and a points award are once per case, a survey's points once per survey.
Each can also crash (`crash`): the call's effect is stored, then `Crash` is raised, as when a
process dies right after a write.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from chassis.errors import FailedPrecondition, Unavailable
from services.feedback.domain.cases import ACTIVE, Case, CaseState
from services.feedback.domain.events import CaseFact, ReviewPosted, SurveyFact, ThreadFact
from services.feedback.domain.evidence import SentMessage
from services.feedback.domain.policy import FeedbackPolicy, defaults
from services.feedback.domain.reviews import RatingClass, Review
from services.feedback.domain.risk import MemberProfile
from services.feedback.domain.surveys import Survey, SurveyState
from services.feedback.domain.threads import FIRST_RESPONSE, Thread, ThreadKind, ThreadState

F = TypeVar("F")


class Crash(Exception):
    """The process died right after the call's effect was stored."""


class Crashes:
    """Counts calls per method; `crash(method, nth)` makes the nth call from now crash after
    its effect."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._at: dict[str, int] = {}

    def crash(self, method: str, nth: int = 1) -> None:
        self._at[method] = self.calls[method] + nth

    async def called(self, method: str) -> None:
        """Count the call, and let other tasks run first (as a real round trip would)."""
        self.calls[method] += 1
        await asyncio.sleep(0)

    def after(self, method: str) -> None:
        if self._at.get(method) == self.calls[method]:
            del self._at[method]
            raise Crash(method)


class FakeReviews(Crashes):
    def __init__(self) -> None:
        super().__init__()
        self.stored: dict[tuple[str, str], Review] = {}
        self.announced: list[ReviewPosted] = []

    async def insert(self, review: Review, fact: ReviewPosted) -> tuple[Review, bool]:
        await self.called("insert")
        key = (review.tenant_id, review.id)
        if key in self.stored:
            return self.stored[key], False
        self.stored[key] = review
        self.announced.append(fact)
        self.after("insert")
        return review, True

    async def get(self, tenant_id: str, review_id: str) -> Review | None:
        await asyncio.sleep(0)
        return self.stored.get((tenant_id, review_id))

    async def save(self, review: Review, expected_version: int) -> bool:
        await self.called("save")
        key = (review.tenant_id, review.id)
        if key not in self.stored or self.stored[key].version != expected_version:
            return False
        self.stored[key] = review
        self.after("save")
        return True

    async def find(
        self, tenant_id: str, store_id: str, member_id: str, rating_class: RatingClass | None, limit: int
    ) -> list[Review]:
        found = [
            r
            for (t, _), r in self.stored.items()
            if t == tenant_id
            and (not store_id or r.store_id == store_id)
            and (not member_id or r.member_id == member_id)
            and (rating_class is None or r.rating_class is rating_class)
        ]
        return sorted(found, key=lambda r: r.posted_at, reverse=True)[:limit]

    async def of_member(self, tenant_id: str, member_id: str) -> list[Review]:
        return list(reversed(await self.find(tenant_id, "", member_id, None, 10**6)))

    async def bad_since(self, tenant_id: str, member_id: str, since: datetime) -> list[Review]:
        mine = await self.find(tenant_id, "", member_id, RatingClass.BAD, 10**6)
        return [r for r in mine if r.posted_at >= since]


class FakeCases(Crashes):
    def __init__(self) -> None:
        super().__init__()
        self.stored: dict[tuple[str, str], Case] = {}
        self.announced: list[CaseFact] = []
        self.inserts = 0  # cases really stored

    async def insert(self, case: Case, facts: Sequence[CaseFact]) -> tuple[Case, bool]:
        await self.called("insert")
        key = (case.tenant_id, case.id)
        if key in self.stored:
            return self.stored[key], False
        self.stored[key] = case
        self.announced.extend(facts)
        self.inserts += 1
        self.after("insert")
        return case, True

    async def get(self, tenant_id: str, case_id: str) -> Case | None:
        await asyncio.sleep(0)
        return self.stored.get((tenant_id, case_id))

    async def save(self, case: Case, expected_version: int, facts: Sequence[CaseFact]) -> bool:
        await self.called("save")
        key = (case.tenant_id, case.id)
        if key not in self.stored or self.stored[key].version != expected_version:
            return False
        assert case.version == expected_version + 1, "a change must move the version on"
        self.stored[key] = case
        self.announced.extend(facts)
        self.after("save")
        return True

    async def find(
        self, tenant_id: str, state: CaseState | None, store_id: str, member_id: str, limit: int
    ) -> list[Case]:
        found = [
            c
            for (t, _), c in self.stored.items()
            if t == tenant_id
            and (state is None or c.state is state)
            and (not store_id or c.store_id == store_id)
            and (not member_id or c.member_id == member_id)
        ]
        return sorted(found, key=lambda c: c.opened_at, reverse=True)[:limit]

    async def of_member(self, tenant_id: str, member_id: str) -> list[Case]:
        return list(reversed(await self.find(tenant_id, None, "", member_id, 10**6)))

    async def overdue(self, now: datetime, limit: int) -> list[Case]:
        return [
            c
            for c in self.stored.values()
            if (
                c.state is CaseState.OPEN
                and c.first_response_due < now
                and "first_response" not in c.sla_breaches
            )
            or (c.state in ACTIVE and c.resolution_due < now and "resolution" not in c.sla_breaches)
        ][:limit]

    async def follow_ups_due(self, now: datetime, limit: int) -> list[Case]:
        return [
            c
            for c in self.stored.values()
            if c.state is CaseState.RESOLVED and c.follow_up_at is not None and c.follow_up_at <= now
        ][:limit]

    async def settling(self, decided_before: datetime, limit: int) -> list[Case]:
        return [c for c in self.stored.values() if c.pending is not None and c.pending.at < decided_before][
            :limit
        ]

    def facts(self, kind: type) -> list[CaseFact]:
        return [f for f in self.announced if isinstance(f, kind)]


class FakeSurveys(Crashes):
    def __init__(self) -> None:
        super().__init__()
        self.stored: dict[tuple[str, str], Survey] = {}
        self.announced: list[SurveyFact] = []
        self.inserts = 0  # surveys really stored

    async def insert(self, survey: Survey) -> tuple[Survey, bool]:
        await self.called("insert")
        key = (survey.tenant_id, survey.id)
        if key in self.stored:
            return self.stored[key], False
        assert all(s.token != survey.token for s in self.stored.values()), "tokens are unique"
        self.stored[key] = survey
        self.inserts += 1
        self.after("insert")
        return survey, True

    async def get(self, tenant_id: str, survey_id: str) -> Survey | None:
        await asyncio.sleep(0)
        return self.stored.get((tenant_id, survey_id))

    async def by_token(self, tenant_id: str, token: str) -> Survey | None:
        await asyncio.sleep(0)
        return next((s for (t, _), s in self.stored.items() if t == tenant_id and s.token == token), None)

    async def save(self, survey: Survey, expected_version: int, facts: Sequence[SurveyFact]) -> bool:
        await self.called("save")
        key = (survey.tenant_id, survey.id)
        if key not in self.stored or self.stored[key].version != expected_version:
            return False
        assert survey.version == expected_version + 1, "a change must move the version on"
        self.stored[key] = survey
        self.announced.extend(facts)
        self.after("save")
        return True

    async def find(
        self, tenant_id: str, member_id: str, store_id: str, state: SurveyState | None, limit: int
    ) -> list[Survey]:
        found = [
            s
            for (t, _), s in self.stored.items()
            if t == tenant_id
            and (not member_id or s.member_id == member_id)
            and (not store_id or s.store_id == store_id)
            and (state is None or s.state is state)
        ]
        return sorted(found, key=lambda s: s.purchased_at, reverse=True)[:limit]

    async def of_member(self, tenant_id: str, member_id: str) -> list[Survey]:
        return await self.find(tenant_id, member_id, "", None, len(self.stored))

    async def due(self, now: datetime, limit: int) -> list[Survey]:
        found = [s for s in self.stored.values() if s.state is SurveyState.SCHEDULED and s.due_at <= now]
        return sorted(found, key=lambda s: s.due_at)[:limit]

    def facts(self, kind: type[F]) -> list[F]:
        return [f for f in self.announced if isinstance(f, kind)]


class FakeThreads(Crashes):
    def __init__(self) -> None:
        super().__init__()
        self.stored: dict[tuple[str, str], Thread] = {}
        self.announced: list[ThreadFact] = []

    async def insert(self, thread: Thread, facts: Sequence[ThreadFact]) -> tuple[Thread, bool]:
        await self.called("insert")
        key = (thread.tenant_id, thread.id)
        if key in self.stored:
            return self.stored[key], False
        self.stored[key] = thread
        self.announced.extend(facts)
        self.after("insert")
        return thread, True

    async def get(self, tenant_id: str, thread_id: str) -> Thread | None:
        await asyncio.sleep(0)
        return self.stored.get((tenant_id, thread_id))

    async def save(self, thread: Thread, expected_version: int, facts: Sequence[ThreadFact]) -> bool:
        await self.called("save")
        key = (thread.tenant_id, thread.id)
        if key not in self.stored or self.stored[key].version != expected_version:
            return False
        assert thread.version == expected_version + 1, "a change must move the version on"
        self.stored[key] = thread
        self.announced.extend(facts)
        self.after("save")
        return True

    async def find(
        self,
        tenant_id: str,
        member_id: str,
        store_id: str,
        state: ThreadState | None,
        kind: ThreadKind | None,
        limit: int,
    ) -> list[Thread]:
        found = [
            t
            for (tenant, _), t in self.stored.items()
            if tenant == tenant_id
            and (not member_id or t.member_id == member_id)
            and (not store_id or t.store_id == store_id)
            and (state is None or t.state is state)
            and (kind is None or t.kind is kind)
        ]
        return sorted(found, key=lambda t: t.opened_at, reverse=True)[:limit]

    async def of_member(self, tenant_id: str, member_id: str) -> list[Thread]:
        return await self.find(tenant_id, member_id, "", None, None, len(self.stored))

    async def overdue(self, now: datetime, limit: int) -> list[Thread]:
        return [
            t
            for t in self.stored.values()
            if FIRST_RESPONSE not in t.sla_breaches
            and t.first_response_met_at is None
            and t.first_response_due < now
        ][:limit]

    def facts(self, kind: type[F]) -> list[F]:
        return [f for f in self.announced if isinstance(f, kind)]


class FakePolicies:
    """The defaults (version 0) until a version is saved; a save applies only on top of the
    version before it."""

    def __init__(self, *policies: FeedbackPolicy) -> None:
        self.stored: dict[str, FeedbackPolicy] = {p.tenant_id: p for p in policies}

    async def current(self, tenant_id: str) -> FeedbackPolicy:
        return self.stored.get(tenant_id) or defaults(tenant_id)

    async def save(self, policy: FeedbackPolicy) -> bool:
        if (await self.current(policy.tenant_id)).version != policy.version - 1:
            return False
        self.stored[policy.tenant_id] = policy
        return True


class FakeBudget(Crashes):
    """Store-month budgets: each case charged once, never past the limit."""

    def __init__(self) -> None:
        super().__init__()
        self.spent: dict[tuple[str, str, str], int] = {}
        self.charged: dict[tuple[str, str, str], set[str]] = {}

    async def charge(
        self, tenant_id: str, store_id: str, month: str, case_id: str, amount: int, limit: int
    ) -> bool:
        await self.called("charge")
        key = (tenant_id, store_id, month)
        cases = self.charged.setdefault(key, set())
        if case_id in cases:
            self.after("charge")
            return True
        if self.spent.get(key, 0) + amount > limit:
            return False
        self.spent[key] = self.spent.get(key, 0) + amount
        cases.add(case_id)
        self.after("charge")
        return True


class FakeCoupons(Crashes):
    """Coupons' IssueCompensation: one coupon per case, refused for templates not active."""

    def __init__(self, *active_templates: str) -> None:
        super().__init__()
        self.active = set(active_templates)
        self.issued: dict[
            tuple[str, str], tuple[str, str, str]
        ] = {}  # (tenant, case) -> template, member, code

    async def issue(self, tenant_id: str, template_id: str, member_id: str, case_id: str) -> str:
        await self.called("issue")
        key = (tenant_id, case_id)
        if key not in self.issued:
            if template_id not in self.active:
                raise FailedPrecondition(f"template {template_id} is not active")
            self.issued[key] = (template_id, member_id, f"CODE{len(self.issued) + 1}")
        self.after("issue")
        return self.issued[key][2]


class FakeMembers(Crashes):
    def __init__(self) -> None:
        super().__init__()
        self.profiles: dict[tuple[str, str], MemberProfile] = {}
        self.purchases: set[tuple[str, str, str]] = set()  # (tenant, member, store)
        self.stores: dict[tuple[str, str], datetime] = {}
        self.cities: dict[str, frozenset[str]] = {}  # tenant -> its stores' cities
        self.blacklisted: dict[tuple[str, str], str] = {}
        self.points: dict[tuple[str, str], tuple[str, int]] = {}  # (tenant, case) -> member, points
        self.survey_points: dict[tuple[str, str], tuple[str, int]] = {}  # (tenant, survey) -> member, points

    def regular(self, member_id: str, store_id: str = "s1", tenant_id: str = "t1") -> None:
        """A member of long standing who bought often, at that store too."""
        self.profiles[(tenant_id, member_id)] = MemberProfile(datetime(2020, 1, 1, tzinfo=UTC), 12)
        self.purchases.add((tenant_id, member_id, store_id))

    def newcomer(self, member_id: str, joined_at: datetime, tenant_id: str = "t1") -> None:
        """A member who joined then and never bought."""
        self.profiles[(tenant_id, member_id)] = MemberProfile(joined_at, 0)

    async def profile(self, tenant_id: str, member_id: str) -> MemberProfile | None:
        return self.profiles.get((tenant_id, member_id))

    async def purchased_at_store(self, tenant_id: str, member_id: str, store_id: str) -> bool:
        return (tenant_id, member_id, store_id) in self.purchases

    async def store_opened_at(self, tenant_id: str, store_id: str) -> datetime | None:
        return self.stores.get((tenant_id, store_id))

    async def store_cities(self, tenant_id: str) -> frozenset[str]:
        return self.cities.get(tenant_id, frozenset())

    async def blacklist(self, tenant_id: str, member_id: str, reason: str) -> None:
        await self.called("blacklist")
        self.blacklisted[(tenant_id, member_id)] = reason
        self.after("blacklist")

    async def award_points(self, tenant_id: str, member_id: str, points: int, case_id: str) -> None:
        await self.called("award_points")
        self.points.setdefault((tenant_id, case_id), (member_id, points))
        self.after("award_points")

    async def award_survey_points(self, tenant_id: str, member_id: str, points: int, survey_id: str) -> None:
        await self.called("award_survey_points")
        self.survey_points.setdefault((tenant_id, survey_id), (member_id, points))
        self.after("award_survey_points")


class FakeErasures(Crashes):
    """Erased members, each marked once."""

    def __init__(self) -> None:
        super().__init__()
        self.marked: dict[tuple[str, str], datetime] = {}

    async def record(self, tenant_id: str, member_id: str, at: datetime) -> datetime:
        await self.called("record")
        first = self.marked.setdefault((tenant_id, member_id), at)
        self.after("record")
        return first

    async def erased_at(self, tenant_id: str, member_id: str) -> datetime | None:
        return self.marked.get((tenant_id, member_id))


class FakePurchaseValues:
    """What purchase_made said each (store, receipt) was paid."""

    def __init__(self) -> None:
        self.paid_for: dict[tuple[str, str, str], int] = {}  # (tenant, store, receipt) -> minor units

    async def paid(self, tenant_id: str, store_id: str, receipt_no: str, purchase_id: str = "") -> int | None:
        return self.paid_for.get((tenant_id, store_id, receipt_no))


class FakeMessaging:
    """Messaging's list of what it sent each member; `down` makes it not answer."""

    def __init__(self) -> None:
        self.sent: dict[tuple[str, str], list[SentMessage]] = {}
        self.down = False
        self.more = False

    async def sent_to(self, tenant_id: str, member_id: str) -> tuple[list[SentMessage], bool]:
        if self.down:
            raise Unavailable("messaging did not answer (UNAVAILABLE)")
        return list(self.sent.get((tenant_id, member_id), [])), self.more


def with_coupons(tenant_id: str = "t1", budget: int = 5000, **changes: Any) -> FeedbackPolicy:
    """The defaults with the presets' templates set ("tpl-medium", "tpl-bad") and a budget."""
    policy = defaults(tenant_id)
    presets = tuple(replace(p, template_id=f"tpl-{p.rating_class.value}") for p in policy.presets)
    settings: dict[str, Any] = {"version": 1, **changes}
    return replace(policy, presets=presets, store_monthly_budget=budget, **settings)
