"""Expiry, the budget's marks in flight, and the per-template report: the service's bookkeeping.

The budget (domain/budget.py) is kept exactly, without transactions, by steps that each write
one document and that any process may complete after a crash, never by undoing one:
- a charge: template `$inc` + Charging mark; the coupon's redemption records the charge (its
  charge_id); the template drops the mark. A mark no coupon took over is given back by
  `settle_charge`, GRACE later, in one update conditional on the mark: once.
- a refund: the coupon's restore records the GiveBack owed (one write: owed exactly once); the
  template `$inc -amount` + Returning mark (conditional on the mark absent: paid once), dropping
  the charge's mark too if a crash had left it; the coupon notes it paid; GRACE after that the
  sweeper forgets the Returning mark. The replayed refund, the coupon's next redemption (not
  allowed while a debt is owed) and the sweeper finish a debt with `complete_give_back`.
Each direction errs on the safe side while unfinished: a charge counts before its coupon is
written, a refunded discount until it is paid back, so the budget is never overspent.
Why exactly once at every crash point: each template step is conditional on its mark (absent
to add, the same charge_id to remove); a mark's key is never reused once gone (a charge_id is
unique, a give-back is keyed by the charge it returns); whoever acts on a mark or a debt it
read writes within HOLD of the read, while settling and forgetting wait GRACE > HOLD, so no late
writer lands after the check that let a mark go. Marks live minutes: a template document holds
only what is in flight. Several replicas may sweep at once: they read twice, each effect once.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from services.coupons.domain.budget import GRACE, HOLD, Charging, InFlight, Returning
from services.coupons.domain.coupons import Coupon, CouponState, Source
from services.coupons.domain.keys import budget_key
from services.coupons.service.ports import CouponRepository, TemplateRepository


class Expiry:
    """Marks lapsed coupons expired (coupon_expired) and warns `warn_days` ahead, once."""

    def __init__(self, coupons: CouponRepository, warn_days: int) -> None:
        self._coupons = coupons
        self._warn = timedelta(days=warn_days)

    async def run(self, now: datetime) -> tuple[int, int]:
        expired = warned = 0
        while True:
            due = await self._coupons.due_to_expire(now)
            done = 0
            for c in due:
                done += await self._coupons.expire(c, now) is not None
            expired += done
            if len(due) < 1000 or not done:
                break
        for c in await self._coupons.due_to_expire(now + self._warn, warned=False):
            if c.valid_until <= now:
                continue
            days_left = math.ceil((c.valid_until - now) / timedelta(days=1))
            warned += await self._coupons.warn_expiring(c, days_left, now) is not None
        return expired, warned


@dataclass
class Swept:
    charges_settled: int = 0  # charges no coupon took over, given back
    charges_kept: int = 0  # charges a coupon took over, whose mark a crash had left
    debts_paid: int = 0  # refunds' give-backs a crash had left owed
    marks_forgotten: int = 0

    def __bool__(self) -> bool:
        return any((self.charges_settled, self.charges_kept, self.debts_paid, self.marks_forgotten))


class BudgetBook:
    """Completes what a crash left between a template's budget and its coupons (module docstring)."""

    def __init__(
        self,
        coupons: CouponRepository,
        templates: TemplateRepository,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._coupons = coupons
        self._templates = templates
        self._clock = clock

    async def settle_charge(self, tenant_id: str, template_id: str, mark: Charging) -> bool:
        """Settle a charge's mark at least GRACE old: dropped if its coupon took the charge over,
        else given back (True), once. Its coupon is read now, after any write that could take it
        over (those come within HOLD of the mark)."""
        c = await self._coupons.get(tenant_id, mark.coupon_id)
        r = c.redemption if c is not None else None
        if r is not None and r.budget_charge_id == mark.charge_id:
            await self._templates.charge_taken(tenant_id, template_id, mark)
            return False
        return await self._templates.settle_charge(tenant_id, template_id, mark)

    async def complete_give_back(self, c: Coupon, read_at: datetime) -> Coupon | None:
        """Pay what `c` (read at `read_at` or later) owes its template's budget, repeating no step
        already done; the coupon after, or None when the read is too old to act upon (HOLD)."""
        owed = c.budget_to_return
        if owed is None:
            return c
        if self._clock() - read_at >= HOLD:
            return None
        r = c.redemption
        if owed.legacy:
            await self._templates.give_back_legacy(c.tenant_id, c.template_id, owed.key, owed.amount)
        else:
            paid = Returning(owed.key, c.id, owed.amount, self._clock())
            charge_key = budget_key(c.id, r.receipt_no) if r is not None else ""
            charge_id = r.budget_charge_id if r is not None else ""
            await self._templates.give_back(c.tenant_id, c.template_id, paid, charge_key, charge_id)
        done = await self._coupons.gave_back(c, owed.key, self._clock())
        return done or await self._coupons.get(c.tenant_id, c.id)

    async def sweep(self) -> Swept:
        """One pass over what is due: marks older than GRACE, and debts owed for longer."""
        swept = Swept()
        now = self._clock()
        for c in await self._coupons.owing_budget(now - GRACE):
            if await self.complete_give_back(c, now) is None:
                break  # this pass has run too long to trust its reads: the next one goes on
            swept.debts_paid += 1
        for held in await self._templates.in_flight(self._clock() - GRACE):
            await self._settle(held, swept)
        return swept

    async def _settle(self, held: InFlight, swept: Swept) -> None:
        now = self._clock()
        for mark in held.charging:
            if now - mark.at >= GRACE:
                if await self.settle_charge(held.tenant_id, held.template_id, mark):
                    swept.charges_settled += 1
                else:
                    swept.charges_kept += 1
        for paid in held.returning:
            if now - paid.at < GRACE:
                continue
            c = await self._coupons.get(held.tenant_id, paid.coupon_id)
            if c is not None and c.budget_to_return is not None and c.budget_to_return.key == paid.key:
                await self._coupons.gave_back(c, paid.key, self._clock())  # paid: the mark says so
                swept.debts_paid += 1
                continue  # forgotten GRACE after this, when no completer can hold the older read
            if c is None or c.budget_returned_at is None or now - c.budget_returned_at >= GRACE:
                await self._templates.forget_given_back(held.tenant_id, held.template_id, paid.key)
                swept.marks_forgotten += 1
        await self._templates.tidy_marks(held.tenant_id, held.template_id)


@dataclass
class Row:
    redeemed: int = 0
    discount: int = 0
    revenue: int = 0


@dataclass
class Report:
    template_id: str
    issued: int = 0
    claimed: int = 0
    shared: int = 0
    redeemed: int = 0
    expired: int = 0
    total_discount: int = 0
    revenue: int = 0
    by_store: dict[str, Row] = field(default_factory=lambda: defaultdict(Row))
    by_staff: dict[str, Row] = field(default_factory=lambda: defaultdict(Row))

    @property
    def redemption_rate(self) -> float:
        held = self.issued - self.shared
        return self.redeemed / held if held > 0 else 0.0


async def template_report(coupons: CouponRepository, tenant_id: str, template_id: str) -> Report:
    """Counts over the template's coupons; a shared coupon's friend copy is not a new issue."""
    report = Report(template_id)
    async for c in coupons.of_template(tenant_id, template_id):
        if c.source is not Source.SHARE:
            report.issued += 1
        report.claimed += c.source is Source.CLAIM
        report.shared += c.state is CouponState.SHARED
        report.expired += c.state is CouponState.EXPIRED
        r = c.redemption
        if c.state is CouponState.REDEEMED and r is not None and not r.refunded_by:
            report.redeemed += 1
            report.total_discount += r.discount
            report.revenue += r.receipt_total
            for row in (report.by_store[r.store_id], report.by_staff[r.staff_id or "unassigned"]):
                row.redeemed += 1
                row.discount += r.discount
                row.revenue += r.receipt_total
    return report
