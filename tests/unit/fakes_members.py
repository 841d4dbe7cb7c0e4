"""In-memory fakes of members' own ports (never of Mongo or Kafka), for service-layer tests:
each keeps the promise its port documents (an effect id applied once, a ledger entry once per
source, a refund id recorded once, a claim held by one merge), so the use cases can be tested
without servers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from chassis.errors import FailedPrecondition, NotFound
from services.members.domain import earning, merge, rule_caps, spending
from services.members.domain import points as pts
from services.members.domain import programme_versions as pv
from services.members.domain.calendar import DormantWindow, Notice
from services.members.domain.merge import Birthday, Duplicate, Merged
from services.members.domain.model import Member
from services.members.domain.points import EntryReason
from services.members.domain.privacy import Erasure
from services.members.domain.programme import DEFAULT_PROGRAMME
from services.members.domain.programme_versions import Tenants
from services.members.domain.purchases import Line, Purchase, RecordedPurchase, parse_purchase
from services.members.domain.refunds import RecordedRefund
from services.members.domain.tiers import TierLadder
from services.members.service.ports import Applied, DecideAdjustment, DecideRefund, Judge, JudgeFold


def a_purchase(paid: int, member_id: str, receipt: str, at: datetime) -> Purchase:
    """A one-line receipt of `paid` (fen) for the member, in tenant t1."""
    return parse_purchase(
        tenant_id="t1",
        member_id=member_id,
        store_id="s1",
        receipt_no=receipt,
        served_by_staff_id="",
        owner_staff_id="",
        lines=[Line("A", "brand", "category", 1, paid, paid)],
        coupon_codes=[],
        occurred_at=at,
        currency="CNY",
    )


def covers(tenants: Tenants, tenant_id: str) -> bool:
    return (tenant_id in tenants.names) != tenants.all_but


class FakeProgrammes:
    """Tenants' programmes: the defaults (version 0) until a version is saved; a save applies
    only on top of the version before it, as the store's conditional write does."""

    def __init__(self, *versions: pv.ProgrammeVersion) -> None:
        self.stored: dict[str, list[pv.ProgrammeVersion]] = {}
        for v in versions:
            self.stored.setdefault(v.tenant_id, []).append(v)

    async def current(self, tenant_id: str) -> pv.ProgrammeVersion:
        kept = self.stored.get(tenant_id)
        return kept[-1] if kept else pv.defaults(tenant_id)

    async def version(self, tenant_id: str, version: int) -> pv.ProgrammeVersion | None:
        return next((v for v in self.stored.get(tenant_id, []) if v.version == version), None)

    async def history(self, tenant_id: str, limit: int) -> list[pv.ProgrammeVersion]:
        return list(reversed(self.stored.get(tenant_id, [])))[:limit]

    async def customised(self) -> list[pv.ProgrammeVersion]:
        return [kept[-1] for kept in self.stored.values() if kept]

    async def save(self, version: pv.ProgrammeVersion) -> bool:
        if (await self.current(version.tenant_id)).version != version.version - 1:
            return False
        self.stored.setdefault(version.tenant_id, []).append(version)
        return True


def with_ladder(ladder: TierLadder, tenant_id: str = "t1") -> FakeProgrammes:
    """A tenant running the default programme but for its ladder."""
    programme = replace(DEFAULT_PROGRAMME, ladder=ladder)
    return FakeProgrammes(pv.ProgrammeVersion(tenant_id, 1, programme, changed_by="test"))


def with_dormancy(days: tuple[int, ...], tenant_id: str = "t1") -> FakeProgrammes:
    """A tenant running the default programme but for its dormancy thresholds."""
    programme = replace(DEFAULT_PROGRAMME, dormant_days=days)
    return FakeProgrammes(pv.ProgrammeVersion(tenant_id, 1, programme, changed_by="test"))


class FakeHistory:
    """What scoring needs of a member beyond its profile: purchases per store, rule points."""

    def __init__(self, members: dict[tuple[str, str], Member] | None = None) -> None:
        self.members = members or {}
        self.store_purchases: dict[tuple[str, str, str], int] = {}
        self.rule_points: dict[tuple[str, str], dict[str, int]] = {}

    async def read(
        self, tenant_id: str, member_id: str, store_id: str
    ) -> tuple[Member, earning.MemberFacts] | None:
        member = self.members.get((tenant_id, member_id))
        if member is None:
            return None
        birthday = member.profile.birthday
        return member, earning.MemberFacts(
            tier=member.tier,
            birthday=(birthday[0], birthday[1]) if birthday else None,
            first_purchase_in_store=not self.store_purchases.get((member.tenant_id, member.id, store_id)),
            rule_points_given=self.rule_points.get((member.tenant_id, member.id), {}),
        )


class FakePurchases:
    def __init__(self) -> None:
        self.stored: dict[tuple[str, str], RecordedPurchase] = {}

    async def add(self, recorded: RecordedPurchase) -> tuple[RecordedPurchase, bool]:
        key = (recorded.purchase.tenant_id, recorded.purchase.id)
        if key in self.stored:
            return self.stored[key], False
        self.stored[key] = replace(recorded, pending=True)
        return self.stored[key], True

    async def get(self, tenant_id: str, purchase_id: str) -> RecordedPurchase | None:
        return self.stored.get((tenant_id, purchase_id))

    async def applied(self, tenant_id: str, purchase_id: str) -> None:
        r = self.stored[(tenant_id, purchase_id)]
        self.stored[(tenant_id, purchase_id)] = replace(r, pending=False)

    async def pending(self, recorded_before: datetime, limit: int) -> list[RecordedPurchase]:
        return [r for r in self.stored.values() if r.pending][:limit]


class FakeSpending:
    """Members' standings; `apply` judges the standing as stored now, once per effect id."""

    def __init__(self, *member_ids: str, tenant_id: str = "t1") -> None:
        self.standings = {(tenant_id, m): spending.Standing() for m in member_ids}
        self.moved: dict[tuple[str, str, str], int] = {}
        self.writes = 0
        self.announced: list[spending.Fact] = []  # the facts of every write, in order

    async def apply(
        self,
        tenant_id: str,
        member_id: str,
        change: spending.SpendChange,
        judge: Judge,
        effect_id: str | None = None,
    ) -> Applied | None:
        key = (tenant_id, member_id)
        if key not in self.standings:
            return None
        if effect_id is not None and (*key, effect_id) in self.moved:
            return Applied(None, self.moved[(*key, effect_id)])
        before = self.standings[key]
        outcome = judge(before)
        if outcome is None:
            return Applied(None, None)
        self.writes += 1
        self.announced.extend(outcome.facts)
        self.standings[key] = replace(
            before,
            tier=outcome.tier,
            points_balance=outcome.balance,
            stats=outcome.stats,
            downgrade_due_at=outcome.downgrade_due_at,
        )
        if effect_id is not None:
            self.moved[(*key, effect_id)] = outcome.points
        return Applied(outcome, outcome.points if effect_id is not None else None)

    async def above(self, lowest_tier: str, tenants: Tenants) -> AsyncIterator[tuple[str, str]]:
        for (tenant_id, member_id), s in list(self.standings.items()):
            if covers(tenants, tenant_id) and s.tier not in ("", lowest_tier):
                yield tenant_id, member_id


class FakeLedger:
    """Entries keyed as the store keys them; adjustments move the balance of `members`' standings
    (the balance lives on the member), once per source, decided on the balance as stored now."""

    def __init__(self, members: FakeSpending | None = None) -> None:
        self.members = members or FakeSpending()
        self.entries: dict[tuple[str, str], dict[str, Any]] = {}
        self.adjusted: dict[tuple[str, str, str], pts.Adjustment] = {}
        self.announced: list[pts.Adjustment] = []  # every points_changed of an adjustment

    async def enter(
        self,
        tenant_id: str,
        member_id: str,
        delta: int,
        reason: EntryReason,
        source: str,
        at: datetime,
        expires_at: datetime | None = None,
        shares: tuple[pts.PointsShare, ...] = (),
    ) -> None:
        self.entries.setdefault(
            (tenant_id, source),
            {"member_id": member_id, "delta": delta, "reason": reason, "at": at, "shares": shares},
        )

    async def adjust(
        self, tenant_id: str, member_id: str, reason: EntryReason, source: str, decide: DecideAdjustment
    ) -> tuple[int, bool] | None:
        key = (tenant_id, member_id)
        if key not in self.members.standings:
            return None
        applied_now = (*key, source) not in self.adjusted
        if applied_now:
            standing = self.members.standings[key]
            moved = decide(standing.points_balance)
            self.members.standings[key] = replace(standing, points_balance=moved.balance)
            self.adjusted[(*key, source)] = moved
            self.announced.append(moved)
        moved = self.adjusted[(*key, source)]
        await self.enter(tenant_id, member_id, moved.delta, reason, f"{member_id}:{source}", moved.at)
        return self.members.standings[key].points_balance, applied_now

    async def balance(self, tenant_id: str, member_id: str) -> int | None:
        standing = self.members.standings.get((tenant_id, member_id))
        return None if standing is None else standing.points_balance

    async def earnings(self, tenant_id: str, member_id: str) -> list[tuple[datetime, int]]:
        return [
            (e["at"], e["delta"])
            for (t, _), e in self.entries.items()
            if (t, e["member_id"]) == (tenant_id, member_id)
        ]

    async def holders(self, tenants: Tenants) -> AsyncIterator[tuple[str, str]]:
        for (tenant_id, member_id), s in list(self.members.standings.items()):
            if covers(tenants, tenant_id) and s.points_balance > 0:
                yield tenant_id, member_id

    async def statement(self, tenant_id: str, member_id: str, limit: int) -> pts.Statement | None:
        raise NotImplementedError("a read of the gRPC edge")


@dataclass
class Person:
    """What a merge and an erasure read of a member besides its standing."""

    tags: tuple[str, ...] = ()
    owner_staff_id: str = ""
    birthday: Birthday | None = None
    erased: Erasure | None = None
    merged_into: str = ""
    merging_into: str = ""


class FakeMembers:
    """Members' records for merge (ports.MergeRepository) and erasure (ports.PrivacyRepository),
    their standings and applied effects kept in `spending`, their purchases in `purchases`."""

    def __init__(self, spending: FakeSpending, purchases: FakePurchases, tenant_id: str = "t1") -> None:
        self.spending = spending
        self.purchases = purchases
        self.people = {key: Person() for key in spending.standings}
        self.announced: list[Merged | Erasure] = []
        self.before_fold: Callable[[], None] = lambda: None  # a concurrent writer, for races

    async def closed(self, tenant_id: str, member_id: str) -> bool | None:
        p = self.people.get((tenant_id, member_id))
        return None if p is None else bool(p.merged_into or p.erased)

    async def claim(self, tenant_id: str, survivor_id: str, duplicate_id: str) -> Duplicate | None:
        p = self.people.get((tenant_id, duplicate_id))
        if p is None:
            raise NotFound(f"member {duplicate_id} not found")
        if p.merged_into == survivor_id:
            return None
        if p.merging_into not in ("", survivor_id):
            raise FailedPrecondition("duplicate_id is being merged into another member; try again")
        if p.merged_into or p.erased:
            raise FailedPrecondition("duplicate_id is already merged or erased")
        p.merging_into = survivor_id
        s = self.spending.standings[(tenant_id, duplicate_id)]
        brings = spending.SpendChange(
            reason="merge",
            points=s.points_balance,
            announce_points=False,
            purchases=s.stats.purchase_count,
            discounted=s.stats.discounted_count,
            spend=s.stats.total_spend,
            spend_by_month=s.stats.spend_by_month,
        )
        applied = {
            e: moved
            for (t, m, e), moved in self.spending.moved.items()
            if (t, m) == (tenant_id, duplicate_id)
        }
        return Duplicate(duplicate_id, brings, p.tags, p.owner_staff_id, p.birthday, applied)

    async def release(self, tenant_id: str, survivor_id: str, duplicate_id: str) -> None:
        p = self.people[(tenant_id, duplicate_id)]
        if p.merging_into == survivor_id:
            p.merging_into = ""

    async def fold(
        self, tenant_id: str, survivor_id: str, duplicate: Duplicate, judge: JudgeFold
    ) -> int | merge.Refused | None:
        self.before_fold()
        key = (tenant_id, survivor_id)
        if key not in self.people:
            return None
        mark = (*key, f"merge_{duplicate.id}")
        if mark in self.spending.moved:
            return self.spending.moved[mark]
        p, before = self.people[key], self.spending.standings[key]
        folded = judge(
            merge.Survivor(
                before,
                p.owner_staff_id,
                p.birthday is not None,
                bool(p.merged_into or p.erased),
                bool(p.merging_into),
            )
        )
        if isinstance(folded, merge.Refused):
            return folded
        o = folded.outcome
        self.spending.standings[key] = replace(before, tier=o.tier, points_balance=o.balance, stats=o.stats)
        self.spending.writes += 1
        self.spending.announced.extend(o.facts)
        self.spending.moved[mark] = duplicate.brings.points
        self.spending.moved |= {(*key, e): moved for e, moved in duplicate.applied.items()}
        p.tags = tuple(dict.fromkeys((*p.tags, *folded.tags)))
        p.owner_staff_id = folded.owner_staff_id or p.owner_staff_id
        p.birthday = folded.birthday or p.birthday
        return duplicate.brings.points

    async def repoint_purchases(self, tenant_id: str, duplicate_id: str, survivor_id: str) -> None:
        for key, r in self.purchases.stored.items():
            if key[0] == tenant_id and r.purchase.member_id == duplicate_id:
                self.purchases.stored[key] = replace(r, purchase=replace(r.purchase, member_id=survivor_id))

    async def retire(self, tenant_id: str, merged: Merged) -> None:
        p = self.people[(tenant_id, merged.duplicate_id)]
        if p.merging_into != merged.survivor_id or p.merged_into:
            return
        p.merged_into, p.merging_into = merged.survivor_id, ""
        key = (tenant_id, merged.duplicate_id)
        standing = self.spending.standings[key]
        self.spending.standings[key] = replace(
            standing, points_balance=standing.points_balance - merged.points_moved
        )
        self.announced.append(merged)

    async def export(self, tenant_id: str, member_id: str) -> str | None:
        p = self.people.get((tenant_id, member_id))
        return None if p is None else json.dumps({"member": {"_id": member_id, "tags": list(p.tags)}})

    async def erase(self, tenant_id: str, erasure: Erasure) -> bool | None:
        p = self.people.get((tenant_id, erasure.member_id))
        if p is None:
            return None
        if p.erased:
            return False
        p.erased, p.tags, p.birthday = erasure, (), None
        self.announced.append(erasure)
        return True


class FakeCalendarDays:
    """Members by birthday and last purchase; notices recorded once per key."""

    def __init__(self) -> None:
        self.birthdays: dict[tuple[str, str], tuple[int, int]] = {}
        self.last_purchases: dict[tuple[str, str], datetime] = {}
        self.announced: dict[str, Notice] = {}
        self.last: date | None = None  # the tenants without a programme of their own
        self.tenant_last: dict[str, date] = {}

    async def born_in(self, month: int, tenants: Tenants) -> AsyncIterator[tuple[str, str]]:
        for key, (m, _) in list(self.birthdays.items()):
            if m == month and covers(tenants, key[0]):
                yield key

    async def born_on(self, month: int, day: int, tenants: Tenants) -> AsyncIterator[tuple[str, str]]:
        for key, born in list(self.birthdays.items()):
            if born == (month, day) and covers(tenants, key[0]):
                yield key

    async def last_bought_in(
        self, window: DormantWindow, tenants: Tenants
    ) -> AsyncIterator[tuple[str, str, datetime]]:
        for (tenant_id, member_id), last in list(self.last_purchases.items()):
            if covers(tenants, tenant_id) and window.start <= last < window.end:
                yield tenant_id, member_id, last

    async def announce(self, notice: Notice) -> bool:
        if notice.key in self.announced:
            return False
        self.announced[notice.key] = notice
        return True

    async def done(self, today: date, tenants: Tenants) -> None:
        if tenants.all_but:
            self.last = max(self.last or today, today)
        for t in tenants.names if not tenants.all_but else ():
            self.tenant_last[t] = max(self.tenant_last.get(t, today), today)

    async def last_days(self) -> tuple[dict[str, date], date | None]:
        return dict(self.tenant_last), self.last


class FakeRefunds:
    def __init__(self, purchases: FakePurchases) -> None:
        self._purchases = purchases
        self.recorded: dict[tuple[str, str], list[RecordedRefund]] = {}

    async def add(
        self, tenant_id: str, purchase_id: str, refund_id: str, decide: DecideRefund
    ) -> tuple[Purchase, RecordedRefund, bool]:
        bought = self._purchases.stored[(tenant_id, purchase_id)]
        earlier = self.recorded.setdefault((tenant_id, purchase_id), [])
        for r in earlier:
            if r.refund.id == refund_id:
                return bought.purchase, r, False
        decision = decide(bought, list(earlier))
        earlier.append(RecordedRefund(decision.refund, decision.points_reversed))
        return bought.purchase, earlier[-1], True

    async def get_refund(
        self, tenant_id: str, purchase_id: str, refund_id: str
    ) -> tuple[Purchase, RecordedRefund] | None:
        for r in self.recorded.get((tenant_id, purchase_id), []):
            if r.refund.id == refund_id:
                return self._purchases.stored[(tenant_id, purchase_id)].purchase, r
        return None


class FakeCapHolds:
    """Rule counters and holds per member, kept as the store's conditional write keeps them: a
    reservation is taken whole only while no hold of its purchase is there and every counter
    leaves room under its cap."""

    def __init__(self, *member_ids: str, tenant_id: str = "t1") -> None:
        self.counters: dict[tuple[str, str], dict[str, int]] = {(tenant_id, m): {} for m in member_ids}
        self.holds: dict[tuple[str, str], dict[str, rule_caps.CapHold]] = {
            (tenant_id, m): {} for m in member_ids
        }

    async def reserve(
        self, tenant_id: str, member_id: str, hold: rule_caps.CapHold, caps: Mapping[str, int]
    ) -> rule_caps.Reserved | None:
        key = (tenant_id, member_id)
        if key not in self.counters:
            return None
        counters, holds = self.counters[key], self.holds[key]
        if hold.purchase_id in holds:
            return rule_caps.Reserved(holds[hold.purchase_id])
        if not hold.points or any(counters.get(r, 0) > caps[r] - n for r, n in hold.points.items()):
            return rule_caps.Reserved(None, given=dict(counters))
        for r, n in hold.points.items():
            counters[r] = counters.get(r, 0) + n
        holds[hold.purchase_id] = hold
        return rule_caps.Reserved(hold, taken_now=True)

    async def refresh(
        self, tenant_id: str, member_id: str, hold: rule_caps.CapHold, at: datetime
    ) -> rule_caps.CapHold | None:
        holds = self.holds[(tenant_id, member_id)]
        found = holds.get(hold.purchase_id)
        if found is None or found.hold_id != hold.hold_id:
            return None
        holds[hold.purchase_id] = replace(found, at=at)
        return holds[hold.purchase_id]

    async def free(self, tenant_id: str, member_id: str, hold: rule_caps.CapHold) -> bool:
        if not await self.forget(tenant_id, member_id, hold):
            return False
        counters = self.counters[(tenant_id, member_id)]
        for r, n in hold.points.items():
            counters[r] -= n
        return True

    async def forget(self, tenant_id: str, member_id: str, hold: rule_caps.CapHold) -> bool:
        holds = self.holds[(tenant_id, member_id)]
        found = holds.get(hold.purchase_id)
        if found is None or found.hold_id != hold.hold_id:
            return False
        del holds[hold.purchase_id]
        return True

    async def older_than(self, before: datetime) -> list[tuple[str, str, rule_caps.CapHold]]:
        return [(t, m, h) for (t, m), holds in self.holds.items() for h in holds.values() if h.at <= before]
