"""Expiry and the per-template report: the service's bookkeeping over its coupons."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.coupons.domain.coupons import CouponState, Source
from services.coupons.service.ports import CouponRepository


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
