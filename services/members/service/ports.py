"""What the members use cases need from the outside world."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from services.members.domain import earning, spending
from services.members.domain import points as pts
from services.members.domain.calendar import DormantWindow, Notice
from services.members.domain.directory import Handover, Staff, Store
from services.members.domain.merge import Duplicate, Fold, Merged, Refused, Survivor
from services.members.domain.model import Activity, Member
from services.members.domain.privacy import Erasure
from services.members.domain.programme_versions import ProgrammeVersion, Tenants
from services.members.domain.purchases import Purchase, RecordedPurchase
from services.members.domain.refunds import RecordedRefund, RefundDecision
from services.members.domain.rule_caps import CapHold, Reserved


class MemberRepository(Protocol):
    async def add(self, member: Member) -> Member | None:
        """Store a new member with its member_registered event; None when the phone is taken."""

    async def get(self, tenant_id: str, member_id: str) -> Member | None: ...

    async def get_by_phone(self, tenant_id: str, phone: str) -> Member | None: ...

    async def update(
        self, tenant_id: str, member_id: str, fields: dict[str, Any], unset: tuple[str, ...] = ()
    ) -> Member | None: ...

    async def set_blacklist(self, tenant_id: str, member_id: str, reason: str, at: datetime) -> Member | None:
        """Blacklist (reason) or clear it (""), announcing member_blacklist_changed."""

    async def set_consent(
        self, tenant_id: str, member_id: str, channel: str, granted: bool, source: str, at: datetime
    ) -> Member | None: ...


class MemberLinks(Protocol):
    """Openids and members' referral codes, each unique in its tenant."""

    async def member_for_openid(self, tenant_id: str, openid: str) -> str | None: ...

    async def claim_openid(self, tenant_id: str, openid: str, unionid: str, member_id: str) -> str:
        """Link the openid to `member_id` unless it is linked already; the linked member's id."""

    async def relink_openid(self, tenant_id: str, openid: str, from_member: str, to_member: str) -> None: ...

    async def member_for_referral_code(self, tenant_id: str, code: str) -> str | None: ...

    async def referral_code(self, tenant_id: str, member_id: str) -> str | None:
        """The member's code (made on first request); None when there is no such member."""


class StaffLookup(Protocol):
    """The part of the directory the members' own use cases read: assistants by id and by
    badge code (enrolment), and who looks after an assistant's members now."""

    async def get_staff(self, tenant_id: str, staff_id: str) -> Staff | None: ...

    async def staff_by_code(self, tenant_id: str, code: str) -> Staff | None: ...

    async def resolve_owner(self, tenant_id: str, staff_id: str) -> str:
        """The assistant looking after members assigned to `staff_id` now (succession)."""


class DirectoryRepository(Protocol):
    async def add_store(self, store: Store) -> Store:
        """Store it, or return the existing store with the same code (idempotent)."""

    async def list_stores(self, tenant_id: str) -> list[Store]: ...

    async def get_store(self, tenant_id: str, code: str) -> Store | None: ...

    async def add_staff(self, staff: Staff) -> Staff: ...

    async def get_staff(self, tenant_id: str, staff_id: str) -> Staff | None: ...

    async def staff_by_code(self, tenant_id: str, code: str) -> Staff | None: ...

    async def resolve_owner(self, tenant_id: str, staff_id: str) -> str:
        """The assistant looking after members assigned to `staff_id` now (succession)."""

    async def predecessors(self, tenant_id: str, staff_id: str) -> set[str]:
        """`staff_id` and everyone whose chain of successors leads to them."""

    async def list_staff(self, tenant_id: str, store_code: str) -> list[Staff]: ...


class HandoverRepository(Protocol):
    async def create_or_get(self, handover: Handover) -> Handover:
        """Idempotent on the handover id."""

    async def get(self, tenant_id: str, handover_id: str) -> Handover | None: ...

    async def running(self) -> list[Handover]:
        """Unfinished handovers of every tenant, to resume after a restart."""

    async def transfer(self, handover: Handover) -> None:
        """The one write that moves everything: the leaver is marked left with the successor
        (so their members resolve to the successor from now on) and their codes move."""

    async def cursor(self, handover: Handover) -> str:
        """The last member announced so far ("" before the first batch)."""

    async def members_after(self, handover: Handover, after_id: str, limit: int) -> list[str]:
        """Ids, in order, of members assigned to the leaver (or to those the leaver succeeded)."""

    async def announce(self, handover: Handover, member_ids: list[str]) -> None:
        """Record member_staff_assigned for these members and advance the cursor (idempotent)."""

    async def finish(self, handover: Handover) -> None: ...


Judge = Callable[[spending.Standing], "spending.Outcome | None"]


@dataclass(frozen=True)
class Applied:
    """What storing a spending change did: `outcome` is None when nothing was written now (the
    effect was applied before, or the judge found nothing to change); `points_moved` is what the
    effect moved when it was applied (now or before), None for an effect without an id."""

    outcome: spending.Outcome | None
    points_moved: int | None


class MemberSpending(Protocol):
    async def apply(
        self,
        tenant_id: str,
        member_id: str,
        change: spending.SpendChange,
        judge: Judge,
        effect_id: str | None = None,
    ) -> Applied | None:
        """Store `change` as `judge` judges the member as stored now, in one write guarded by
        the member's version (judged again if the member changed meanwhile), once per
        `effect_id`; None when there is no such member."""

    def above(self, lowest_tier: str, tenants: Tenants) -> AsyncIterator[tuple[str, str]]:
        """(tenant id, member id) of every member of those tenants above the lowest tier (the
        ones who can drop)."""


class MemberHistory(Protocol):
    async def read(
        self, tenant_id: str, member_id: str, store_id: str
    ) -> tuple[Member, earning.MemberFacts] | None:
        """The member, and what scoring a purchase in `store_id` needs to know of them (tier,
        birthday, whether they bought in that store before, what each capped rule gave them),
        in one read; None when there is no such member."""

    async def activity(self, tenant_id: str, member_id: str, store_id: str) -> Activity | None: ...


class CapHolds(Protocol):
    """Reservations of capped earning-rule shares on members (domain/rule_caps.py)."""

    async def reserve(
        self, tenant_id: str, member_id: str, hold: CapHold, caps: Mapping[str, int]
    ) -> Reserved | None:
        """Count the hold's shares on the member's rule counters and record the hold, in one
        write made only while no hold of its purchase is there and every counter leaves room
        under its cap; else (and for a hold of no points) what is there: the purchase's own
        hold, or the counters. None when there is no such member."""

    async def refresh(self, tenant_id: str, member_id: str, hold: CapHold, at: datetime) -> CapHold | None:
        """The hold with its time moved to `at`; None when it was freed meanwhile."""

    async def free(self, tenant_id: str, member_id: str, hold: CapHold) -> bool:
        """Give the hold's points back to the counters and drop it, once; False when it is gone."""

    async def forget(self, tenant_id: str, member_id: str, hold: CapHold) -> bool:
        """Drop the hold, its points staying counted (its purchase took it); False when gone."""

    async def older_than(self, before: datetime) -> list[tuple[str, str, CapHold]]:
        """(tenant id, member id, hold) of holds taken before then, any tenant's, oldest first."""


class PurchaseRepository(Protocol):
    async def add(self, recorded: RecordedPurchase) -> tuple[RecordedPurchase, bool]:
        """Record it (pending), or return the one already recorded for its receipt."""

    async def get(self, tenant_id: str, purchase_id: str) -> RecordedPurchase | None: ...

    async def applied(self, tenant_id: str, purchase_id: str) -> None:
        """Its effects on the member are stored: no longer pending."""

    async def pending(self, recorded_before: datetime, limit: int) -> list[RecordedPurchase]:
        """Purchases recorded before then (any tenant) that are not applied yet, oldest first."""


DecideAdjustment = Callable[[int], pts.Adjustment]


class PointsLedger(Protocol):
    async def enter(
        self,
        tenant_id: str,
        member_id: str,
        delta: int,
        reason: pts.EntryReason,
        source: str,
        at: datetime,
        expires_at: datetime | None = None,
        shares: tuple[pts.PointsShare, ...] = (),
    ) -> None:
        """The ledger entry of points moved on the member by another write (a purchase's
        earning, a refund's take-back, a merge's moves): once per source, however often called."""

    async def adjust(
        self, tenant_id: str, member_id: str, reason: pts.EntryReason, source: str, decide: DecideAdjustment
    ) -> tuple[int, bool] | None:
        """Store the adjustment `decide` makes of the member's balance as stored now, with its
        points_changed, in one write guarded by the member's version (decided again if the
        balance changed meanwhile), once per `source`; then its ledger entry, which any later
        call for the same source writes again (a crash between the two is finished by
        repeating). (balance, applied now); None when no such member. What `decide` raises
        (InsufficientPoints) stores nothing."""

    async def balance(self, tenant_id: str, member_id: str) -> int | None:
        """The member's balance; None when there is no such member."""

    async def earnings(self, tenant_id: str, member_id: str) -> list[tuple[datetime, int]]:
        """The member's ledger as (at, delta), every entry (what expiry is judged on)."""

    def holders(self, tenants: Tenants) -> AsyncIterator[tuple[str, str]]:
        """(tenant id, member id) of every member of those tenants, not merged away, holding points."""

    async def statement(self, tenant_id: str, member_id: str, limit: int) -> pts.Statement | None:
        """Balance, tier and the latest `limit` ledger entries, newest first; None when no such member."""


@dataclass(frozen=True)
class SavedSegment:
    id: str
    tenant_id: str
    name: str
    criteria: dict[str, Any]
    created_at: datetime


class SegmentRepository(Protocol):
    async def add(self, segment: SavedSegment) -> None: ...

    async def get(self, tenant_id: str, segment_id: str) -> SavedSegment | None: ...

    async def count_and_sample(self, query: dict[str, Any], sample_size: int) -> tuple[int, list[Member]]: ...

    def member_ids(self, query: dict[str, Any]) -> AsyncIterator[str]:
        """Matching member ids in `_id` order, read in batches (never all in memory)."""


DecideRefund = Callable[[RecordedPurchase, list[RecordedRefund]], RefundDecision]


class RefundRepository(Protocol):
    async def add(
        self, tenant_id: str, purchase_id: str, refund_id: str, decide: DecideRefund
    ) -> tuple[Purchase, RecordedRefund, bool]:
        """Record on the purchase the refund `decide` makes of it and its earlier refunds, with
        its purchase_refunded event, in one write guarded by the purchase's version (decided
        again if another refund came between); a refund id seen before returns the refund first
        recorded (created False). NotFound for no such purchase."""

    async def get_refund(
        self, tenant_id: str, purchase_id: str, refund_id: str
    ) -> tuple[Purchase, RecordedRefund] | None: ...


class CalendarRepository(Protocol):
    """The members the daily calendar speaks of, what it has announced and the days it has run."""

    def born_in(self, month: int, tenants: Tenants) -> AsyncIterator[tuple[str, str]]:
        """(tenant id, member id) of members of those tenants who may be told anything, born in
        that month."""

    def born_on(self, month: int, day: int, tenants: Tenants) -> AsyncIterator[tuple[str, str]]:
        """(tenant id, member id) of members of those tenants who may be told anything, born on
        that day."""

    def last_bought_in(
        self, window: DormantWindow, tenants: Tenants
    ) -> AsyncIterator[tuple[str, str, datetime]]:
        """(tenant id, member id, last purchase) of members who may be told anything, whose last
        purchase fell in the window."""

    async def announce(self, notice: Notice) -> bool:
        """Record the notice with its event, once per `notice.key`; True when recorded now."""

    async def done(self, today: date, tenants: Tenants) -> None:
        """Record `today` as run for those tenants (each named one, or, for every tenant but
        some, the tenants without a programme of their own) unless a later day is: the last day
        only moves forward."""

    async def last_days(self) -> tuple[dict[str, date], date | None]:
        """The last day run for each tenant with a day of its own, and for all the others
        (None before the first)."""


class PrivacyRepository(Protocol):
    async def export(self, tenant_id: str, member_id: str) -> str | None:
        """Everything stored about the member as JSON; None when there is no such member."""

    async def erase(self, tenant_id: str, erasure: Erasure) -> bool | None:
        """Store the erasure with its member_erased in one write made only if the member is not
        erased yet, so of two at once one erases and announces; True when erased now, False
        when it already was, None when there is no such member."""


JudgeFold = Callable[[Survivor], Fold | Refused]


class MergeRepository(Protocol):
    """The steps of a merge (service/merge.py), each one guarded single-document write."""

    async def closed(self, tenant_id: str, member_id: str) -> bool | None:
        """Whether the member is merged into another or erased; None when there is no such member."""

    async def claim(self, tenant_id: str, survivor_id: str, duplicate_id: str) -> Duplicate | None:
        """The duplicate, claimed for this survivor in one conditional write (again, on a
        rerun); None when it was merged into this survivor before. NotFound for no such member;
        FailedPrecondition when another merge has claimed it, or it is merged or erased."""

    async def release(self, tenant_id: str, survivor_id: str, duplicate_id: str) -> None:
        """Drop this survivor's claim on the duplicate (nothing when it holds none)."""

    async def fold(
        self, tenant_id: str, survivor_id: str, duplicate: Duplicate, judge: JudgeFold
    ) -> int | Refused | None:
        """Store the fold `judge` makes of the survivor as stored now in one write guarded by
        its version (judged again if it changed meanwhile), once per duplicate; the points it
        moved (as recorded by the first run, on a rerun). None when there is no such survivor;
        a refusal `judge` makes stores nothing and is returned."""

    async def repoint_purchases(self, tenant_id: str, duplicate_id: str, survivor_id: str) -> None:
        """The duplicate's purchases become the survivor's (idempotent)."""

    async def retire(self, tenant_id: str, merged: Merged) -> None:
        """Mark the duplicate merged into the survivor, its balance lowered by the points moved,
        with member_merged, in one write made only while this survivor's claim holds."""


class ProgrammeBook(Protocol):
    """Where a use case finds the programme a tenant runs now."""

    async def current(self, tenant_id: str) -> ProgrammeVersion:
        """The tenant's current version (version 0, the defaults, when it never changed any)."""


class ProgrammeStore(ProgrammeBook, Protocol):
    """The tenants' programmes: the current version of each, and every version before."""

    async def version(self, tenant_id: str, version: int) -> ProgrammeVersion | None: ...

    async def history(self, tenant_id: str, limit: int) -> list[ProgrammeVersion]:
        """Newest first."""

    async def customised(self) -> list[ProgrammeVersion]:
        """The current version of every tenant that runs a programme of its own (the others run
        the defaults)."""

    async def save(self, version: ProgrammeVersion) -> bool:
        """Make `version` current with its programme_changed, unless the tenant's current
        version is no longer the one before it (another change got there first): False."""
