"""Feedback reports: nearest-rank percentiles, rates per 1,000 purchases, SLA compliance judged
at the report's moment, grouping by store, assistant and month, month boundaries in the
tenant's zone (DST included), review distributions; and the use case on fakes of its ports,
a purchase counted once however often it is announced."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chassis.errors import FailedPrecondition, InvalidArgument
from services.feedback.domain import reports, transitions
from services.feedback.domain.cases import Case, Category, RemedyKind, Settlement, parse_remedy
from services.feedback.domain.opening import case_for_request, parse_case_request
from services.feedback.domain.policy import FeedbackPolicy, defaults
from services.feedback.domain.reports import (
    CaseFigures,
    CountedPurchase,
    GroupBy,
    PurchaseCount,
    Receipt,
    ReviewFigures,
    feedback_report,
    parse_group_by,
    parse_period,
    percentile,
    rate_per_1000,
    review_distribution,
)
from services.feedback.domain.risk import RiskAssessment
from services.feedback.domain.sla import Sla
from services.feedback.service import reports as report_use_cases
from services.feedback.service.reports import Reports

SHANGHAI = "Asia/Shanghai"
H = timedelta(hours=1)
MARCH = parse_period("2026-03", "2026-03", SHANGHAI)
T0 = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
NOW = datetime(2026, 4, 20, 2, 0, tzinfo=UTC)


def figures(**changes: Any) -> CaseFigures:
    base = CaseFigures(
        store_id="s1",
        receipt_no="",
        assigned_staff_id="",
        category=Category.PRODUCT_QUALITY,
        opened_at=T0,
        first_response_due=T0 + 24 * H,
        resolution_due=T0 + 72 * H,
        first_response_met_at=None,
        resolution_met_at=None,
        sla_breaches=(),
        remedy=None,
        satisfaction=0,
    )
    return dataclasses.replace(base, **changes)


def answered(after_hours: float, resolved_hours: float | None = None, **changes: Any) -> CaseFigures:
    return figures(
        first_response_met_at=T0 + after_hours * H,
        resolution_met_at=None if resolved_hours is None else T0 + resolved_hours * H,
        **changes,
    )


# --- arithmetic -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([], 50, 0.0),
        ([7.0], 50, 7.0),
        ([7.0], 90, 7.0),
        ([4.0, 1.0, 3.0, 2.0], 50, 2.0),  # the 2nd of 4: half do not exceed it
        ([4.0, 1.0, 3.0, 2.0], 90, 4.0),
        ([float(x) for x in range(1, 11)], 50, 5.0),
        ([float(x) for x in range(1, 11)], 90, 9.0),
        ([float(x) for x in range(1, 11)], 91, 10.0),
        ([float(x) for x in range(1, 11)], 100, 10.0),
        ([5.0, 5.0, 1.0], 50, 5.0),
    ],
)
def test_percentiles_are_nearest_rank_and_always_a_measured_value(
    values: list[float], p: int, expected: float
) -> None:
    assert percentile(values, p) == expected


def test_a_percentile_outside_1_to_100_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="percentage"):
        percentile([1.0], 0)


def test_the_complaint_rate_is_per_1000_purchases_and_0_without_purchases() -> None:
    assert rate_per_1000(3, 1500) == 2.0
    assert rate_per_1000(1, 3) == 1000 / 3
    assert rate_per_1000(2, 0) == 0.0


# --- periods in the tenant's zone -------------------------------------------------------------


def test_a_month_begins_and_ends_at_local_midnight_in_the_tenants_zone() -> None:
    assert MARCH.start == datetime(2026, 2, 28, 16, 0, tzinfo=UTC)
    assert MARCH.end == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    assert MARCH.holds(datetime(2026, 2, 28, 16, 0, tzinfo=UTC))  # 1 March 00:00 there
    assert not MARCH.holds(datetime(2026, 2, 28, 15, 59, 59, tzinfo=UTC))
    assert not MARCH.holds(datetime(2026, 3, 31, 16, 0, tzinfo=UTC))  # 1 April 00:00 there
    assert MARCH.month_of(datetime(2026, 3, 31, 15, 59, tzinfo=UTC)) == "2026-03"


def test_months_across_a_dst_change_are_their_real_length() -> None:
    spring = parse_period("2026-03", "2026-03", "America/New_York")  # clocks go forward 8 March
    assert spring.start == datetime(2026, 3, 1, 5, 0, tzinfo=UTC)  # EST
    assert spring.end == datetime(2026, 4, 1, 4, 0, tzinfo=UTC)  # EDT
    assert spring.end - spring.start == timedelta(days=31) - H


def test_a_period_spans_years_month_by_month() -> None:
    period = parse_period("2025-11", "2026-02", SHANGHAI)
    assert period.months == ("2025-11", "2025-12", "2026-01", "2026-02")


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        ("2026-3", "2026-03", "from_month"),
        ("2026-13", "2026-12", "from_month"),
        ("march", "2026-03", "from_month"),
        ("1999-12", "2000-01", "from_month"),
        ("2099-12", "9999-12", "to_month"),
        ("2026-03", "2026-03-01", "to_month"),
        ("2026-03", "2026-02", "to_month"),  # before the first
        ("2025-03", "2026-03", "to_month"),  # 13 months
    ],
)
def test_a_bad_period_is_refused_naming_the_field(first: str, last: str, field: str) -> None:
    with pytest.raises(InvalidArgument) as bad:
        parse_period(first, last, SHANGHAI)
    assert bad.value.field == field


def test_twelve_months_is_the_longest_period_and_group_by_is_one_of_three() -> None:
    assert len(parse_period("2025-04", "2026-03", SHANGHAI).months) == 12
    assert parse_group_by(" Store ") is GroupBy.STORE
    with pytest.raises(InvalidArgument) as bad:
        parse_group_by("week")
    assert bad.value.field == "group_by"


# --- SLA compliance ---------------------------------------------------------------------------


def test_an_sla_is_met_in_time_missed_late_or_overdue_and_not_judged_while_running() -> None:
    in_time = answered(2, 10)
    late = answered(30, 80)
    recorded = answered(2, 10, sla_breaches=(Sla.FIRST_RESPONSE.value,))
    overdue = figures()
    running = figures(opened_at=NOW - H, first_response_due=NOW + H, resolution_due=NOW + 48 * H)
    verdicts = [
        (reports.judge(c, Sla.FIRST_RESPONSE, NOW), reports.judge(c, Sla.RESOLUTION, NOW))
        for c in (in_time, late, recorded, overdue, running)
    ]
    assert verdicts == [(True, True), (False, False), (False, True), (False, False), (None, None)]


def test_compliance_is_the_share_met_of_the_judged_cases() -> None:
    running = figures(opened_at=NOW - H, first_response_due=NOW + H, resolution_due=NOW + 48 * H)
    period = parse_period("2026-03", "2026-04", SHANGHAI)
    row = feedback_report(
        period, GroupBy.STORE, [answered(2, 10), answered(30, 50), figures(), running], [], NOW
    ).total
    assert (row.sla_first_response_judged, row.sla_first_response_met_share) == (3, 1 / 3)
    assert (row.sla_resolution_judged, row.sla_resolution_met_share) == (3, 2 / 3)


def test_the_times_are_measured_on_the_instants_the_slas_are_met_on() -> None:
    policy = defaults("t1")
    request = parse_case_request(
        tenant_id="t1",
        member_id="m1",
        store_id="s1",
        category="product_quality",
        severity="medium",
        description="the clasp broke",
        opened_by_kind="customer",
        opened_by="",
        receipt_no="R1",
    )
    case = case_for_request(request, "c1", policy, RiskAssessment(), T0)
    acknowledged = transitions.acknowledge(case, "staff-1", "sorry", T0 + 2 * H)
    rejected = transitions.reject(case, "staff-1", "no such purchase", T0 + 5 * H)
    started = transitions.start(acknowledged, "staff-1", "", T0 + 3 * H)
    resolved = transitions.resolve(
        started, Settlement(parse_remedy("apology_only", ""), "staff-1", T0 + 7 * H)
    )
    rows = [
        feedback_report(MARCH, GroupBy.STORE, [CaseFigures.of(c)], [], NOW).total
        for c in (acknowledged, rejected, resolved)
    ]
    seconds = [(r.first_response_p50, r.resolution_p50, r.resolutions) for r in rows]
    assert seconds == [(7200.0, 0.0, 0), (18000.0, 18000.0, 1), (7200.0, 25200.0, 1)]


# --- the report -------------------------------------------------------------------------------


def coupon(value: int) -> Any:
    return dataclasses.replace(parse_remedy("coupon", ""), template_id="tpl", value=value, coupon_code="C")


CASES = [
    answered(1, 10, store_id="s1", receipt_no="R1", remedy=coupon(500), satisfaction=4),
    answered(3, 30, store_id="s1", receipt_no="R2", remedy=coupon(1000), satisfaction=5),
    answered(
        5,
        90,
        store_id="s2",
        assigned_staff_id="a9",
        category=Category.SERVICE_ATTITUDE,
        remedy=parse_remedy("points", "", points=200),
        satisfaction=2,
    ),
    figures(store_id="s2", receipt_no="R-unknown", category=Category.SERVICE_ATTITUDE),
]
PURCHASES = [
    PurchaseCount("s1", "a1", "2026-03", 400),
    PurchaseCount("s1", "a2", "2026-03", 600),
    PurchaseCount("s2", "a1", "2026-03", 500),
    PurchaseCount("s2", "", "2026-03", 500),
    PurchaseCount("s2", "", "2026-04", 999),  # another month
]
CREDITED: dict[Receipt, str] = {("s1", "R1"): "a1", ("s1", "R2"): "a2"}


def test_by_store_each_store_has_its_purchases_complaints_rate_times_remedies_and_satisfaction() -> None:
    report = feedback_report(MARCH, GroupBy.STORE, CASES, PURCHASES, NOW)
    s1, s2 = report.rows
    assert (s1.key, s1.purchases, s1.complaints, s1.complaint_rate_per_1000) == ("s1", 1000, 2, 2.0)
    assert (s2.key, s2.purchases, s2.complaints, s2.complaint_rate_per_1000) == ("s2", 1000, 2, 2.0)
    assert (s1.first_response_p50, s1.first_response_p90) == (3600.0, 10800.0)
    assert (s1.resolution_p50, s1.resolution_p90) == (36000.0, 108000.0)
    assert s1.remedies == (reports.RemedyCost(RemedyKind.COUPON, 2, 1500, 0),)
    assert s2.remedies == (reports.RemedyCost(RemedyKind.POINTS, 1, 0, 200),)
    assert (s1.satisfaction_avg, s1.satisfaction_count) == (4.5, 2)
    assert (s2.first_responses, s2.resolutions) == (1, 1)
    assert s2.top_categories == ((Category.SERVICE_ATTITUDE, 2),)
    total = report.total
    assert (total.key, total.purchases, total.complaints, total.complaint_rate_per_1000) == ("", 2000, 4, 2.0)
    assert total.top_categories == ((Category.PRODUCT_QUALITY, 2), (Category.SERVICE_ATTITUDE, 2))
    assert [(m.kind, m.count) for m in total.remedies] == [(RemedyKind.COUPON, 2), (RemedyKind.POINTS, 1)]
    assert (total.satisfaction_avg, total.satisfaction_count) == (11 / 3, 3)


def test_by_assistant_a_case_goes_to_the_assistant_credited_with_its_receipt_else_its_assignee() -> None:
    report = feedback_report(MARCH, GroupBy.ASSISTANT, CASES, PURCHASES, NOW, CREDITED)
    rows = {r.key: (r.purchases, r.complaints) for r in report.rows}
    assert rows == {"": (500, 1), "a1": (900, 1), "a2": (600, 1), "a9": (0, 1)}
    assert [r.key for r in report.rows] == ["", "a1", "a2", "a9"]
    assert report.rows[3].complaint_rate_per_1000 == 0.0  # no purchase credited to a9


def test_by_month_every_month_of_the_period_has_a_row_and_cases_fall_in_their_local_month() -> None:
    period = parse_period("2026-02", "2026-04", SHANGHAI)
    late_march_utc = datetime(2026, 3, 31, 16, 30, tzinfo=UTC)  # 1 April 00:30 in Shanghai
    cases = [figures(), figures(opened_at=late_march_utc, first_response_due=NOW, resolution_due=NOW)]
    report = feedback_report(period, GroupBy.MONTH, cases, PURCHASES, NOW)
    assert [(r.key, r.purchases, r.complaints) for r in report.rows] == [
        ("2026-02", 0, 0),
        ("2026-03", 2000, 1),
        ("2026-04", 999, 1),
    ]
    assert report.rows[0].complaint_rate_per_1000 == 0.0
    assert report.total.purchases == 2999


def test_cases_and_purchases_outside_the_period_or_store_are_left_out() -> None:
    early = figures(opened_at=MARCH.start - timedelta(seconds=1))
    report = feedback_report(MARCH, GroupBy.STORE, [*CASES, early], PURCHASES, NOW, store_id="s1")
    assert [(r.key, r.purchases, r.complaints) for r in report.rows] == [("s1", 1000, 2)]
    assert (report.total.purchases, report.total.complaints) == (1000, 2)


def test_an_empty_period_reports_zeros() -> None:
    report = feedback_report(MARCH, GroupBy.STORE, [], [], NOW)
    assert report.rows == ()
    total = report.total
    assert (total.complaints, total.complaint_rate_per_1000, total.first_response_p90) == (0, 0.0, 0.0)
    assert (total.sla_resolution_met_share, total.satisfaction_avg, total.top_categories) == (0.0, 0.0, ())


# --- reviews over time ------------------------------------------------------------------------


def test_reviews_by_month_as_first_posted_and_those_turned_around_since() -> None:
    period = parse_period("2026-02", "2026-04", SHANGHAI)
    at = datetime(2026, 3, 5, tzinfo=UTC)
    reviews = [
        ReviewFigures("s1", at, 1, 1),
        ReviewFigures("s1", at, 2, 5),  # bad, amended to good
        ReviewFigures("s1", at, 3, 4),  # medium, amended to good
        ReviewFigures("s1", at, 5, 3),  # good, amended down: not better
        ReviewFigures("s1", datetime(2026, 3, 31, 16, 0, tzinfo=UTC), 4, 4),  # April there
        ReviewFigures("s1", datetime(2026, 1, 31, 15, 59, tzinfo=UTC), 1, 1),  # January there
    ]
    months = review_distribution(period, reviews)
    assert [(m.month, m.good, m.medium, m.bad, m.amended_better) for m in months] == [
        ("2026-02", 0, 0, 0, 0),
        ("2026-03", 1, 1, 2, 2),
        ("2026-04", 1, 0, 0, 0),
    ]


# --- the use case on fakes --------------------------------------------------------------------


class FakePurchaseCounts:
    """Once per (tenant, store, receipt), as the store's marker id keeps it."""

    def __init__(self) -> None:
        self.markers: dict[tuple[str, str, str], CountedPurchase] = {}

    async def count(self, purchase: CountedPurchase) -> bool:
        key = (purchase.tenant_id, purchase.store_id, purchase.receipt_no or purchase.purchase_id)
        if key in self.markers:
            return False
        self.markers[key] = purchase
        return True

    async def counts(
        self, tenant_id: str, first_month: str, last_month: str, store_id: str
    ) -> list[PurchaseCount]:
        tally: dict[tuple[str, str, str], int] = {}
        for p in self.markers.values():
            if (
                p.tenant_id == tenant_id
                and first_month <= p.month <= last_month
                and store_id in ("", p.store_id)
            ):
                k = (p.store_id, p.assistant_id, p.month)
                tally[k] = tally.get(k, 0) + 1
        return [PurchaseCount(s, a, m, n) for (s, a, m), n in tally.items()]

    async def credited(self, tenant_id: str, receipts: Sequence[Receipt]) -> dict[Receipt, str]:
        found = {
            (p.store_id, p.receipt_no): p.assistant_id
            for (t, _, _), p in self.markers.items()
            if t == tenant_id
        }
        return {r: found[r] for r in receipts if r in found}


class FakeReportReads:
    def __init__(self) -> None:
        self.cases: dict[str, list[Case]] = {}
        self.reviews: dict[str, list[ReviewFigures]] = {}
        self.asked: list[tuple[str, int]] = []

    async def opened_between(
        self, tenant_id: str, start: datetime, end: datetime, store_id: str, limit: int
    ) -> list[CaseFigures]:
        self.asked.append(("cases", limit))
        found = [
            CaseFigures.of(c)
            for c in self.cases.get(tenant_id, [])
            if start <= c.opened_at < end and store_id in ("", c.store_id)
        ]
        return found[:limit]

    async def posted_between(
        self, tenant_id: str, start: datetime, end: datetime, store_id: str, limit: int
    ) -> list[ReviewFigures]:
        self.asked.append(("reviews", limit))
        found = [
            r
            for r in self.reviews.get(tenant_id, [])
            if start <= r.posted_at < end and store_id in ("", r.store_id)
        ]
        return found[:limit]


class OnePolicy:
    def __init__(self, policy: FeedbackPolicy) -> None:
        self.policy = policy

    async def current(self, tenant_id: str) -> FeedbackPolicy:
        return dataclasses.replace(self.policy, tenant_id=tenant_id)

    async def save(self, policy: FeedbackPolicy) -> bool:
        raise AssertionError("reports never save a policy")


def wired(zone: str = SHANGHAI) -> tuple[Reports, FakeReportReads, FakePurchaseCounts]:
    reads, counts = FakeReportReads(), FakePurchaseCounts()
    policy = dataclasses.replace(defaults("t1"), time_zone=zone)
    return Reports(reads, reads, counts, OnePolicy(policy), clock=lambda: NOW), reads, counts


async def test_a_purchase_announced_three_times_counts_once_in_its_local_month() -> None:
    use, _, counts = wired()
    first_of_april_there = datetime(2026, 3, 31, 16, 30, tzinfo=UTC)
    answers = [await use.count_purchase("t1", "p1", "s1", "R1", "a1", first_of_april_there) for _ in range(3)]
    await use.count_purchase("t1", "p2", "s1", "R2", "", datetime(2026, 3, 31, 15, 30, tzinfo=UTC))
    assert answers == [True, False, False]
    assert sorted((p.receipt_no, p.month) for p in counts.markers.values()) == [
        ("R1", "2026-04"),
        ("R2", "2026-03"),
    ]
    report = await use.feedback_report("t1", "2026-03", "2026-04", "month")
    assert [(r.key, r.purchases) for r in report.rows] == [("2026-03", 1), ("2026-04", 1)]


async def test_the_month_of_a_purchase_is_the_policys_zone() -> None:
    use, _, counts = wired("America/New_York")
    await use.count_purchase("t1", "p1", "s1", "R1", "a1", datetime(2026, 4, 1, 3, 0, tzinfo=UTC))
    assert [p.month for p in counts.markers.values()] == ["2026-03"]  # 23:00 on 31 March there


async def test_the_report_reads_the_tenants_cases_and_purchases_and_attributes_receipts() -> None:
    use, reads, _ = wired()
    await use.count_purchase("t1", "p1", "s1", "R1", "a1", T0)
    await use.count_purchase("t1", "p2", "s1", "R2", "a2", T0)
    await use.count_purchase("t2", "p3", "s1", "R3", "a1", T0)  # another tenant's
    policy = defaults("t1")
    for n, receipt in enumerate(("R1", "R3")):
        request = parse_case_request(
            tenant_id="t1",
            member_id="m1",
            store_id="s1",
            category="product_quality",
            severity="medium",
            description="broken",
            opened_by_kind="customer",
            opened_by="",
            receipt_no=receipt,
        )
        reads.cases.setdefault("t1", []).append(
            case_for_request(request, f"c{n}", policy, RiskAssessment(), T0 + n * H)
        )
    report = await use.feedback_report("t1", "2026-03", "2026-03", "assistant")
    assert [(r.key, r.purchases, r.complaints) for r in report.rows] == [
        ("", 0, 1),
        ("a1", 1, 1),
        ("a2", 1, 0),
    ]
    assert report.period.time_zone == SHANGHAI
    assert ("cases", report_use_cases.CASES_MAX + 1) in reads.asked


async def test_too_many_cases_or_reviews_are_refused_rather_than_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use, reads, _ = wired()
    monkeypatch.setattr(report_use_cases, "CASES_MAX", 1)
    monkeypatch.setattr(report_use_cases, "REVIEWS_MAX", 1)
    one = figures()
    reads.opened_between = _answer([one, one])  # type: ignore[method-assign]
    reads.reviews["t1"] = [ReviewFigures("s1", T0, 1, 1), ReviewFigures("s1", T0, 5, 5)]
    with pytest.raises(FailedPrecondition, match="more than 1 cases"):
        await use.feedback_report("t1", "2026-03", "2026-03", "store")
    with pytest.raises(FailedPrecondition, match="more than 1 reviews"):
        await use.review_distribution("t1", "2026-03", "2026-03")


def _answer(found: list[CaseFigures]) -> Any:
    async def opened_between(*args: Any) -> list[CaseFigures]:
        return found

    return opened_between


async def test_the_review_distribution_is_of_the_store_asked_for() -> None:
    use, reads, _ = wired()
    reads.reviews["t1"] = [ReviewFigures("s1", T0, 1, 1), ReviewFigures("s2", T0, 5, 5)]
    period, months = await use.review_distribution("t1", "2026-03", "2026-03", " s2 ")
    assert (period.first, period.last) == ("2026-03", "2026-03")
    assert [(m.month, m.good, m.bad) for m in months] == [("2026-03", 1, 0)]


async def test_bad_requests_name_their_field() -> None:
    use, _, _ = wired()
    for call, field in (
        (use.feedback_report("t1", "2026-03", "2026-03", "day"), "group_by"),
        (use.feedback_report("t1", "2026-3", "2026-03", "store"), "from_month"),
        (use.review_distribution("t1", "2026-03", "2026-03", "x" * 200), "store_id"),
    ):
        with pytest.raises(InvalidArgument) as bad:
            await call
        assert bad.value.field == field


def test_zone_names_come_from_the_policy() -> None:
    assert parse_period("2026-03", "2026-03", "Europe/Berlin").zone == ZoneInfo("Europe/Berlin")
