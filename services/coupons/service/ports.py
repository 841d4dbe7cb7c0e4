"""What the coupons use cases need from the outside world.

Changes of a coupon's state are single conditional updates from the state they leave (atomic
in the store, so no lock is needed, in this process or across replicas); each returns the
changed coupon, or None when its guard failed (the coupon changed meanwhile).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Protocol

from services.coupons.domain.audience import MemberView
from services.coupons.domain.budget import Charging, GiveBack, InFlight, Returning
from services.coupons.domain.coupons import Coupon, Redemption
from services.coupons.domain.jobs import Job, JobState
from services.coupons.domain.keys import Held, Places
from services.coupons.domain.rules import Rule
from services.coupons.domain.templates import StoredTemplate, Template


class Added(Enum):
    """What writing a new coupon did."""

    ADDED = "added"
    EXISTS = "exists"  # a coupon with this id is stored (a retry or replay of the same issue)
    PLACE_TAKEN = "place_taken"  # another coupon took one of its places (or its code) first


class Charge(Enum):
    """What charging a redemption's discount to its template's budget did."""

    CHARGED = "charged"  # now, by this call
    CHARGED_BEFORE = "charged_before"  # under this key by an earlier call (a retry, or one racing it)
    REFUSED = "refused"  # it would pass the budget


@dataclass(frozen=True)
class Charged:
    """A charge's answer, with the charge now standing under its key (None when refused)."""

    outcome: Charge
    standing: Charging | None  # CHARGED: the one asked for; CHARGED_BEFORE: the one found in flight


class CouponRepository(Protocol):
    """Coupons with their events (coupon_issued, _redeemed, ...); codes unique per tenant."""

    async def add(self, coupon: Coupon, places: Places) -> Added:
        """Store it with coupon_issued, holding `places`, in one insert."""

    async def get(self, tenant_id: str, coupon_id: str) -> Coupon | None: ...

    async def places_held(self, tenant_id: str, template_id: str, member_id: str) -> Held:
        """The member slots and the period places the member's coupons of the template hold."""

    async def give_back_member_place(self, c: Coupon) -> None:
        """The coupon no longer counts against its member's limits (a refund of a spent one)."""

    async def by_code(self, tenant_id: str, code: str) -> Coupon | None:
        """The coupon a (normalised) code points at in the tenant."""

    async def of_member(self, tenant_id: str, member_id: str, states: list[str]) -> list[Coupon]:
        """The member's coupons in these stored states (all when empty), newest first, at most 500."""

    def of_template(self, tenant_id: str, template_id: str) -> AsyncIterator[Coupon]:
        """Every coupon of the template, read in batches."""

    async def count_issued(self, tenant_id: str, template_id: str) -> int:
        """Coupons issued from the template, not counting friends' copies of shared ones."""

    async def due_to_expire(self, before: datetime, warned: bool | None = None) -> list[Coupon]:
        """Available or locked coupons whose validity ends before `before` (oldest first, at most
        1000); with warned=False only those not yet warned of."""

    async def lock(self, c: Coupon, checkout_id: str, until: datetime, now: datetime) -> Coupon | None:
        """Lock for `checkout_id` until `until` (from available, its own or a timed-out lock)."""

    async def redeem(self, c: Coupon, r: Redemption, checkout_id: str, now: datetime) -> Coupon | None:
        """Redeemed with coupon_redeemed (from available, this checkout's or a timed-out lock), and
        with no give-back still owed by an earlier refund."""

    async def attach_purchase(self, c: Coupon, purchase_id: str) -> Coupon | None:
        """Name the purchase of a redemption the till made before members recorded the receipt."""

    async def reassign(self, c: Coupon, member_id: str) -> Coupon | None:
        """Move an unspent coupon to another member (the survivor of a merge)."""

    async def release(self, c: Coupon, checkout_id: str, at: datetime) -> Coupon | None:
        """Available again with coupon_released, when locked by `checkout_id`."""

    async def restore(
        self,
        c: Coupon,
        purchase_id: str,
        refund_id: str,
        usable_again: bool,
        at: datetime,
        owed: GiveBack | None = None,
    ) -> Coupon | None:
        """Undo the redemption of `purchase_id` once: usable again, or spent but marked refunded;
        in the same write, the coupon owes `owed` back to its template's budget."""

    async def gave_back(self, c: Coupon, key: str, at: datetime) -> Coupon | None:
        """The give-back under `key` is paid: the coupon owes nothing (when it still owed that one)."""

    async def owing_budget(self, since_before: datetime) -> list[Coupon]:
        """Coupons of every tenant owing a give-back since before `since_before` (at most 500)."""

    async def mark_shared(self, c: Coupon, to_coupon_id: str) -> Coupon | None:
        """Shared to the friend's coupon `to_coupon_id`, when still available and the holder's."""

    async def expire(self, c: Coupon, at: datetime) -> Coupon | None:
        """Expired with coupon_expired, when available or locked and lapsed by `at`."""

    async def warn_expiring(self, c: Coupon, days_left: int, at: datetime) -> Coupon | None:
        """Announce coupon_expiring, once per coupon."""


class TemplateRepository(Protocol):
    """Templates, and the budget of discount each may give (charged once per redemption).

    The budget's writes are each one update of the template, conditional on its marks
    (domain/budget.py): a `Charging` mark per charge not yet taken over by its coupon, a
    `Returning` mark per give-back not yet forgotten, and nothing once both sides agree.
    """

    async def add(self, t: Template, stays_spent_on_refund: bool) -> None:
        """Store it (idempotent on its id) with no budget used and its audience not ready."""

    async def get(self, tenant_id: str, template_id: str) -> StoredTemplate | None:
        """The template with what is stored beside it; None when the tenant has no such one."""

    async def of_tenant(self, tenant_id: str, state: str = "") -> list[StoredTemplate]:
        """The tenant's templates (in `state` if given), newest first, at most 500."""

    async def save(self, t: Template, stays_spent_on_refund: bool, expected_version: int) -> bool:
        """Write an edited template unless someone else edited it first (version check)."""

    async def set_state(self, t: Template, expected: str) -> bool:
        """Move to `t.state`; False when the stored state is no longer `expected`."""

    async def set_audience_ready(self, tenant_id: str, template_id: str) -> None: ...

    async def charge_budget(self, tenant_id: str, template_id: str, budget: int, mark: Charging) -> Charged:
        """Add `mark.amount` to the budget used, with `mark` in flight, unless it would pass the
        budget or a charge is already in flight under `mark.key` (CHARGED_BEFORE, that one)."""

    async def charge_taken(self, tenant_id: str, template_id: str, mark: Charging) -> None:
        """The coupon took the charge over: drop its mark (the amount stays used)."""

    async def settle_charge(self, tenant_id: str, template_id: str, mark: Charging) -> bool:
        """No coupon took the charge over: give its amount back and drop its mark, once."""

    async def give_back(
        self, tenant_id: str, template_id: str, paid: Returning, charge_key: str, charge_id: str
    ) -> bool:
        """Take `paid.amount` off the budget used, once per `paid.key` (True: now), leaving `paid`
        in flight; in the same write, the mark of the charge the refunded redemption took over
        (`charge_id` under `charge_key`) is dropped if its coupon write crashed before doing so."""

    async def forget_given_back(self, tenant_id: str, template_id: str, key: str) -> None:
        """Drop the Returning mark under `key`."""

    async def legacy_charge(self, tenant_id: str, template_id: str, key: str) -> int:
        """What an older redemption left charged under `key` on the template (0 when nothing)."""

    async def give_back_legacy(self, tenant_id: str, template_id: str, key: str, amount: int) -> bool:
        """Give back the older charge under `key` and drop it, once."""

    async def in_flight(self, before: datetime) -> list[InFlight]:
        """Templates of every tenant that may hold marks from before `before` (at most 500)."""

    async def tidy_marks(self, tenant_id: str, template_id: str) -> None:
        """After settling: let `in_flight` find the template again only when its oldest mark is due."""


class TemplateReader(Protocol):
    """Where claims and issues read templates: the repository, or copies of it kept a moment."""

    async def get(self, tenant_id: str, template_id: str) -> StoredTemplate | None: ...


class StockNumbers(Protocol):
    """Which stock numbers (1..stock) of a template may still be free.

    Only a hint: the coupon insert that holds a number is the judge. A number taken is in
    flight until `settle`d; `take` answers None only when the store shows every number held.
    """

    async def take(self, tenant_id: str, template_id: str, stock: int) -> int | None:
        """A number no coupon held when last looked, or None when all `stock` are held."""

    async def settle(self, template_id: str, n: int) -> None:
        """The claim that took `n` is over, whether its coupon was written or not."""

    async def offer_again(self, template_id: str, n: int) -> None:
        """A settled `n` whose coupon the store refused for another of its places: likely free."""


class AudienceProjection(Protocol):
    """Members' tiers and blacklists, and segment audiences, kept locally from members' events."""

    async def registered(self, tenant_id: str, member_id: str, tier: str, at: datetime) -> None:
        """A member joined: their view, with their tier (idempotent)."""

    async def member(self, tenant_id: str, member_id: str) -> MemberView | None:
        """What is known of the member; None when nothing is (yet)."""

    async def change(self, tenant_id: str, member_id: str, fields: dict[str, Any]) -> None:
        """Set fields of the member's view (creating it if its member_registered is still to come)."""

    async def in_segment(self, template_id: str, member_id: str) -> bool:
        """Whether the member is in the segment audience copied in for the template."""

    async def add_to_segment(self, tenant_id: str, template_id: str, member_ids: list[str]) -> None:
        """Add members to the template's segment audience (idempotent)."""


class JobRepository(Protocol):
    """Background jobs over a segment, with their cursor and counters."""

    async def start(self, job: Job) -> tuple[Job, bool]:
        """Create it, or return the job already there with this id (created=False)."""

    async def get(self, tenant_id: str, job_id: str) -> Job | None: ...

    async def running(self) -> list[Job]: ...

    async def claim(self, job_id: str, holder: str, now: datetime, lease: timedelta) -> Job | None:
        """The running job, now leased to `holder`; None when another live holder has it."""

    async def advance(self, job_id: str, from_cursor: str, cursor: str, counts: dict[str, int]) -> bool:
        """Record a batch done from `from_cursor` (the last member and the counts to add);
        False when the job is no longer running there (finished, or another replica moved it)."""

    async def finish(self, job_id: str, state: JobState, at: datetime, detail: str = "") -> None:
        """End a running job in `state`."""


class RuleRepository(Protocol):
    async def add(self, rule: Rule) -> None: ...

    async def of_tenant(self, tenant_id: str) -> list[Rule]:
        """The tenant's rules, active or not."""

    async def active(self, tenant_id: str, trigger: str) -> list[Rule]:
        """The tenant's active rules of this trigger."""

    async def scheduled(self, day_of_month: int) -> list[Rule]:
        """Active scheduled rules of every tenant due on this day of the month."""

    async def set_active(self, tenant_id: str, rule_id: str, active: bool) -> Rule | None:
        """The rule switched on or off; None when the tenant has no such rule."""


class MemberLookup(Protocol):
    """Whether the members service knows a member, for one coupons has not heard of yet."""

    async def exists(self, tenant_id: str, member_id: str) -> bool:
        """True for a member of the tenant; raises Unavailable when members cannot answer."""


class SegmentMembers(Protocol):
    """The members service as coupons sees it."""

    def segment_members(self, tenant_id: str, segment_id: str, after: str = "") -> AsyncIterator[str]:
        """The segment's member ids after `after`, streamed in id order.

        Raises NotFound when members has no such segment; other failures (members down) are
        worth retrying."""
