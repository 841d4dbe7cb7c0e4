"""Report use cases: count the purchases members announce, and compute the feedback report and
the review distribution of whole months in the tenant's zone (domain/reports.py says what each
figure means).

Counting a purchase is ONE insert-once write of a marker keyed by the purchase (store and
receipt: members makes one purchase per receipt of a store), holding its store, credited
assistant and local month; the counts are computed from the markers when a report asks. A
redelivered purchase_made finds its marker and counts nothing, and a crash leaves the marker
written or not — never counted without it, or twice. (A marker plus a `$inc` of a month
counter would be two writes: a crash between them loses the count for good, since the
redelivery finds the marker; no order of the two is exact under both crash and redelivery.)

Limits, on FerretDB v1 (no aggregation beyond `$match` and `$group`, which runs in the store
after its indexed `$match`): a report reads the period's cases (at most CASES_MAX, without
their timelines) and reviews (at most REVIEWS_MAX) into the service and computes there, and
groups the period's purchase markers in the store (one `$group` over the markers of the
tenant's months) — time and memory grow with one tenant's volume over the period, so a
period holds at most 12 months, and a period with more cases or reviews than the limits is
refused (FailedPrecondition: ask for fewer months or one store). The month of a purchase is
fixed when it is counted, in the zone the policy had then; a case's is computed when the
report asks, in the zone it has now — the same unless the tenant changes its zone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chassis.errors import FailedPrecondition, InvalidArgument
from services.feedback.domain.compensation import month_key
from services.feedback.domain.reports import (
    CountedPurchase,
    FeedbackReport,
    GroupBy,
    Period,
    ReviewMonth,
    feedback_report,
    parse_group_by,
    parse_period,
    review_distribution,
)
from services.feedback.domain.reviews import REF_MAX
from services.feedback.service.cases import utc_now
from services.feedback.service.ports import PolicyRepository, PurchaseCounts, ReportedCases, ReportedReviews

CASES_MAX = 20_000
REVIEWS_MAX = 100_000

Clock = Callable[[], datetime]


def _store(store_id: str) -> str:
    store = store_id.strip()
    if len(store) > REF_MAX or any(ord(ch) < 32 for ch in store):
        raise InvalidArgument("store_id", f"store_id must be at most {REF_MAX} printable characters")
    return store


class Reports:
    def __init__(
        self,
        cases: ReportedCases,
        reviews: ReportedReviews,
        purchases: PurchaseCounts,
        policies: PolicyRepository,
        clock: Clock = utc_now,
    ) -> None:
        self._cases = cases
        self._reviews = reviews
        self._purchases = purchases
        self._policies = policies
        self._clock = clock

    async def count_purchase(
        self,
        tenant_id: str,
        purchase_id: str,
        store_id: str,
        receipt_no: str,
        assistant_id: str,
        occurred_at: datetime,
        paid: int | None = None,
    ) -> bool:
        """Count a purchase members announced, once (True when counted now), in the month of
        its local date in the tenant's zone."""
        policy = await self._policies.current(tenant_id)
        return await self._purchases.count(
            CountedPurchase(
                tenant_id=tenant_id,
                purchase_id=purchase_id,
                store_id=store_id,
                receipt_no=receipt_no,
                assistant_id=assistant_id,
                occurred_at=occurred_at,
                month=month_key(occurred_at, policy.zone()),
                paid=paid,
            )
        )

    async def _period(self, tenant_id: str, from_month: str, to_month: str) -> Period:
        policy = await self._policies.current(tenant_id)
        return parse_period(from_month, to_month, policy.time_zone)

    async def feedback_report(
        self, tenant_id: str, from_month: str, to_month: str, group_by: str, store_id: str = ""
    ) -> FeedbackReport:
        grouping = parse_group_by(group_by)
        store = _store(store_id)
        period = await self._period(tenant_id, from_month, to_month)
        cases = await self._cases.opened_between(tenant_id, period.start, period.end, store, CASES_MAX + 1)
        if len(cases) > CASES_MAX:
            raise FailedPrecondition(
                f"the period holds more than {CASES_MAX} cases; ask for fewer months or one store"
            )
        counts = await self._purchases.counts(tenant_id, period.first, period.last, store)
        credited = {}
        if grouping is GroupBy.ASSISTANT:
            receipts = sorted({(c.store_id, c.receipt_no) for c in cases if c.receipt_no})
            credited = await self._purchases.credited(tenant_id, receipts)
        return feedback_report(period, grouping, cases, counts, self._clock(), credited, store)

    async def review_distribution(
        self, tenant_id: str, from_month: str, to_month: str, store_id: str = ""
    ) -> tuple[Period, tuple[ReviewMonth, ...]]:
        store = _store(store_id)
        period = await self._period(tenant_id, from_month, to_month)
        reviews = await self._reviews.posted_between(
            tenant_id, period.start, period.end, store, REVIEWS_MAX + 1
        )
        if len(reviews) > REVIEWS_MAX:
            raise FailedPrecondition(
                f"the period holds more than {REVIEWS_MAX} reviews; ask for fewer months or one store"
            )
        return period, review_distribution(period, reviews)
