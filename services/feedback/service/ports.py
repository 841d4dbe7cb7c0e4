"""What the feedback use cases need from the outside world, in domain types only.

Each method's docstring is the promise its implementation keeps (and the fakes in
tests/unit/fakes_feedback.py keep too): an insert is once per id, a save is conditional on the
version read, every effect on another service is once per case however often it is asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from services.feedback.domain.cases import Case, CaseState
from services.feedback.domain.events import CaseFact, ReviewPosted, SurveyFact, ThreadFact
from services.feedback.domain.policy import FeedbackPolicy
from services.feedback.domain.reports import (
    CaseFigures,
    CountedPurchase,
    PurchaseCount,
    Receipt,
    ReviewFigures,
)
from services.feedback.domain.reviews import RatingClass, Review
from services.feedback.domain.risk import MemberProfile
from services.feedback.domain.surveys import Survey, SurveyState
from services.feedback.domain.threads import Thread, ThreadKind, ThreadState


class ReviewRepository(Protocol):
    async def insert(self, review: Review, fact: ReviewPosted) -> tuple[Review, bool]:
        """Store the review with its review_posted in one write, once per review id: (the
        review, True) when stored now; (the review stored first, False) when the id is taken."""

    async def get(self, tenant_id: str, review_id: str) -> Review | None: ...

    async def save(self, review: Review, expected_version: int) -> bool:
        """Store `review` over the stored one only if that is still at `expected_version`;
        False (nothing written) when it is not."""

    async def find(
        self, tenant_id: str, store_id: str, member_id: str, rating_class: RatingClass | None, limit: int
    ) -> list[Review]:
        """The tenant's reviews, newest first, filtered by whatever is given ("" / None: any)."""

    async def of_member(self, tenant_id: str, member_id: str) -> list[Review]:
        """Every review of the member, oldest first."""

    async def bad_since(self, tenant_id: str, member_id: str, since: datetime) -> list[Review]:
        """The member's bad reviews (rating 1-2) posted at or after `since`, at any store."""


class CaseRepository(Protocol):
    async def insert(self, case: Case, facts: Sequence[CaseFact]) -> tuple[Case, bool]:
        """Store the case with its facts in one write, once per case id: (the case, True) when
        stored now; (the case stored first, False) when the id is taken (its facts are not
        written again)."""

    async def get(self, tenant_id: str, case_id: str) -> Case | None: ...

    async def save(self, case: Case, expected_version: int, facts: Sequence[CaseFact]) -> bool:
        """Store `case` with its facts in one write, only if the stored case is still at
        `expected_version`; False (nothing written, nothing announced) when it is not."""

    async def find(
        self, tenant_id: str, state: CaseState | None, store_id: str, member_id: str, limit: int
    ) -> list[Case]:
        """The tenant's cases, newest first, filtered by whatever is given ("" / None: any)."""

    async def of_member(self, tenant_id: str, member_id: str) -> list[Case]:
        """Every case of the member, oldest first."""

    async def overdue(self, now: datetime, limit: int) -> list[Case]:
        """Cases of any tenant with an SLA due before `now` and not recorded as breached: open
        ones past their first response due, and open, acknowledged or in-progress ones past
        their resolution due. It may return more (the use case judges each); never fewer."""

    async def follow_ups_due(self, now: datetime, limit: int) -> list[Case]:
        """Resolved cases of any tenant whose follow-up day is at or before `now`."""

    async def settling(self, decided_before: datetime, limit: int) -> list[Case]:
        """Cases of any tenant with a resolution under way (a pending settlement) decided
        before then: what a crash or a caller that gave up left half-done."""


class SurveyRepository(Protocol):
    async def insert(self, survey: Survey) -> tuple[Survey, bool]:
        """Store the survey once per id (it announces nothing yet): (the survey, True) when
        stored now; (the survey stored first, False) when the id is taken."""

    async def get(self, tenant_id: str, survey_id: str) -> Survey | None: ...

    async def by_token(self, tenant_id: str, token: str) -> Survey | None:
        """The tenant's survey with this token (tokens are unique)."""

    async def save(self, survey: Survey, expected_version: int, facts: Sequence[SurveyFact]) -> bool:
        """Store `survey` with its facts in one write, only if the stored survey is still at
        `expected_version`; False (nothing written, nothing announced) when it is not."""

    async def find(
        self, tenant_id: str, member_id: str, store_id: str, state: SurveyState | None, limit: int
    ) -> list[Survey]:
        """The tenant's surveys, newest purchase first, filtered by whatever is given."""

    async def of_member(self, tenant_id: str, member_id: str) -> list[Survey]:
        """Every survey of the member, newest purchase first."""

    async def due(self, now: datetime, limit: int) -> list[Survey]:
        """Scheduled surveys of any tenant due at or before `now`, earliest first. It may return
        more (the use case judges each); never fewer."""


class ThreadRepository(Protocol):
    async def insert(self, thread: Thread, facts: Sequence[ThreadFact]) -> tuple[Thread, bool]:
        """Store the thread with its facts in one write, once per id: (the thread, True) when
        stored now; (the thread stored first, False) when the id is taken."""

    async def get(self, tenant_id: str, thread_id: str) -> Thread | None: ...

    async def save(self, thread: Thread, expected_version: int, facts: Sequence[ThreadFact]) -> bool:
        """Store `thread` with its facts in one write, only if the stored thread is still at
        `expected_version`; False (nothing written, nothing announced) when it is not."""

    async def find(
        self,
        tenant_id: str,
        member_id: str,
        store_id: str,
        state: ThreadState | None,
        kind: ThreadKind | None,
        limit: int,
    ) -> list[Thread]:
        """The tenant's threads, newest first, filtered by whatever is given."""

    async def of_member(self, tenant_id: str, member_id: str) -> list[Thread]:
        """Every thread of the member, newest first."""

    async def overdue(self, now: datetime, limit: int) -> list[Thread]:
        """Threads of any tenant whose first response was due before `now`, not given and not
        recorded as breached. It may return more (the use case judges each); never fewer."""


class ErasureRepository(Protocol):
    async def record(self, tenant_id: str, member_id: str, at: datetime) -> datetime:
        """Mark the member erased, once (one insert-once write): when they were first marked."""

    async def erased_at(self, tenant_id: str, member_id: str) -> datetime | None:
        """When the member was marked erased; None when they were not."""


class PolicyRepository(Protocol):
    async def current(self, tenant_id: str) -> FeedbackPolicy:
        """The tenant's current policy (the defaults, version 0, when it never set one)."""

    async def save(self, policy: FeedbackPolicy) -> bool:
        """Make `policy` current unless the tenant's current version is no longer the one
        before it (`policy.version - 1`): False, nothing written."""


class Compensation(Protocol):
    """The stores' monthly compensation budgets."""

    async def charge(
        self, tenant_id: str, store_id: str, month: str, case_id: str, amount: int, limit: int
    ) -> bool:
        """Charge `amount` to the store's budget for `month` ("YYYY-MM") under `case_id`, once:
        True when the case is charged (now, or by an earlier call); False when what is left of
        `limit` cannot cover it (nothing charged). One atomic conditional write, so two cases
        never both take the last of a budget."""


class CouponsPort(Protocol):
    async def issue(self, tenant_id: str, template_id: str, member_id: str, case_id: str) -> str:
        """The code of the compensation coupon of this case (coupons' IssueCompensation, keyed
        by the case): the same coupon however often it is asked. FailedPrecondition / NotFound
        when coupons refuses (the template is not active, say): nothing was issued."""


class MembersPort(Protocol):
    async def profile(self, tenant_id: str, member_id: str) -> MemberProfile | None:
        """When the member joined and how often they bought; None when members has no such member."""

    async def purchased_at_store(self, tenant_id: str, member_id: str, store_id: str) -> bool:
        """Whether the member has a purchase (a receipt) at that store."""

    async def store_opened_at(self, tenant_id: str, store_id: str) -> datetime | None:
        """When the store opened (came into the chain's directory); None when unknown."""

    async def store_cities(self, tenant_id: str) -> frozenset[str]:
        """The cities the tenant's stores are in, as the directory names them (none: unknown)."""

    async def blacklist(self, tenant_id: str, member_id: str, reason: str) -> None:
        """Put the member on the blacklist with the reason (again: no change)."""

    async def award_points(self, tenant_id: str, member_id: str, points: int, case_id: str) -> None:
        """Give the member `points` as this case's remedy, once per case however often called."""

    async def award_survey_points(self, tenant_id: str, member_id: str, points: int, survey_id: str) -> None:
        """Give the member `points` for answering this survey (members' reason survey_answer,
        source the survey id), once per survey however often called."""


class ReportedCases(Protocol):
    async def opened_between(
        self, tenant_id: str, start: datetime, end: datetime, store_id: str, limit: int
    ) -> list[CaseFigures]:
        """What reports read of the tenant's cases opened at or after `start` and before `end`
        (of one store when `store_id` is given), at most `limit` of them: the caller asks one
        more than it takes, to know when there are too many."""


class ReportedReviews(Protocol):
    async def posted_between(
        self, tenant_id: str, start: datetime, end: datetime, store_id: str, limit: int
    ) -> list[ReviewFigures]:
        """What reports read of the tenant's reviews posted at or after `start` and before
        `end` (of one store when `store_id` is given), at most `limit` of them."""


class PurchaseValues(Protocol):
    async def paid(self, tenant_id: str, store_id: str, receipt_no: str, purchase_id: str = "") -> int | None:
        """What the purchase with this receipt at that store (or, without a receipt, this
        purchase id) was paid, in minor units, as purchase_made told it; None when feedback has
        not seen it (or saw it before values were kept)."""


class PurchaseCounts(Protocol):
    """The purchases members announced, counted for reports."""

    async def count(self, purchase: CountedPurchase) -> bool:
        """Count the purchase once: True when counted now, False when it was counted before
        (a redelivered purchase_made). One write, so a crash leaves it counted or not."""

    async def counts(
        self, tenant_id: str, first_month: str, last_month: str, store_id: str
    ) -> list[PurchaseCount]:
        """How many purchases were counted per store, assistant and month from `first_month`
        to `last_month` ("YYYY-MM", both included), of one store when `store_id` is given."""

    async def credited(self, tenant_id: str, receipts: Sequence[Receipt]) -> dict[Receipt, str]:
        """The assistant credited with each of these (store, receipt) purchases that was counted
        (none: not in the answer)."""
