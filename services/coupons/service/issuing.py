"""Getting a coupon: claim by a member, issue by staff, a rule, a job or a complaint case.

All of them take the same path: template state and validity, a free member slot, period slot
and stock number, then one insert of the coupon that holds them, with its code and its
coupon_issued event. The store keeps each place unique, so stock and limits are exact under
any number of simultaneous claims on any number of replicas, and nothing is ever given back
in an error path: there is nothing half-done to give back. Issues with an idempotency key get
a coupon id derived from it: a retry, a replayed event or a restarted job finds the coupon
already there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from ulid import ULID

from chassis.errors import FailedPrecondition, NotFound, Unavailable
from services.coupons.domain import validity
from services.coupons.domain.audience import MemberView
from services.coupons.domain.codes import new_code
from services.coupons.domain.coupons import (
    Coupon,
    CouponState,
    Outcome,
    Source,
    deterministic_id,
    stored_instant,
)
from services.coupons.domain.keys import (
    NOTHING_HELD,
    Held,
    Places,
    first_free,
    holds_any,
    outside,
    period_place,
    period_places_held,
)
from services.coupons.domain.templates import AudienceKind, Template, TemplateState, period_key
from services.coupons.service.ports import (
    Added,
    AudienceProjection,
    CouponRepository,
    MemberLookup,
    StockNumbers,
    TemplateReader,
)

ATTEMPTS = 30  # inserts that find a place taken meanwhile before answering UNAVAILABLE


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
        templates: TemplateReader,
        coupons: CouponRepository,
        stock: StockNumbers,
        audience: AudienceProjection,
        tz: tzinfo,
        members: MemberLookup,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._templates = templates
        self._coupons = coupons
        self._stock = stock
        self._audience = audience
        self._members = members
        self._tz = tz
        self._clock = clock

    async def template(self, tenant_id: str, template_id: str) -> Template:
        found = await self._templates.get(tenant_id, template_id)
        if found is None:
            raise NotFound(f"template {template_id} not found")
        return found.template

    async def claim(self, tenant_id: str, template_id: str, member_id: str) -> IssueResult:
        """A member's grab: everything the issue checks, plus `claimable` and the audience."""
        template = await self.template(tenant_id, template_id)
        if not template.claimable:
            return _no(Outcome.NOT_AVAILABLE, "this coupon is given by the shop, not claimed")
        view = await self._audience.member(tenant_id, member_id)
        if view is None and not await self._members.exists(tenant_id, member_id):
            raise NotFound(f"member {member_id} not found")  # (members' events may be on the way)
        refusal = await self._refusal(template, member_id, view)
        if refusal:
            return refusal
        return await self._issue(template, member_id, str(ULID()), Source.CLAIM, member_id, keyed=False)

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
        return await self._issue(template, member_id, coupon_id, source, source_ref, keyed=True)

    async def _refusal(
        self, template: Template, member_id: str, view: MemberView | None
    ) -> IssueResult | None:
        """Why this member is outside the template's audience (from the local projection), if so."""
        if _barred(view):
            return _no(Outcome.NOT_ELIGIBLE, _BARRED)
        audience = template.audience
        in_segment = audience.kind is AudienceKind.SEGMENT and await self._audience.in_segment(
            template.id, member_id
        )
        if audience.admits(view.tier if view else "", in_segment):
            return None
        if audience.kind is AudienceKind.TIERS:
            return _no(Outcome.NOT_ELIGIBLE, f"for {', '.join(audience.tiers)} members only")
        return _no(Outcome.NOT_ELIGIBLE, "this offer is for selected members")

    async def _issue(
        self,
        template: Template,
        member_id: str,
        coupon_id: str,
        source: Source,
        source_ref: str,
        *,
        keyed: bool,
    ) -> IssueResult:
        """Take the coupon's places in the limits and write it, in one insert; `keyed`: the
        coupon's id comes from the caller's key (a retry may be in flight), not fresh.

        Everything before the insert only reads, and the insert writes the coupon with its
        stock number and its member and period slots, each unique in the store: so a claim
        stopped anywhere (a deadline, a crash, a lost reply) has issued a whole coupon or
        left no trace, and no answer given here can be contradicted by what is stored. The
        first attempt guesses the member's places unread (`_places`); an insert that finds a
        place taken, guessed or taken meanwhile, tries again with fresh reads.
        """
        now = stored_instant(self._clock())
        if template.state is not TemplateState.ACTIVE:
            return _no(Outcome.NOT_AVAILABLE, f"this coupon is not on offer ({template.state})")
        try:
            valid_from, valid_until = validity.window(template.validity, now, self._tz)
        except FailedPrecondition:
            return _no(Outcome.NOT_AVAILABLE, "this offer has ended")
        held = None if _counts_members(template) else NOTHING_HELD
        for _ in range(ATTEMPTS):
            places = await self._places(template, held, coupon_id, now)
            if isinstance(places, IssueResult):
                if held is None:  # judged on a guess: judge again on what the member holds
                    held = await self._held(template, member_id)
                    continue
                # A refusal read from the places held; an issue under a key still in flight (a
                # retry racing its first attempt) may have stored this very coupon meanwhile.
                existing = await self._coupons.get(template.tenant_id, coupon_id) if keyed else None
                if existing is not None:
                    return IssueResult(Outcome.ISSUED, existing, "issued before")
                return places
            coupon = Coupon(
                id=coupon_id,
                tenant_id=template.tenant_id,
                member_id=member_id,
                code=new_code(),
                terms=template.terms(),
                state=CouponState.AVAILABLE,
                valid_from=valid_from,
                valid_until=valid_until,
                issued_at=now,
                source=source,
                source_ref=source_ref,
            )
            try:
                added = await self._coupons.add(coupon, places)
            finally:  # in-memory bookkeeping, not a write: the store already says who holds it
                if isinstance(places.stock_no, int):
                    await self._stock.settle(template.id, places.stock_no)
            if added is Added.ADDED:
                return IssueResult(Outcome.ISSUED, coupon, "issued", created=True)
            if added is Added.EXISTS:  # the same issue (a retry, a replay) got there first
                existing = await self._coupons.get(template.tenant_id, coupon_id)
                assert existing is not None
                return IssueResult(Outcome.ISSUED, existing, "issued before")
            guessed, held = held is None, await self._held(template, member_id)
            if guessed and isinstance(places.stock_no, int) and holds_any(held, places):
                # The member's own place was the one taken (a second claim), so the number is
                # most likely still free: offer it again rather than leave it to the next read.
                await self._stock.offer_again(template.id, places.stock_no)
        raise Unavailable("many claims are competing for this coupon; try again")

    async def _held(self, template: Template, member_id: str) -> Held:
        if not _counts_members(template):
            return NOTHING_HELD
        return await self._coupons.places_held(template.tenant_id, template.id, member_id)

    async def _places(
        self, template: Template, held: Held | None, coupon_id: str, now: datetime
    ) -> Places | IssueResult:
        """Free places in the template's limits for this coupon, or why there are none.

        With `held` None (not read yet) it takes the first place of each of the member's
        limits: right for a member's first claim, the common case, which so costs no read,
        and judged like every place by the insert's unique indexes; a refused guess is judged
        again on a read.
        """
        limits = template.limits
        held_slots, held_periods = held or NOTHING_HELD
        member_slot: int | str = outside(coupon_id)
        period_slot = outside(coupon_id)
        if limits.per_member_limit:
            k = first_free(held_slots, limits.per_member_limit)
            if k is None:
                return _no(Outcome.LIMIT_REACHED, f"limit of {limits.per_member_limit} per member reached")
            member_slot = k
        if limits.per_period_limit:
            period = period_key(limits.period, now, self._tz)
            k = first_free(period_places_held(held_periods, period), limits.per_period_limit)
            if k is None:
                return _no(
                    Outcome.LIMIT_REACHED,
                    f"limit of {limits.per_period_limit} per {limits.period} reached",
                )
            period_slot = period_place(period, k)
        stock_no: int | str = outside(coupon_id)
        if limits.total_stock:
            n = await self._stock.take(template.tenant_id, template.id, limits.total_stock)
            if n is None:
                return _no(Outcome.SOLD_OUT, "sold out")
            stock_no = n
        return Places(stock_no, member_slot, period_slot)


def _counts_members(template: Template) -> bool:
    """Whether a coupon of it takes a place in the member's own limits."""
    return bool(template.limits.per_member_limit or template.limits.per_period_limit)
