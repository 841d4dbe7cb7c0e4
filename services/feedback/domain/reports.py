"""Feedback reports: complaint rates against purchases, response and resolution times, SLA
compliance, remedies and their cost, satisfaction after resolution, top categories — by store,
assistant or month — and the distribution of reviews over months. No I/O.

Periods are whole months in the tenant's zone (the feedback policy's): a case belongs to the
month it was opened in there: a case opened at 07:30 on 1 April in Shanghai (23:30 on 31 March
UTC) is April's, and so is a purchase at that moment. Every figure of
a row is of the cases opened in it (a cohort): a case opened in March and resolved in April
counts in March, its resolution time and remedy included.

- **Complaint rate**: complaint cases opened per 1,000 purchases counted in the same group
  (members' purchase_made; each purchase once, in the month of its own zone-local date); 0
  when no purchase was counted.
- **Times** are wall-clock seconds from opening to the first response and to the resolution,
  measured on the same instants the SLAs are judged on (`Case.first_response_met_at`,
  `Case.resolution_met_at`: an acknowledgement, or a rejection of a case never answered; a
  resolution decided, or a rejection), so the times and the compliance agree. Percentiles are
  nearest-rank: the p-th is the smallest time that at least p% of the times do not exceed —
  always one of the measured times, never an interpolation.
- **SLA compliance** is the share met of the cases whose SLA can be judged at the report's
  `now` (in business hours, `domain/sla.py`): met in time, or missed (answered late, recorded as
  breached, or unanswered past the due time). A case whose SLA is still running is not judged.
- **Remedies**: the remedies given (resolved cases), by kind, with what the coupons were worth
  (minor units) and the points given.
- **Satisfaction**: the customers' 1-5 at closing, averaged over the closed cases.
- **Assistant** of a purchase: the one members credited (`credited_staff_id`). Of a case: the
  assistant credited with its receipt's purchase when the case names a receipt feedback counted,
  else the assistant the case was assigned to, else none ("").
- **Reviews**: each month's reviews by their rating as first posted (what the customer felt
  then), and how many of them their member has since amended to a better class.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from chassis.errors import InvalidArgument
from services.feedback.domain import sla
from services.feedback.domain.cases import Case, Category, Remedy, RemedyKind
from services.feedback.domain.compensation import month_key
from services.feedback.domain.reviews import RatingClass, rating_class

MONTHS_MAX = 12
YEARS = (2000, 2099)  # what a purchase's time may be (members); a month outside is a mistake
_CLASS_RANK = {RatingClass.BAD: 0, RatingClass.MEDIUM: 1, RatingClass.GOOD: 2}


class GroupBy(StrEnum):
    STORE = "store"
    ASSISTANT = "assistant"
    MONTH = "month"


def parse_group_by(value: str) -> GroupBy:
    try:
        return GroupBy(value.strip().lower())
    except ValueError:
        raise InvalidArgument("group_by", "group_by must be one of: store, assistant, month") from None


def _month(path: str, value: str) -> tuple[int, int]:
    raw = value.strip()
    year, sep, month = raw.partition("-")
    if sep and len(year) == 4 and len(month) == 2 and year.isdigit() and month.isdigit():
        y, m = int(year), int(month)
        if 1 <= m <= 12 and YEARS[0] <= y <= YEARS[1]:
            return y, m
    raise InvalidArgument(path, f'{path} must be a month "YYYY-MM" from {YEARS[0]}-01 to {YEARS[1]}-12')


def _next(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


@dataclass(frozen=True)
class Period:
    """Whole months `first`..`last` ("YYYY-MM", both included) in the zone `time_zone`."""

    first: str
    last: str
    time_zone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def months(self) -> tuple[str, ...]:
        y, m = _month("from_month", self.first)
        end = _month("to_month", self.last)
        out = []
        while (y, m) <= end:
            out.append(f"{y:04d}-{m:02d}")
            y, m = _next(y, m)
        return tuple(out)

    def _local_start(self, year: int, month: int) -> datetime:
        return datetime(year, month, 1, tzinfo=self.zone).astimezone(UTC)

    @property
    def start(self) -> datetime:
        """The first instant of the first month, local midnight of its 1st, as UTC."""
        return self._local_start(*_month("from_month", self.first))

    @property
    def end(self) -> datetime:
        """The first instant after the period: local midnight of the 1st after `last`, as UTC."""
        return self._local_start(*_next(*_month("to_month", self.last)))

    def month_of(self, at: datetime) -> str:
        return month_key(at, self.zone)

    def holds(self, at: datetime) -> bool:
        return self.start <= at < self.end


def parse_period(from_month: str, to_month: str, time_zone: str) -> Period:
    first = _month("from_month", from_month)
    last = _month("to_month", to_month)
    if last < first:
        raise InvalidArgument("to_month", "to_month must not be before from_month")
    span = (last[0] - first[0]) * 12 + last[1] - first[1] + 1
    if span > MONTHS_MAX:
        raise InvalidArgument("to_month", f"a report covers at most {MONTHS_MAX} months")
    return Period(f"{first[0]:04d}-{first[1]:02d}", f"{last[0]:04d}-{last[1]:02d}", time_zone)


# What the report is computed from


@dataclass(frozen=True)
class CountedPurchase:
    """A purchase members announced (purchase_made), as feedback counts it: once per purchase,
    in the month of its local date in the tenant's zone when it was counted."""

    tenant_id: str
    purchase_id: str
    store_id: str
    receipt_no: str
    assistant_id: str  # members' credited_staff_id ("" = none)
    occurred_at: datetime
    month: str
    paid: int | None = None  # what was paid, minor units (a complaint's goods value: risk)


@dataclass(frozen=True)
class PurchaseCount:
    store_id: str
    assistant_id: str
    month: str
    purchases: int


@dataclass(frozen=True)
class CaseFigures:
    """What a report reads of a case (a Case without its timeline, texts and risk)."""

    store_id: str
    receipt_no: str
    assigned_staff_id: str
    category: Category
    opened_at: datetime
    first_response_due: datetime
    resolution_due: datetime
    first_response_met_at: datetime | None
    resolution_met_at: datetime | None
    sla_breaches: tuple[str, ...]
    remedy: Remedy | None
    satisfaction: int

    @classmethod
    def of(cls, case: Case) -> CaseFigures:
        return cls(
            store_id=case.store_id,
            receipt_no=case.receipt_no,
            assigned_staff_id=case.assigned_staff_id,
            category=case.category,
            opened_at=case.opened_at,
            first_response_due=case.first_response_due,
            resolution_due=case.resolution_due,
            first_response_met_at=case.first_response_met_at,
            resolution_met_at=case.resolution_met_at,
            sla_breaches=case.sla_breaches,
            remedy=case.remedy,
            satisfaction=case.satisfaction,
        )


@dataclass(frozen=True)
class ReviewFigures:
    """What a report reads of a review: where and when it was posted, its rating as first
    posted and as it stands."""

    store_id: str
    posted_at: datetime
    first_rating: int
    rating: int


Receipt = tuple[str, str]  # (store id, receipt number)


# Arithmetic


def percentile(values: Sequence[float], p: int) -> float:
    """The nearest-rank p-th percentile (1 <= p <= 100): the smallest value that at least p% of
    `values` do not exceed; 0 for no values."""
    if not 1 <= p <= 100:
        raise ValueError("p is a percentage from 1 to 100")
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = math.ceil(p * len(ordered) / 100)
    return float(ordered[rank - 1])


def rate_per_1000(complaints: int, purchases: int) -> float:
    return complaints * 1000 / purchases if purchases > 0 else 0.0


def share(part: int, whole: int) -> float:
    return part / whole if whole > 0 else 0.0


def judge(case: CaseFigures, which: sla.Sla, now: datetime) -> bool | None:
    """True when the case met this SLA, False when it missed it (recorded as breached, met after
    the due time, or unmet past it), None while it can still go either way."""
    if which.value in case.sla_breaches or any(b.sla is which for b in sla.breaches(case, now)):
        return False
    met = case.first_response_met_at if which is sla.Sla.FIRST_RESPONSE else case.resolution_met_at
    return True if met is not None else None


def case_assistant(case: CaseFigures, credited: Mapping[Receipt, str]) -> str:
    """The assistant credited with the case's receipt, else the one it was assigned to."""
    if case.receipt_no:
        found = credited.get((case.store_id, case.receipt_no))
        if found:
            return found
    return case.assigned_staff_id


# The report


@dataclass(frozen=True)
class RemedyCost:
    kind: RemedyKind
    count: int
    coupon_value: int  # minor units
    points: int


@dataclass(frozen=True)
class ReportRow:
    key: str
    purchases: int
    complaints: int
    complaint_rate_per_1000: float
    first_response_p50: float  # seconds
    first_response_p90: float
    resolution_p50: float
    resolution_p90: float
    first_responses: int  # cases with a first response (what the percentiles are of)
    resolutions: int
    sla_first_response_met_share: float
    sla_resolution_met_share: float
    sla_first_response_judged: int
    sla_resolution_judged: int
    remedies: tuple[RemedyCost, ...]
    satisfaction_avg: float
    satisfaction_count: int
    top_categories: tuple[tuple[Category, int], ...]


@dataclass(frozen=True)
class FeedbackReport:
    period: Period
    group_by: GroupBy
    store_id: str  # "" = every store
    rows: tuple[ReportRow, ...]
    total: ReportRow
    generated_at: datetime


def _seconds(since: datetime, until: datetime | None) -> float | None:
    return None if until is None else (until - since).total_seconds()


def report_row(key: str, purchases: int, cases: Sequence[CaseFigures], now: datetime) -> ReportRow:
    """The figures of one group: its purchases and the cases opened in it."""
    first = [s for c in cases if (s := _seconds(c.opened_at, c.first_response_met_at)) is not None]
    resolved = [s for c in cases if (s := _seconds(c.opened_at, c.resolution_met_at)) is not None]
    judged: dict[sla.Sla, list[bool]] = {s: [] for s in sla.Sla}
    for c in cases:
        for which in sla.Sla:
            verdict = judge(c, which, now)
            if verdict is not None:
                judged[which].append(verdict)
    remedies: dict[RemedyKind, list[Remedy]] = defaultdict(list)
    for c in cases:
        if c.remedy is not None:
            remedies[c.remedy.kind].append(c.remedy)
    scores = [c.satisfaction for c in cases if c.satisfaction > 0]
    categories = Counter(c.category for c in cases)
    fr, rs = judged[sla.Sla.FIRST_RESPONSE], judged[sla.Sla.RESOLUTION]
    return ReportRow(
        key=key,
        purchases=purchases,
        complaints=len(cases),
        complaint_rate_per_1000=rate_per_1000(len(cases), purchases),
        first_response_p50=percentile(first, 50),
        first_response_p90=percentile(first, 90),
        resolution_p50=percentile(resolved, 50),
        resolution_p90=percentile(resolved, 90),
        first_responses=len(first),
        resolutions=len(resolved),
        sla_first_response_met_share=share(sum(fr), len(fr)),
        sla_resolution_met_share=share(sum(rs), len(rs)),
        sla_first_response_judged=len(fr),
        sla_resolution_judged=len(rs),
        remedies=tuple(
            RemedyCost(
                kind,
                len(remedies[kind]),
                sum(r.value for r in remedies[kind]),
                sum(r.points for r in remedies[kind]),
            )
            for kind in RemedyKind
            if remedies[kind]
        ),
        satisfaction_avg=sum(scores) / len(scores) if scores else 0.0,
        satisfaction_count=len(scores),
        top_categories=tuple(sorted(categories.items(), key=lambda kv: (-kv[1], kv[0].value))),
    )


def feedback_report(
    period: Period,
    group_by: GroupBy,
    cases: Iterable[CaseFigures],
    purchases: Iterable[PurchaseCount],
    now: datetime,
    credited: Mapping[Receipt, str] | None = None,
    store_id: str = "",
) -> FeedbackReport:
    """The report of the cases opened and the purchases counted in the period, one row per
    store, assistant or month (every month of the period, none left out), by key, and their
    total. Cases and purchases outside the period (or of another store than `store_id`, when
    given) are left out. `credited`: the assistant credited with each receipt (for cases, when
    grouping by assistant)."""
    receipts = credited or {}

    def keep(store: str) -> bool:
        return not store_id or store == store_id

    mine = [c for c in cases if period.holds(c.opened_at) and keep(c.store_id)]
    months = set(period.months)
    counted = [p for p in purchases if p.month in months and keep(p.store_id)]

    def case_key(c: CaseFigures) -> str:
        if group_by is GroupBy.STORE:
            return c.store_id
        if group_by is GroupBy.ASSISTANT:
            return case_assistant(c, receipts)
        return period.month_of(c.opened_at)

    def purchase_key(p: PurchaseCount) -> str:
        return {GroupBy.STORE: p.store_id, GroupBy.ASSISTANT: p.assistant_id, GroupBy.MONTH: p.month}[
            group_by
        ]

    by_key: dict[str, list[CaseFigures]] = defaultdict(list)
    for c in mine:
        by_key[case_key(c)].append(c)
    bought: Counter[str] = Counter()
    for p in counted:
        bought[purchase_key(p)] += p.purchases
    keys = set(by_key) | set(bought)
    if group_by is GroupBy.MONTH:
        keys |= months
    rows = tuple(report_row(k, bought[k], by_key[k], now) for k in sorted(keys))
    total = report_row("", sum(bought.values()), mine, now)
    return FeedbackReport(period, group_by, store_id, rows, total, now)


# Reviews over time


@dataclass(frozen=True)
class ReviewMonth:
    month: str
    good: int = 0
    medium: int = 0
    bad: int = 0
    amended_better: int = 0


def review_distribution(period: Period, reviews: Iterable[ReviewFigures]) -> tuple[ReviewMonth, ...]:
    """Every month of the period, oldest first: its reviews by class as first posted, and how
    many of them were amended since to a better class. Reviews outside the period are left out."""
    tally: dict[str, Counter[str]] = {m: Counter() for m in period.months}
    for r in reviews:
        if not period.holds(r.posted_at):
            continue
        month = tally[period.month_of(r.posted_at)]
        first = rating_class(r.first_rating)
        month[first.value] += 1
        if _CLASS_RANK[rating_class(r.rating)] > _CLASS_RANK[first]:
            month["amended_better"] += 1
    return tuple(
        ReviewMonth(m, t["good"], t["medium"], t["bad"], t["amended_better"]) for m, t in tally.items()
    )
