"""Opening cases: the one a review opens, the one a low survey answer opens, and one a customer
or an assistant opens directly.

A review decides at its post whether it opens a case (domain.opening.opens_case) and carries that
case's id, derived from the review's (keys.case_key): `open_for_review` opens exactly that case
with the repository's insert-once. The post calls it, and so does the consumer of our own
review_posted, so a crash between the review's write and its case's is completed by the event,
and a double delivery (or both at once) makes one case. A case opened directly is keyed by the
client's request id the same way, and a survey's by the survey (`open_for_survey`: the answer
and the consumer of survey_answered both call it).

Each new case is scored for reviewer risk (domain.risk) from what members knows of the
complainant (profile, a purchase at that store, when the store opened, the cities of the
tenant's stores against a delivery city the complainant gave), what the matched purchase was
worth (members' purchase_made, as feedback counted it: `PurchaseValues`) and the tenant's recent
reviews, and its SLA due times are fixed from the policy of the moment; its complaint_opened is
written with it.

A case made from a review or survey answer whose member was erased is made scrubbed
(domain.erasure): a late review_posted or survey_answered brings nothing back. A case asked for
directly for an erased member is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ulid import ULID

from chassis.errors import FailedPrecondition
from services.feedback.domain import opening as model
from services.feedback.domain import risk, transitions
from services.feedback.domain.cases import Case
from services.feedback.domain.erasure import scrub_case
from services.feedback.domain.events import case_facts
from services.feedback.domain.policy import FeedbackPolicy
from services.feedback.domain.reviews import Review
from services.feedback.domain.surveys import Survey
from services.feedback.service.cases import Clock, change_case, utc_now
from services.feedback.service.ports import (
    CaseRepository,
    ErasureRepository,
    MembersPort,
    PolicyRepository,
    PurchaseValues,
    ReviewRepository,
)


def new_ulid() -> str:
    return str(ULID())


class CaseOpening:
    def __init__(
        self,
        cases: CaseRepository,
        reviews: ReviewRepository,
        members: MembersPort,
        policies: PolicyRepository,
        clock: Clock = utc_now,
        new_id: Callable[[], str] = new_ulid,
        purchases: PurchaseValues | None = None,
        erasures: ErasureRepository | None = None,
    ) -> None:
        self._cases = cases
        self._reviews = reviews
        self._members = members
        self._policies = policies
        self._clock = clock
        self._new_id = new_id
        self._purchases = purchases
        self._erasures = erasures

    async def open_for_review(self, review: Review) -> Case | None:
        """The case the review opens (opened now, or found), None when it opens none. Opened
        when the review was posted, so SLAs run from then; anything already missed by the time
        a late completion opens it is recorded with it."""
        if not review.case_id:
            return None
        found = await self._cases.get(review.tenant_id, review.case_id)
        if found is not None:
            return found
        now = self._clock()
        policy = await self._policies.current(review.tenant_id)
        purchased = review.verified_purchase if review.store_id else None
        claim = _Claim(review.store_id, review.receipt_no, "", review.delivery_city)
        assessed = await self._assess(
            review.tenant_id, review.member_id, claim, review.text, purchased, policy, now
        )
        case = transitions.record_breaches(
            model.case_for_review(review, policy, assessed, review.posted_at), now
        )
        if review.erased_at is not None:
            case = scrub_case(case, review.erased_at)
        stored, _ = await self._cases.insert(case, case_facts(None, case, now))
        return stored

    async def open_for_survey(self, survey: Survey) -> Case | None:
        """The case the survey's answer opens (opened now, or found), None when it opens none.
        Opened when the answer was given, so SLAs run from then; the complainant bought at that
        store (the survey is about that purchase)."""
        if not survey.case_id or survey.answer is None:
            return None
        found = await self._cases.get(survey.tenant_id, survey.case_id)
        if found is not None:
            return found
        now = self._clock()
        policy = await self._policies.current(survey.tenant_id)
        claim = _Claim(survey.store_id, survey.receipt_no, survey.purchase_id, "")
        assessed = await self._assess(
            survey.tenant_id, survey.member_id, claim, survey.answer.text, True, policy, now
        )
        case = transitions.record_breaches(
            model.case_for_survey(survey, policy, assessed, survey.answer.at), now
        )
        if survey.erased_at is not None:
            case = scrub_case(case, survey.erased_at)
        stored, _ = await self._cases.insert(case, case_facts(None, case, now))
        return stored

    async def open(
        self,
        *,
        tenant_id: str,
        member_id: str,
        store_id: str,
        category: str,
        severity: str,
        description: str,
        opened_by_kind: str,
        opened_by: str,
        request_id: str,
        receipt_no: str = "",
        delivery_city: str = "",
    ) -> tuple[Case, bool]:
        """A case a customer or an assistant opens: (the case, created now). Idempotent on
        (tenant, request_id); without a request id every call opens a new case."""
        request = model.parse_case_request(
            tenant_id=tenant_id,
            member_id=member_id,
            store_id=store_id,
            category=category,
            severity=severity,
            description=description,
            opened_by_kind=opened_by_kind,
            opened_by=opened_by,
            receipt_no=receipt_no,
            delivery_city=delivery_city,
        )
        if self._erasures is not None and await self._erasures.erased_at(tenant_id, request.member_id):
            raise FailedPrecondition(
                f"member {request.member_id} was erased; feedback keeps nothing new of them"
            )
        case_id = model.request_case_id(tenant_id, request.member_id, request_id.strip() or self._new_id())
        found = await self._cases.get(tenant_id, case_id)
        if found is not None:
            return found, False
        now = self._clock()
        policy = await self._policies.current(tenant_id)
        claim = _Claim(request.store_id, request.receipt_no, "", request.delivery_city)
        assessed = await self._assess(
            tenant_id, request.member_id, claim, request.description, None, policy, now
        )
        case = model.case_for_request(request, case_id, policy, assessed, now)
        stored, created = await self._cases.insert(case, case_facts(None, case, now))
        erased = await self._erasures.erased_at(tenant_id, request.member_id) if self._erasures else None
        if created and erased is not None:  # erased meanwhile: scrubbed as the erasure would
            _, stored = await change_case(
                self._cases, tenant_id, case_id, lambda c: scrub_case(c, erased), now
            )
        return stored, created

    async def _assess(
        self,
        tenant_id: str,
        member_id: str,
        claim: _Claim,
        text: str,
        purchased: bool | None,
        policy: FeedbackPolicy,
        now: datetime,
    ) -> risk.RiskAssessment:
        """The complainant's risk from members' profile and the store, the matched purchase's
        value, the delivery city against the stores', and their recent bad reviews."""
        store_id = claim.store_id
        profile = await self._members.profile(tenant_id, member_id)
        if store_id and purchased is None:
            purchased = await self._members.purchased_at_store(tenant_id, member_id, store_id)
        opened = await self._members.store_opened_at(tenant_id, store_id) if store_id else None
        value = None
        if self._purchases is not None and (claim.receipt_no or claim.purchase_id):
            value = await self._purchases.paid(tenant_id, store_id, claim.receipt_no, claim.purchase_id)
        remote = False
        if claim.delivery_city:
            remote = risk.remote_from(claim.delivery_city, await self._members.store_cities(tenant_id))
        bad = await self._reviews.bad_since(tenant_id, member_id, now - timedelta(days=risk.RECENT_DAYS))
        signals = risk.RiskSignals(
            at=now,
            text=text,
            profile=profile,
            purchased_at_store=purchased,
            store_opened_at=opened,
            goods_value=value,
            recent_bad_reviews=len(bad),
            recent_bad_stores=len({r.store_id for r in bad if r.store_id}),
            remote_address=remote,
        )
        return risk.score(signals, policy.risk_threshold)


@dataclass(frozen=True)
class _Claim:
    """What a complaint is about, for its risk: the store, the purchase (receipt or id), and
    the city the goods went to when the complainant gave one."""

    store_id: str
    receipt_no: str
    purchase_id: str
    delivery_city: str
