"""In-memory fakes of coupons' own ports (never of Mongo or Kafka), for service-layer tests.

Each keeps the promise its port and its Mongo adapter document: a coupon's id, its code (per
tenant) and its places (stock number, member slot, period slot, per template) are unique, so
an insert holding a taken one answers PLACE_TAKEN and one with a stored id EXISTS; every change
of a coupon's state is guarded by the stored state it leaves and answers None when the guard
fails; a budget charge is in flight once per key and never takes the used total past the
budget, and each mark is added or removed under the same conditions as in the adapter; stock
numbers are only a hint, and "sold out" only once every number is held.

`crash_at(name)` makes the next call of that port method raise `Crash` without applying it:
a process that died just before that step.

Every call first yields to the event loop, as a round trip to the store would, and then
applies its change without another await (atomic, as the store's conditional update is), so
claims run with `asyncio.gather` interleave at every port call as they would on servers.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from chassis.errors import NotFound
from services.coupons.domain.audience import MemberView
from services.coupons.domain.budget import Charging, GiveBack, InFlight, Returning
from services.coupons.domain.coupons import Coupon, CouponState, Redemption, Source
from services.coupons.domain.jobs import Job, JobState
from services.coupons.domain.keys import Held, Places, given_back
from services.coupons.domain.rules import Rule, Trigger
from services.coupons.domain.templates import (
    Audience,
    Benefit,
    Limits,
    Scope,
    StoredTemplate,
    Template,
    TemplateState,
)
from services.coupons.domain.validity import Validity
from services.coupons.service import ports
from services.coupons.service.issuing import Issuer
from services.coupons.service.ports import Added, Charge, Charged
from services.coupons.service.till import Till
from services.coupons.service.wallet import Wallet


async def _round_trip() -> None:
    """Let other coroutines run, as a call to the store would."""
    await asyncio.sleep(0)


class Crash(Exception):
    """The process died before this step was written."""


class Crashes:
    """One-shot crash points by port method name."""

    def __init__(self) -> None:
        self._at: set[str] = set()

    def crash_at(self, *names: str) -> None:
        self._at.update(names)

    def _step(self, name: str) -> None:
        if name in self._at:
            self._at.discard(name)
            raise Crash(name)


class Clock:
    """An injectable clock: `clock()` is now; move it with `advance`."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


@dataclass
class StoredCoupon:
    coupon: Coupon
    places: Places
    events: list[str] = field(default_factory=lambda: ["coupon_issued"])
    expiring_warned: bool = False


class FakeCoupons(Crashes):
    """Coupons with their places and the events each announced (`events_of`)."""

    def __init__(self) -> None:
        super().__init__()
        self.stored: dict[tuple[str, str], StoredCoupon] = {}
        self.inserts = 0  # attempts, whatever they answered
        self.places_reads = 0

    # --- what tests read -------------------------------------------------------------------

    def all(self, tenant_id: str = "t1") -> list[Coupon]:
        return [s.coupon for (t, _), s in self.stored.items() if t == tenant_id]

    def events_of(self, c: Coupon) -> list[str]:
        return list(self.stored[(c.tenant_id, c.id)].events)

    def places_of(self, c: Coupon) -> Places:
        return self.stored[(c.tenant_id, c.id)].places

    def stock_held(self, tenant_id: str, template_id: str) -> set[int]:
        return {
            s.places.stock_no
            for s in self.stored.values()
            if s.coupon.tenant_id == tenant_id
            and s.coupon.template_id == template_id
            and isinstance(s.places.stock_no, int)
        }

    # --- the port --------------------------------------------------------------------------

    async def add(self, coupon: Coupon, places: Places) -> Added:
        await _round_trip()
        self.inserts += 1
        if (coupon.tenant_id, coupon.id) in self.stored:
            return Added.EXISTS
        for s in self.stored.values():
            o = s.coupon
            if o.tenant_id != coupon.tenant_id:
                continue
            if o.code == coupon.code:
                return Added.PLACE_TAKEN
            if o.template_id != coupon.template_id:
                continue
            if s.places.stock_no == places.stock_no:
                return Added.PLACE_TAKEN
            if o.member_id == coupon.member_id and (
                s.places.member_slot == places.member_slot or s.places.period_slot == places.period_slot
            ):
                return Added.PLACE_TAKEN
        self.stored[(coupon.tenant_id, coupon.id)] = StoredCoupon(coupon, places)
        return Added.ADDED

    async def get(self, tenant_id: str, coupon_id: str) -> Coupon | None:
        await _round_trip()
        s = self.stored.get((tenant_id, coupon_id))
        return s.coupon if s else None

    async def places_held(self, tenant_id: str, template_id: str, member_id: str) -> Held:
        await _round_trip()
        self.places_reads += 1
        mine = [
            s.places
            for s in self.stored.values()
            if (s.coupon.tenant_id, s.coupon.template_id, s.coupon.member_id)
            == (tenant_id, template_id, member_id)
        ]
        return [p.member_slot for p in mine], [str(p.period_slot) for p in mine]

    async def give_back_member_place(self, c: Coupon) -> None:
        await _round_trip()
        s = self.stored.get((c.tenant_id, c.id))
        if s is not None:
            s.places = replace(s.places, member_slot=given_back(c.id), period_slot=given_back(c.id))

    async def by_code(self, tenant_id: str, code: str) -> Coupon | None:
        await _round_trip()
        return next(
            (
                s.coupon
                for s in self.stored.values()
                if (s.coupon.tenant_id, s.coupon.code) == (tenant_id, code)
            ),
            None,
        )

    async def of_member(self, tenant_id: str, member_id: str, states: list[str]) -> list[Coupon]:
        await _round_trip()
        held = [
            s.coupon
            for s in reversed(self.stored.values())
            if (s.coupon.tenant_id, s.coupon.member_id) == (tenant_id, member_id)
            and (not states or s.coupon.state.value in states)
        ]
        return sorted(held, key=lambda c: c.issued_at, reverse=True)[:500]

    async def of_template(self, tenant_id: str, template_id: str) -> AsyncIterator[Coupon]:
        await _round_trip()
        for s in list(self.stored.values()):
            if (s.coupon.tenant_id, s.coupon.template_id) == (tenant_id, template_id):
                yield s.coupon

    async def count_issued(self, tenant_id: str, template_id: str) -> int:
        await _round_trip()
        return sum(
            (s.coupon.tenant_id, s.coupon.template_id) == (tenant_id, template_id)
            and s.coupon.source is not Source.SHARE
            for s in self.stored.values()
        )

    async def due_to_expire(self, before: datetime, warned: bool | None = None) -> list[Coupon]:
        await _round_trip()
        due = [
            s.coupon
            for s in self.stored.values()
            if s.coupon.state in (CouponState.AVAILABLE, CouponState.LOCKED)
            and s.coupon.valid_until <= before
            and not (warned is False and s.expiring_warned)
        ]
        return sorted(due, key=lambda c: c.valid_until)[:1000]

    async def lock(self, c: Coupon, checkout_id: str, until: datetime, now: datetime) -> Coupon | None:
        return await self._change(
            c,
            lambda s: _free_for(s.coupon, checkout_id, now),
            lambda s: _set(s, state=CouponState.LOCKED, checkout_id=checkout_id, lock_expires_at=until),
        )

    async def redeem(self, c: Coupon, r: Redemption, checkout_id: str, now: datetime) -> Coupon | None:
        self._step("redeem")
        return await self._change(
            c,
            lambda s: _free_for(s.coupon, checkout_id, now) and s.coupon.budget_to_return is None,
            lambda s: _set(s, "coupon_redeemed", state=CouponState.REDEEMED, redemption=r, **_UNLOCKED),
        )

    async def attach_purchase(self, c: Coupon, purchase_id: str) -> Coupon | None:
        def attach(s: StoredCoupon) -> None:
            assert s.coupon.redemption is not None
            _set(s, redemption=replace(s.coupon.redemption, purchase_id=purchase_id))

        return await self._change(
            c,
            lambda s: (
                s.coupon.state is CouponState.REDEEMED
                and s.coupon.redemption is not None
                and s.coupon.redemption.purchase_id == ""
            ),
            attach,
        )

    async def reassign(self, c: Coupon, member_id: str) -> Coupon | None:
        return await self._change(
            c,
            lambda s: (
                s.coupon.member_id == c.member_id
                and s.coupon.state in (CouponState.AVAILABLE, CouponState.LOCKED)
            ),
            lambda s: _set(s, member_id=member_id),
        )

    async def release(self, c: Coupon, checkout_id: str, at: datetime) -> Coupon | None:
        return await self._change(
            c,
            lambda s: s.coupon.state is CouponState.LOCKED and s.coupon.checkout_id == checkout_id,
            lambda s: _set(s, "coupon_released", state=CouponState.AVAILABLE, **_UNLOCKED),
        )

    async def restore(
        self,
        c: Coupon,
        purchase_id: str,
        refund_id: str,
        usable_again: bool,
        at: datetime,
        owed: GiveBack | None = None,
    ) -> Coupon | None:
        self._step("restore")

        def undo(s: StoredCoupon) -> None:
            assert s.coupon.redemption is not None
            redemption = replace(s.coupon.redemption, refunded_by=refund_id)
            if usable_again:
                _set(
                    s,
                    "coupon_released",
                    state=CouponState.AVAILABLE,
                    redemption=redemption,
                    budget_to_return=owed,
                )
            else:
                _set(s, redemption=redemption, budget_to_return=owed)

        return await self._change(
            c,
            lambda s: (
                s.coupon.state is CouponState.REDEEMED
                and s.coupon.redemption is not None
                and s.coupon.redemption.purchase_id == purchase_id
                and s.coupon.redemption.refunded_by == ""
            ),
            undo,
        )

    async def gave_back(self, c: Coupon, key: str, at: datetime) -> Coupon | None:
        self._step("gave_back")
        return await self._change(
            c,
            lambda s: s.coupon.budget_to_return is not None and s.coupon.budget_to_return.key == key,
            lambda s: _set(s, budget_to_return=None, budget_returned_at=at),
        )

    async def owing_budget(self, since_before: datetime) -> list[Coupon]:
        await _round_trip()
        owing = [
            s.coupon
            for s in self.stored.values()
            if s.coupon.budget_to_return is not None and s.coupon.budget_to_return.since <= since_before
        ]
        return sorted(owing, key=lambda c: c.budget_to_return.since if c.budget_to_return else NOW)[:500]

    async def mark_shared(self, c: Coupon, to_coupon_id: str) -> Coupon | None:
        return await self._change(
            c,
            lambda s: s.coupon.state is CouponState.AVAILABLE and s.coupon.member_id == c.member_id,
            lambda s: _set(s, state=CouponState.SHARED, shared_to=to_coupon_id),
        )

    async def expire(self, c: Coupon, at: datetime) -> Coupon | None:
        return await self._change(
            c,
            lambda s: (
                s.coupon.state in (CouponState.AVAILABLE, CouponState.LOCKED) and s.coupon.valid_until <= at
            ),
            lambda s: _set(s, "coupon_expired", state=CouponState.EXPIRED, **_UNLOCKED),
        )

    async def warn_expiring(self, c: Coupon, days_left: int, at: datetime) -> Coupon | None:
        def warn(s: StoredCoupon) -> None:
            s.expiring_warned = True
            s.events.append("coupon_expiring")

        return await self._change(
            c,
            lambda s: s.coupon.state in (CouponState.AVAILABLE, CouponState.LOCKED) and not s.expiring_warned,
            warn,
        )

    async def _change(
        self, c: Coupon, guard: Callable[[StoredCoupon], bool], change: Callable[[StoredCoupon], None]
    ) -> Coupon | None:
        """One conditional update: `change` applied when `guard` holds for what is stored."""
        await _round_trip()
        s = self.stored.get((c.tenant_id, c.id))
        if s is None or not guard(s):
            return None
        change(s)
        return s.coupon


_UNLOCKED: dict[str, Any] = {"checkout_id": "", "lock_expires_at": None}


def _set(s: StoredCoupon, event: str = "", **fields: Any) -> None:
    s.coupon = replace(s.coupon, **fields)
    if event:
        s.events.append(event)


def _free_for(c: Coupon, checkout_id: str, now: datetime) -> bool:
    """Available, a timed-out lock, or (for a named checkout) its own lock."""
    if c.state is CouponState.AVAILABLE:
        return True
    if c.state is not CouponState.LOCKED:
        return False
    timed_out = c.lock_expires_at is not None and c.lock_expires_at <= now
    return timed_out or (bool(checkout_id) and c.checkout_id == checkout_id)


@dataclass
class _TemplateRecord:
    template: Template
    stays_spent_on_refund: bool
    budget_used: int = 0
    audience_ready: bool = False
    charging: dict[str, Charging] = field(default_factory=dict)
    returning: dict[str, Returning] = field(default_factory=dict)
    budget_marks: dict[str, int] = field(default_factory=dict)  # what older versions kept for ever


class FakeTemplates(Crashes):
    def __init__(self) -> None:
        super().__init__()
        self.stored: dict[str, _TemplateRecord] = {}

    def budget_used(self, template_id: str) -> int:
        return self.stored[template_id].budget_used

    def marks(self, template_id: str) -> tuple[list[Charging], list[Returning]]:
        """The marks in flight on the template (charging, returning)."""
        r = self.stored[template_id]
        return list(r.charging.values()), list(r.returning.values())

    async def add(self, t: Template, stays_spent_on_refund: bool) -> None:
        await _round_trip()
        self.stored.setdefault(t.id, _TemplateRecord(t, stays_spent_on_refund))

    async def get(self, tenant_id: str, template_id: str) -> StoredTemplate | None:
        await _round_trip()
        r = self._of(tenant_id, template_id)
        return _stored(r) if r else None

    async def of_tenant(self, tenant_id: str, state: str = "") -> list[StoredTemplate]:
        await _round_trip()
        found = [
            r
            for r in self.stored.values()
            if r.template.tenant_id == tenant_id and (not state or r.template.state.value == state)
        ]
        found.sort(key=lambda r: r.template.created_at, reverse=True)
        return [_stored(r) for r in found[:500]]

    async def save(self, t: Template, stays_spent_on_refund: bool, expected_version: int) -> bool:
        await _round_trip()
        r = self._of(t.tenant_id, t.id)
        if r is None or r.template.version != expected_version or r.template.state.value == "ended":
            return False
        r.template, r.stays_spent_on_refund = t, stays_spent_on_refund
        return True

    async def set_state(self, t: Template, expected: str) -> bool:
        await _round_trip()
        r = self._of(t.tenant_id, t.id)
        if r is None or r.template.state.value != expected:
            return False
        r.template = replace(r.template, state=t.state)
        return True

    async def set_audience_ready(self, tenant_id: str, template_id: str) -> None:
        await _round_trip()
        r = self._of(tenant_id, template_id)
        if r is not None:
            r.audience_ready = True

    async def charge_budget(self, tenant_id: str, template_id: str, budget: int, mark: Charging) -> Charged:
        await _round_trip()
        self._step("charge_budget")
        r = self._of(tenant_id, template_id)
        if r is None:
            return Charged(Charge.REFUSED, None)
        if mark.key in r.charging:
            return Charged(Charge.CHARGED_BEFORE, r.charging[mark.key])  # a retry, or a racing call
        if r.budget_used + mark.amount > budget:
            return Charged(Charge.REFUSED, None)
        r.budget_used += mark.amount
        r.charging[mark.key] = mark
        return Charged(Charge.CHARGED, mark)

    async def charge_taken(self, tenant_id: str, template_id: str, mark: Charging) -> None:
        await _round_trip()
        self._step("charge_taken")
        r = self._of(tenant_id, template_id)
        if r is not None and _same_charge(r.charging.get(mark.key), mark):
            del r.charging[mark.key]

    async def settle_charge(self, tenant_id: str, template_id: str, mark: Charging) -> bool:
        await _round_trip()
        self._step("settle_charge")
        r = self._of(tenant_id, template_id)
        if r is None or not _same_charge(r.charging.get(mark.key), mark):
            return False
        r.budget_used -= r.charging.pop(mark.key).amount
        return True

    async def give_back(
        self, tenant_id: str, template_id: str, paid: Returning, charge_key: str, charge_id: str
    ) -> bool:
        await _round_trip()
        self._step("give_back")
        r = self._of(tenant_id, template_id)
        if r is None or paid.key in r.returning:
            return False
        r.budget_used -= paid.amount
        r.returning[paid.key] = paid
        standing = r.charging.get(charge_key)
        if charge_id and standing is not None and standing.charge_id == charge_id:
            del r.charging[charge_key]
        return True

    async def forget_given_back(self, tenant_id: str, template_id: str, key: str) -> None:
        await _round_trip()
        self._step("forget_given_back")
        r = self._of(tenant_id, template_id)
        if r is not None:
            r.returning.pop(key, None)

    async def legacy_charge(self, tenant_id: str, template_id: str, key: str) -> int:
        await _round_trip()
        r = self._of(tenant_id, template_id)
        return r.budget_marks.get(key, 0) if r is not None else 0

    async def give_back_legacy(self, tenant_id: str, template_id: str, key: str, amount: int) -> bool:
        await _round_trip()
        self._step("give_back_legacy")
        r = self._of(tenant_id, template_id)
        if r is None or r.budget_marks.get(key) != amount:
            return False
        r.budget_used -= r.budget_marks.pop(key)
        return True

    async def in_flight(self, before: datetime) -> list[InFlight]:
        await _round_trip()
        return [
            InFlight(
                r.template.tenant_id, r.template.id, tuple(r.charging.values()), tuple(r.returning.values())
            )
            for r in self.stored.values()
            if any(
                at <= before
                for at in [m.at for m in r.charging.values()] + [m.at for m in r.returning.values()]
            )
        ][:500]

    async def tidy_marks(self, tenant_id: str, template_id: str) -> None:
        await _round_trip()  # the fake finds due marks by looking at them all

    def _of(self, tenant_id: str, template_id: str) -> _TemplateRecord | None:
        r = self.stored.get(template_id)
        return r if r is not None and r.template.tenant_id == tenant_id else None


def _same_charge(standing: Charging | None, mark: Charging) -> bool:
    return standing is not None and standing.charge_id == mark.charge_id


def _stored(r: _TemplateRecord) -> StoredTemplate:
    return StoredTemplate(r.template, r.stays_spent_on_refund, r.budget_used, r.audience_ready)


class FakeStockNumbers:
    """The stock-numbers hint of one process, reading which numbers `coupons` holds.

    Hands out the lowest number neither held nor in flight here (the worst case for two
    processes sharing one store: both offer the same number, and the insert decides). With
    none left it waits for the claims in flight here to settle, and answers None only after
    seeing every number held, as the port promises.
    """

    def __init__(self, coupons: FakeCoupons) -> None:
        self._coupons = coupons
        self._in_flight: dict[str, set[int]] = defaultdict(set)
        self._settled: asyncio.Condition | None = None
        self.taken = 0
        self.offered_again = 0

    async def take(self, tenant_id: str, template_id: str, stock: int) -> int | None:
        await _round_trip()
        if self._settled is None:
            self._settled = asyncio.Condition()
        async with self._settled:
            while True:
                held = self._coupons.stock_held(tenant_id, template_id)
                busy = self._in_flight[template_id]
                free = [n for n in range(1, stock + 1) if n not in held and n not in busy]
                if free:
                    busy.add(free[0])
                    self.taken += 1
                    return free[0]
                if not any(n <= stock for n in busy):
                    return None
                await self._settled.wait()

    async def settle(self, template_id: str, n: int) -> None:
        self._in_flight[template_id].discard(n)
        if self._settled is not None:
            async with self._settled:
                self._settled.notify_all()

    async def offer_again(self, template_id: str, n: int) -> None:
        """Nothing to keep: every take reads what the coupons hold."""
        self.offered_again += 1

    def in_flight(self, template_id: str) -> set[int]:
        return set(self._in_flight[template_id])


class FakeAudience:
    def __init__(self) -> None:
        self.profiles: dict[tuple[str, str], dict[str, Any]] = {}
        self.segments: set[tuple[str, str]] = set()  # (template, member)

    async def registered(self, tenant_id: str, member_id: str, tier: str, at: datetime) -> None:
        await _round_trip()
        if (tenant_id, member_id) not in self.profiles:
            self.profiles[(tenant_id, member_id)] = {"tier": tier, "at": at}
        elif tier:
            self.profiles[(tenant_id, member_id)]["tier"] = tier

    async def member(self, tenant_id: str, member_id: str) -> MemberView | None:
        await _round_trip()
        p = self.profiles.get((tenant_id, member_id))
        if p is None:
            return None
        return MemberView(
            tier=p.get("tier", ""),
            blacklisted=bool(p.get("blacklisted")),
            gone=bool(p.get("erased") or p.get("merged_into")),
        )

    async def change(self, tenant_id: str, member_id: str, fields: dict[str, Any]) -> None:
        await _round_trip()
        if fields:
            self.profiles.setdefault((tenant_id, member_id), {}).update(fields)

    async def in_segment(self, template_id: str, member_id: str) -> bool:
        await _round_trip()
        return (template_id, member_id) in self.segments

    async def add_to_segment(self, tenant_id: str, template_id: str, member_ids: list[str]) -> None:
        await _round_trip()
        self.segments.update((template_id, m) for m in member_ids)


class FakeRules:
    def __init__(self) -> None:
        self.stored: dict[str, Rule] = {}

    async def add(self, rule: Rule) -> None:
        await _round_trip()
        if rule.id in self.stored:
            raise ValueError(f"duplicate rule id {rule.id}")  # the store's unique _id
        self.stored[rule.id] = rule

    async def of_tenant(self, tenant_id: str) -> list[Rule]:
        await _round_trip()
        return sorted(
            (r for r in self.stored.values() if r.tenant_id == tenant_id), key=lambda r: r.created_at
        )

    async def active(self, tenant_id: str, trigger: str) -> list[Rule]:
        await _round_trip()
        return [
            r
            for r in self.stored.values()
            if (r.tenant_id, r.trigger.value, r.active) == (tenant_id, trigger, True)
        ]

    async def scheduled(self, day_of_month: int) -> list[Rule]:
        await _round_trip()
        return [
            r
            for r in self.stored.values()
            if r.trigger is Trigger.SCHEDULE and r.day_of_month == day_of_month and r.active
        ]

    async def set_active(self, tenant_id: str, rule_id: str, active: bool) -> Rule | None:
        await _round_trip()
        r = self.stored.get(rule_id)
        if r is None or r.tenant_id != tenant_id:
            return None
        self.stored[rule_id] = replace(r, active=active)
        return self.stored[rule_id]


@dataclass
class _JobRecord:
    job: Job
    lease_holder: str = ""
    lease_until: datetime | None = None


class FakeJobs:
    def __init__(self) -> None:
        self.stored: dict[str, _JobRecord] = {}

    async def start(self, job: Job) -> tuple[Job, bool]:
        await _round_trip()
        if job.id in self.stored:
            return self.stored[job.id].job, False
        self.stored[job.id] = _JobRecord(job)
        return job, True

    async def get(self, tenant_id: str, job_id: str) -> Job | None:
        await _round_trip()
        r = self.stored.get(job_id)
        return r.job if r is not None and r.job.tenant_id == tenant_id else None

    async def running(self) -> list[Job]:
        await _round_trip()
        return [r.job for r in self.stored.values() if r.job.state is JobState.RUNNING]

    async def claim(self, job_id: str, holder: str, now: datetime, lease: timedelta) -> Job | None:
        await _round_trip()
        r = self.stored.get(job_id)
        if r is None or r.job.state is not JobState.RUNNING:
            return None
        if r.lease_holder != holder and r.lease_until is not None and r.lease_until > now:
            return None
        r.lease_holder, r.lease_until = holder, now + lease
        return r.job

    async def advance(self, job_id: str, from_cursor: str, cursor: str, counts: dict[str, int]) -> bool:
        await _round_trip()
        r = self.stored.get(job_id)
        if r is None or r.job.state is not JobState.RUNNING or r.job.cursor != from_cursor:
            return False
        added = {k: getattr(r.job, k) + v for k, v in counts.items()}
        r.job = replace(r.job, cursor=cursor, **added)
        return True

    async def finish(self, job_id: str, state: JobState, at: datetime, detail: str = "") -> None:
        await _round_trip()
        r = self.stored.get(job_id)
        if r is not None and r.job.state is JobState.RUNNING:
            r.job = replace(r.job, state=state, finished_at=at, detail=detail)


class FakeMemberLookup:
    """The members service's answer to "is this a member of the tenant?"; everyone by default."""

    def __init__(self, known: set[tuple[str, str]] | None = None) -> None:
        self.known = known
        self.asked: list[tuple[str, str]] = []

    async def exists(self, tenant_id: str, member_id: str) -> bool:
        await _round_trip()
        self.asked.append((tenant_id, member_id))
        return self.known is None or (tenant_id, member_id) in self.known


class FakeSegmentMembers:
    """Members' segments as coupons sees them: ids streamed in id order after `after`."""

    def __init__(self, segments: dict[tuple[str, str], list[str]]) -> None:
        self._segments = segments

    async def segment_members(self, tenant_id: str, segment_id: str, after: str = "") -> AsyncIterator[str]:
        if (tenant_id, segment_id) not in self._segments:
            raise NotFound("segment not found")
        for member_id in sorted(self._segments[(tenant_id, segment_id)]):
            if member_id > after:
                await _round_trip()
                yield member_id


NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday, 10:00 UTC


def a_template(
    template_id: str = "tpl-1",
    *,
    tenant_id: str = "t1",
    benefit: Benefit | None = None,
    scope: Scope | None = None,
    validity: Validity | None = None,
    limits: Limits | None = None,
    audience: Audience | None = None,
    claimable: bool = True,
    shareable: bool = False,
    stackable: bool = False,
    state: TemplateState = TemplateState.ACTIVE,
) -> Template:
    """An active, claimable template of 10.00 off, valid 30 days after issue, unless told otherwise."""
    return Template.parse(
        id=template_id,
        tenant_id=tenant_id,
        name=f"Offer {template_id}",
        benefit=benefit or Benefit.parse("amount_off", amount_off=1_000),
        scope=scope,
        validity=validity or Validity.parse(duration=timedelta(days=30)),
        limits=limits,
        audience=audience,
        claimable=claimable,
        shareable=shareable,
        stackable=stackable,
        state=state,
        created_at=NOW - timedelta(days=1),
    )


class CouponsOnFakes:
    """Coupons' use cases wired on the fakes, as bootstrap.py wires them on the store."""

    def __init__(self, now: datetime = NOW) -> None:
        self.clock = Clock(now)
        self.coupons = FakeCoupons()
        self.templates = FakeTemplates()
        self.stock = FakeStockNumbers(self.coupons)
        self.audience = FakeAudience()
        self.members = FakeMemberLookup()
        self.issuer = Issuer(
            self.templates, self.coupons, self.stock, self.audience, UTC, self.members, clock=self.clock
        )
        self.till = Till(self.coupons, self.templates, clock=self.clock)
        self.wallet = Wallet(self.coupons, self.audience, clock=self.clock)

    async def offer(
        self, template: Template | None = None, *, stays_spent_on_refund: bool = False
    ) -> Template:
        template = template or a_template()
        await self.templates.add(template, stays_spent_on_refund)
        return template

    async def given(self, member_id: str, template_id: str = "tpl-1", key: str = "") -> Coupon:
        """A coupon issued by staff to `member_id` (key defaults to a fresh one per call)."""
        result = await self.issuer.issue(
            "t1",
            template_id,
            member_id,
            source=Source.ISSUE,
            key=key or f"given-{len(self.coupons.stored)}",
            source_ref="staff-1",
        )
        assert result.coupon is not None, result
        return result.coupon


if TYPE_CHECKING:  # mypy holds every fake to its port, used by a test or not
    _coupons: ports.CouponRepository = FakeCoupons()
    _templates: ports.TemplateRepository = FakeTemplates()
    _stock: ports.StockNumbers = FakeStockNumbers(FakeCoupons())
    _audience: ports.AudienceProjection = FakeAudience()
    _rules: ports.RuleRepository = FakeRules()
    _jobs: ports.JobRepository = FakeJobs()
    _segments: ports.SegmentMembers = FakeSegmentMembers({})
    _members: ports.MemberLookup = FakeMemberLookup()
