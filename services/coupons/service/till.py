"""Using coupons at the till: validate a cart, lock, redeem, release, and roll back on a refund.

Each change is one conditional update from the state it leaves (atomic in the store), so of
100 tills redeeming one coupon at once — on any number of replicas — exactly one wins; a retried redemption
(same receipt) gets the same answer; a refund delivered three times restores once.

A template's budget is charged before the coupon is written and the coupon then takes the
charge over; a refund writes the give-back it owes on the coupon with the restore, then pays
it (service/housekeeping.py: why each is exactly once whatever crashes). Nothing is undone in
process: a charge whose coupon write did not happen is settled by the sweeper.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ulid import ULID

from chassis.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from services.coupons.domain import coupons as rules
from services.coupons.domain.budget import GRACE, HOLD, Charging, GiveBack, give_back_key
from services.coupons.domain.codes import normalise_code
from services.coupons.domain.coupons import Coupon, CouponState, Redemption
from services.coupons.domain.discounts import Cart, CartLine, Decision, Reason, check_window, compute
from services.coupons.domain.keys import budget_key
from services.coupons.domain.stacking import Candidate, Suggestion, suggest
from services.coupons.domain.templates import MAX_MONEY
from services.coupons.service.housekeeping import BudgetBook
from services.coupons.service.ports import Charge, CouponRepository, TemplateRepository


@dataclass(frozen=True)
class Check:
    coupon: Coupon
    decision: Decision


class Till:
    def __init__(
        self,
        coupons: CouponRepository,
        templates: TemplateRepository,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._coupons = coupons
        self._templates = templates
        self._clock = clock
        self._budget = BudgetBook(coupons, templates, clock)

    async def by_code(self, tenant_id: str, code: str) -> Coupon:
        coupon = await self._coupons.by_code(tenant_id, normalise_code(code))
        if coupon is None:
            raise NotFound("no coupon has this code")
        return coupon

    async def validate(
        self, tenant_id: str, member_id: str, store_id: str, lines: Sequence[Mapping[str, object]]
    ) -> tuple[Cart, list[Check], Suggestion]:
        """Every coupon the member holds, judged on this cart, and the best combination."""
        if not member_id.strip():
            raise InvalidArgument("member_id", "member_id is required")
        cart = Cart.parse(store_id, lines, member_id)
        now = self._clock()
        held = await self._coupons.of_member(tenant_id, member_id, ["available", "locked"])
        checks = [Check(c, self._judge(c, cart, now)) for c in held]
        candidates = [
            Candidate(
                ch.coupon.id,
                ch.coupon.template_id,
                ch.coupon.terms.stackable,
                ch.decision,
                ch.coupon.valid_until,
            )
            for ch in checks
        ]
        return cart, checks, suggest(candidates, cart.total)

    @staticmethod
    def _judge(c: Coupon, cart: Cart, now: datetime) -> Decision:
        state = c.state_at(now)
        if state is CouponState.LOCKED:
            return Decision(False, 0, Reason.NOT_AVAILABLE, "held by a checkout in progress")
        return check_window(c.valid_from, c.valid_until, now) or compute(c.terms.benefit, c.terms.scope, cart)

    async def lock(
        self, tenant_id: str, code: str, checkout_id: str, store_id: str, ttl_seconds: int
    ) -> Coupon:
        checkout_id = rules.receipt("checkout_id", checkout_id)
        ttl = rules.lock_ttl(ttl_seconds)
        found = await self.by_code(tenant_id, code)
        now = self._clock()
        c = await self._current(found)
        rules.check_lockable(c, checkout_id, store_id, now)
        locked = await self._coupons.lock(c, checkout_id, now + ttl, now)
        if locked is None:
            raise FailedPrecondition("the coupon changed meanwhile; try again")
        return locked

    async def redeem(
        self,
        tenant_id: str,
        code: str,
        *,
        receipt_no: str,
        store_id: str,
        checkout_id: str = "",
        staff_id: str = "",
        discount: int,
        receipt_total: int,
        purchase_id: str = "",
    ) -> Coupon:
        receipt_no = rules.receipt("receipt_no", receipt_no)
        store_id = rules.receipt("store_id", store_id)
        for field, amount in (("discount", discount), ("receipt_total", receipt_total)):
            if not 0 <= amount <= MAX_MONEY:
                raise InvalidArgument(field, f"{field} must not be negative")
        found = await self.by_code(tenant_id, code)
        now = self._clock()
        c = await self._current(found)
        if rules.check_redeemable(c, receipt_no, checkout_id, store_id, now):
            await self._charge_taken(c)  # in case the first attempt died before dropping its mark
            if purchase_id and c.redemption and not c.redemption.purchase_id:
                return await self._coupons.attach_purchase(c, purchase_id) or c
            return c  # the same receipt again: a retry
        if c.budget_to_return is not None:  # a refund's give-back a crash left owed: pay it first
            c = await self._paid(c, now)
        found_template = await self._templates.get(tenant_id, c.template_id)
        budget = found_template.template.limits.budget if found_template else 0
        charge = await self._charge(c, budget, receipt_no, discount, now) if budget else None
        redemption = Redemption(
            receipt_no,
            store_id,
            staff_id.strip()[:64],
            discount,
            receipt_total,
            purchase_id.strip()[:160],
            now,
            budget_charged=charge.amount if charge else 0,
            budget_charge_id=charge.charge_id if charge else "",
        )
        if charge is not None and self._clock() - charge.at >= HOLD:
            raise Unavailable("the redemption took too long; try again")  # the sweeper settles the charge
        redeemed = await self._coupons.redeem(c, redemption, checkout_id, now)
        if redeemed is not None:
            if charge is not None:  # the coupon holds the charge now: the template's mark goes
                await self._templates.charge_taken(tenant_id, c.template_id, charge)
            return redeemed
        now_stored = await self._current(await self.by_code(tenant_id, code))
        r = now_stored.redemption
        if r is not None and r.receipt_no == receipt_no:
            await self._charge_taken(now_stored)
            return now_stored  # the same receipt redeemed it meanwhile (a retry racing this one)
        # Our charge, if no coupon took it over, is left to the sweeper: it settles it, once,
        # when no retry of this receipt can take it over any more (GRACE).
        raise FailedPrecondition("the coupon changed meanwhile; try again")

    async def _charge(
        self, c: Coupon, budget: int, receipt_no: str, discount: int, now: datetime
    ) -> Charging:
        """The charge this redemption will take over: charged now, or one in flight for the same
        receipt (a retry racing it) recent enough to be taken over (HOLD)."""
        mark = Charging(c.id, receipt_no, discount, now, str(ULID()))
        for _ in range(2):
            charged = await self._templates.charge_budget(c.tenant_id, c.template_id, budget, mark)
            if charged.outcome is Charge.REFUSED or charged.standing is None:
                raise FailedPrecondition("this campaign's discount budget is used up")
            standing = charged.standing
            age = self._clock() - standing.at
            if charged.outcome is Charge.CHARGED or age < HOLD:
                return standing
            if age < GRACE:
                raise Unavailable("an earlier attempt at this redemption is being settled; try again shortly")
            await self._budget.settle_charge(c.tenant_id, c.template_id, standing)  # abandoned: settle it
        raise Unavailable("the budget is busy; try again")

    async def _charge_taken(self, c: Coupon) -> None:
        r = c.redemption
        if r is not None and r.budget_charge_id:
            mark = Charging(c.id, r.receipt_no, r.budget_charged, r.at, r.budget_charge_id)
            await self._templates.charge_taken(c.tenant_id, c.template_id, mark)

    async def _paid(self, c: Coupon, read_at: datetime) -> Coupon:
        done = await self._budget.complete_give_back(c, read_at)
        if done is None:
            raise Unavailable("the coupon's budget is being settled; try again")
        return done

    async def release(self, tenant_id: str, code: str, checkout_id: str) -> Coupon:
        checkout_id = rules.receipt("checkout_id", checkout_id)
        found = await self.by_code(tenant_id, code)
        c = await self._current(found)
        if c.state is CouponState.AVAILABLE:
            return c  # released before (or timed out): nothing to do
        if c.state is not CouponState.LOCKED or c.checkout_id != checkout_id:
            raise FailedPrecondition("the coupon is not held by this checkout")
        released = await self._coupons.release(c, checkout_id, self._clock())
        if released is None:
            raise FailedPrecondition("the coupon changed meanwhile; try again")
        return released

    async def redeem_from_purchase(
        self,
        tenant_id: str,
        member_id: str,
        code: str,
        *,
        purchase_id: str,
        receipt_no: str,
        store_id: str,
        staff_id: str,
        lines: Sequence[CartLine],
        total_paid: int,
    ) -> Coupon | None:
        """A purchase_made that names a code: redeem it for that receipt unless already done."""
        try:
            c = await self.by_code(tenant_id, code)
        except (NotFound, InvalidArgument):
            return None  # a code of another system, or a typo on the receipt: nothing of ours
        if c.member_id != member_id:
            return None
        if c.redemption is not None and c.redemption.receipt_no == receipt_no:
            discount = c.redemption.discount  # the till redeemed it for this receipt: that stands
        else:  # a till that never called us: the coupon's discount on the receipt's lines
            discount = compute(
                c.terms.benefit, c.terms.scope, Cart(store_id, tuple(lines), member_id)
            ).discount
        try:
            return await self.redeem(
                tenant_id,
                code,
                receipt_no=receipt_no,
                store_id=store_id,
                staff_id=staff_id,
                discount=discount,
                receipt_total=total_paid,
                purchase_id=purchase_id,
            )
        except FailedPrecondition:
            return None  # spent on another receipt, expired...: the till's own answer stands

    async def roll_back(self, tenant_id: str, code: str, purchase_id: str, refund_id: str) -> bool:
        """Undo the coupon's redemption by this purchase, once: True when it was undone now.

        The coupon is usable again if still valid, unless its template says coupons stay
        spent; the template's budget gets back what the redemption cost it (the restore records
        the debt, then it is paid: a redelivery finishes a debt a crash left, the sweeper too); a
        coupon that stays spent frees the member's limit slot, so the member may claim another.
        Each step is idempotent, so a redelivered event repeats them harmlessly.
        """
        try:
            c = await self.by_code(tenant_id, code)
        except (NotFound, InvalidArgument):
            return False
        if c.redemption is None or c.redemption.purchase_id != purchase_id:
            return False
        found_template = await self._templates.get(tenant_id, c.template_id)
        stays_spent = bool(found_template and found_template.stays_spent_on_refund)
        now = self._clock()
        usable = not stays_spent and now < c.valid_until
        owed = await self._owed(c, c.redemption, now)
        restored = await self._coupons.restore(c, purchase_id, refund_id, usable, now, owed)
        if restored is not None:
            await self._paid(restored, now)
        else:  # a replay, or a racing delivery: a crash may have left the debt owed
            read_at = self._clock()
            await self._paid(await self._current(c), read_at)
        if not usable:
            await self._coupons.give_back_member_place(c)
        return restored is not None

    async def _owed(self, c: Coupon, r: Redemption, now: datetime) -> GiveBack | None:
        """What undoing redemption `r` owes the template's budget: what the coupon recorded, or
        for a redemption from before coupons recorded it, the mark it left on the template."""
        if r.budget_charge_id:
            key = give_back_key(c.id, r.budget_charge_id)
            return GiveBack(key, r.budget_charged, now) if r.budget_charged else None
        legacy = budget_key(c.id, r.receipt_no)
        amount = await self._templates.legacy_charge(c.tenant_id, c.template_id, legacy)
        return GiveBack(legacy, amount, now, legacy=True) if amount else None

    async def _current(self, c: Coupon) -> Coupon:
        fresh = await self._coupons.get(c.tenant_id, c.id)
        if fresh is None:
            raise NotFound("no coupon has this code")
        return fresh
