"""Getting a coupon: claim by a member, issue by staff, a rule, a job or a complaint case.

All of them take the same path: template state and validity, per-member and per-period limit
slots, a stock slot, a code, then the coupon with its coupon_issued event. A coupon exists
only once it holds every slot it needs, and a path that stops early gives its slots back, so
the stock and the limits are exact under any number of simultaneous claims. Issues with an
idempotency key get a coupon id derived from it: a retry, a replayed event or a restarted job
finds the coupon already there (and the slots already its own).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from ulid import ULID

from chassis.errors import FailedPrecondition, NotFound
from services.coupons.domain import validity
from services.coupons.domain.audience import MemberView
from services.coupons.domain.coupons import (
    Coupon,
    CouponState,
    Outcome,
    Source,
    deterministic_id,
    stored_instant,
)
from services.coupons.domain.keys import member_slot, period_slot
from services.coupons.domain.templates import AudienceKind, Template, TemplateState, period_key
from services.coupons.service.ports import (
    AudienceProjection,
    CouponRepository,
    LimitSlots,
    TemplateRepository,
)


@dataclass(frozen=True)
class IssueResult:
    outcome: Outcome
    coupon: Coupon | None = None
    detail: str = ""
    created: bool = False  # False for a replay of an issue already done


def _no(outcome: Outcome, detail: str) -> IssueResult:
    return IssueResult(outcome, None, detail)


_BARRED = "this member cannot receive coupons"


def _barred(view: MemberView | None) -> bool:
    """Blacklisted, erased or merged away (as far as coupons has heard)."""
    return view is not None and (view.blacklisted or view.gone)


class Issuer:
    def __init__(
        self,
        templates: TemplateRepository,
        coupons: CouponRepository,
        slots: LimitSlots,
        audience: AudienceProjection,
        tz: tzinfo,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._templates = templates
        self._coupons = coupons
        self._slots = slots
        self._audience = audience
        self._tz = tz
        self._clock = clock

    async def template(self, tenant_id: str, template_id: str) -> Template:
        found = await self._templates.get(tenant_id, template_id)
        if found is None:
            raise NotFound(f"template {template_id} not found")
        return found[0]

    async def claim(self, tenant_id: str, template_id: str, member_id: str) -> IssueResult:
        """A member's grab: everything the issue checks, plus `claimable` and the audience."""
        template = await self.template(tenant_id, template_id)
        if not template.claimable:
            return _no(Outcome.NOT_AVAILABLE, "this coupon is given by the shop, not claimed")
        refusal = await self.audience_refusal(template, member_id)
        if refusal:
            return refusal
        return await self._issue(template, member_id, str(ULID()), Source.CLAIM, member_id, replayable=False)

    async def issue(
        self,
        tenant_id: str,
        template_id: str,
        member_id: str,
        *,
        source: Source,
        key: str,
        source_ref: str,
    ) -> IssueResult:
        """An issue idempotent on `key` (within the template): the same key gives the same coupon."""
        template = await self.template(tenant_id, template_id)
        coupon_id = deterministic_id(tenant_id, template_id, source.value, key)
        existing = await self._coupons.get(tenant_id, coupon_id)
        if existing is not None:
            return IssueResult(Outcome.ISSUED, existing, "issued before")
        if _barred(await self._audience.member(tenant_id, member_id)):
            return _no(Outcome.NOT_ELIGIBLE, _BARRED)
        return await self._issue(template, member_id, coupon_id, source, source_ref, replayable=True)

    async def audience_refusal(self, template: Template, member_id: str) -> IssueResult | None:
        """Why this member is outside the template's audience (from the local projection), if so."""
        view = await self._audience.member(template.tenant_id, member_id)
        if _barred(view):
            return _no(Outcome.NOT_ELIGIBLE, _BARRED)
        kind = template.audience.kind
        if kind is AudienceKind.TIERS and (view is None or view.tier not in template.audience.tiers):
            return _no(Outcome.NOT_ELIGIBLE, f"for {', '.join(template.audience.tiers)} members only")
        if kind is AudienceKind.SEGMENT and not await self._audience.in_segment(template.id, member_id):
            return _no(Outcome.NOT_ELIGIBLE, "this offer is for selected members")
        return None

    async def _issue(
        self,
        template: Template,
        member_id: str,
        coupon_id: str,
        source: Source,
        source_ref: str,
        replayable: bool,
    ) -> IssueResult:
        now = stored_instant(self._clock())
        if template.state is not TemplateState.ACTIVE:
            return _no(Outcome.NOT_AVAILABLE, f"this coupon is not on offer ({template.state})")
        try:
            valid_from, valid_until = validity.window(template.validity, now, self._tz)
        except FailedPrecondition:
            return _no(Outcome.NOT_AVAILABLE, "this offer has ended")
        taken: list[str] = []
        try:
            refusal = await self._take_slots(template, member_id, coupon_id, replayable, now, taken)
            if refusal:
                await self._slots.free(taken)
                return refusal
            coupon = Coupon(
                id=coupon_id,
                tenant_id=template.tenant_id,
                member_id=member_id,
                code=await self._coupons.reserve_code(template.tenant_id, coupon_id),
                terms=template.terms(),
                state=CouponState.AVAILABLE,
                valid_from=valid_from,
                valid_until=valid_until,
                issued_at=now,
                source=source,
                source_ref=source_ref,
            )
            if await self._coupons.add(coupon, taken):
                return IssueResult(Outcome.ISSUED, coupon, "issued", created=True)
        except BaseException:
            if not replayable:
                await self._slots.free(taken)
            raise
        existing = await self._coupons.get(template.tenant_id, coupon_id)  # a simultaneous replay won
        assert existing is not None
        return IssueResult(Outcome.ISSUED, existing, "issued before")

    async def _take_slots(
        self,
        template: Template,
        member_id: str,
        coupon_id: str,
        replayable: bool,
        now: datetime,
        taken: list[str],
    ) -> IssueResult | None:
        limits, tenant = template.limits, template.tenant_id
        if limits.per_member_limit:
            slot = await self._slots.take_one_of(
                tenant,
                (member_slot(template.id, member_id, k) for k in range(1, limits.per_member_limit + 1)),
                coupon_id,
                replayable,
            )
            if slot is None:
                return _no(Outcome.LIMIT_REACHED, f"limit of {limits.per_member_limit} per member reached")
            taken.append(slot)
        if limits.per_period_limit:
            period = period_key(limits.period, now, self._tz)
            slot = await self._slots.take_one_of(
                tenant,
                (
                    period_slot(template.id, member_id, period, k)
                    for k in range(1, limits.per_period_limit + 1)
                ),
                coupon_id,
                replayable,
            )
            if slot is None:
                return _no(
                    Outcome.LIMIT_REACHED, f"limit of {limits.per_period_limit} per {limits.period} reached"
                )
            taken.append(slot)
        if limits.total_stock:
            slot = await self._slots.take_stock(tenant, template.id, limits.total_stock, coupon_id)
            if slot is None:
                return _no(Outcome.SOLD_OUT, "sold out")
            taken.append(slot)
        return None
