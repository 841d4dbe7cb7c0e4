"""Purchase use cases: record a till receipt and let its effects follow, exactly once.

Its capped earning-rule shares are reserved on the member first (service/rule_caps.py). A
purchase is recorded (pending) in one insert, unique on the receipt, so 50 simultaneous
retries of one receipt record one. Its effects follow: the points ledger entry (unique on its
source), then the member in ONE guarded write (ports.MemberSpending: statistics, balance, tier,
discount share, referral conversion and their events, purchase_made with the tier after it
among them, judged by domain.spending), then it is no longer pending. A purchase still pending
after a crash or a cut-off call is completed by the completer loop within seconds; every step
is idempotent, so completing twice counts once and announces once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chassis import logs
from chassis.errors import InvalidArgument, NotFound
from services.members.domain import earning, programme, rule_caps, spending, tiers
from services.members.domain import points as pts
from services.members.domain.points import PointsShare
from services.members.domain.programme_versions import ProgrammeVersion
from services.members.domain.purchases import Line, Payment, RecordedPurchase, parse_purchase
from services.members.service import handlers
from services.members.service.ports import (
    MemberHistory,
    MemberSpending,
    PointsLedger,
    ProgrammeBook,
    PurchaseRepository,
    StaffLookup,
)
from services.members.service.rule_caps import RuleCaps

log = logs.get(__name__)


class PurchaseEffects:
    """What a recorded purchase does to its member, each step once however often it runs."""

    def __init__(
        self,
        purchases: PurchaseRepository,
        members: MemberSpending,
        ledger: PointsLedger,
        programmes: ProgrammeBook,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._purchases = purchases
        self._members = members
        self._ledger = ledger
        self._programmes = programmes
        self._clock = clock

    async def apply(self, recorded: RecordedPurchase, version: ProgrammeVersion | None = None) -> None:
        """Ledger entry, then the member in one guarded write, then no longer pending.

        `version` is the programme the purchase was scored under when the caller has it; the
        completer reads the tenant's current one (its ladder judges the tier now, its expiry
        rule dates the points)."""
        p, awarded = recorded.purchase, recorded.points_awarded
        version = version or await self._programmes.current(p.tenant_id)
        source = pts.entry_source(pts.EntryReason.PURCHASE, p.id)
        if awarded:
            await self._ledger.enter(
                p.tenant_id,
                p.member_id,
                awarded,
                pts.EntryReason.PURCHASE,
                source,
                p.occurred_at,
                expires_at=programme.expires_at(version.programme, p.occurred_at),
                shares=recorded.shares,
            )
        change = spending.purchase_change(
            p,
            awarded,
            source,
            rule_caps.uncounted(rule_points(recorded), recorded.cap_hold),
            recorded.spend_month,
            recorded.cap_hold,
        )
        now = self._clock()
        rules = version.programme

        def judge(standing: spending.Standing) -> spending.Outcome:
            outcome = spending.judge(standing, change, rules.ladder, now, rules.zone)
            made = spending.Purchased(recorded, outcome.tier)  # purchase_made, with the tier it earned
            return replace(outcome, facts=(made, *outcome.facts))

        applied = await self._members.apply(p.tenant_id, p.member_id, change, judge, effect_id=p.id)
        if applied is None:
            log.warning("purchase of an unknown member left unapplied", purchase_id=p.id)
        await self._purchases.applied(p.tenant_id, p.id)

    async def complete_pending(
        self, now: datetime, grace: timedelta, limit: int = 100
    ) -> tuple[int, dict[str, Exception]]:
        """Apply purchases recorded more than `grace` ago and still pending: (how many were
        completed, purchase id -> error for those that could not be, to try again next time).

        A purchase is pending from its insert until its member step is done, normally a few
        milliseconds; one pending for longer was cut off by a crash. `apply` is idempotent, so
        two replicas completing the same purchase at once (or with the request itself) count it
        once. One that fails does not hold up the others.
        """
        stuck = await self._purchases.pending(now - grace, limit)
        failed: dict[str, Exception] = {}
        for recorded in stuck:
            try:
                await self.apply(recorded)
            except Exception as exc:  # the store or contention: it stays pending for the next pass
                failed[recorded.purchase.id] = exc
        return len(stuck) - len(failed), failed


class Purchases:
    """Record a till receipt; its effects follow (PurchaseEffects)."""

    def __init__(
        self,
        directory: StaffLookup,
        purchases: PurchaseRepository,
        effects: PurchaseEffects,
        programmes: ProgrammeBook,
        history: MemberHistory,
        caps: RuleCaps,
    ) -> None:
        self._directory = directory
        self._purchases = purchases
        self._effects = effects
        self._programmes = programmes
        self._history = history
        self._caps = caps

    async def record(
        self,
        *,
        tenant_id: str,
        member_id: str,
        store_id: str,
        receipt_no: str,
        served_by_staff_id: str,
        lines: Sequence[Line],
        coupon_codes: Sequence[str],
        occurred_at: datetime | None,
        currency: str,
        payments: Sequence[Payment] = (),
    ) -> tuple[RecordedPurchase, bool]:
        """Idempotent on the receipt: the first call records and applies, retries return it.

        The purchase is scored under the tenant's current programme (domain.earning: base rate,
        birthday, earning rules, each a share) and records that version and the shares, so a
        refund later reverses what was earned then, whatever the programme has become. The
        shares of rules with a cap per member are reserved on the member first, in one
        conditional write (service/rule_caps.py), so purchases at the same instant never take
        more than the cap between them. Three writes follow in turn (purchase, ledger entry,
        member): the gRPC edge runs this under
        chassis.completion.finish, so a caller that gives up does not stop it between two of them;
        a crash can, and `PurchaseEffects.complete_pending` then finishes it.
        """
        if occurred_at is None:
            raise InvalidArgument("occurred_at", "occurred_at is required")
        if not member_id:
            raise InvalidArgument("member_id", "member_id is required")
        found = await self._history.read(tenant_id, member_id, store_id.strip())
        if found is None:
            raise NotFound(f"member {member_id} not found")
        member, facts = found
        owner = (await handlers.with_current_owner(member, self._directory)).owner_staff_id
        purchase = parse_purchase(
            tenant_id=tenant_id,
            member_id=member.id,
            store_id=store_id,
            receipt_no=receipt_no,
            served_by_staff_id=served_by_staff_id,
            owner_staff_id=owner,
            lines=lines,
            coupon_codes=coupon_codes,
            occurred_at=occurred_at,
            currency=currency,
            payments=payments,
        )
        version = await self._programmes.current(tenant_id)
        scored, hold = await self._caps.score(version, facts, purchase)
        self._caps.check_fresh(hold)
        recorded, created = await self._purchases.add(
            RecordedPurchase(
                purchase,
                scored.total,
                pending=True,
                programme_version=version.version,
                shares=shares_of(scored),
                spend_month=tiers.month_key(purchase.occurred_at, version.programme.zone),
                cap_hold=hold,
            )
        )
        if created:
            await self._effects.apply(recorded, version)
        else:
            await self._caps.settle(recorded, hold)
        return recorded, created


def shares_of(scored: earning.Scored) -> tuple[PointsShare, ...]:
    return tuple(PointsShare(s.source.value, s.rule_id, s.points) for s in scored.shares)


def rule_points(recorded: RecordedPurchase) -> dict[str, int]:
    """The points each earning rule gave on this purchase (counted against the rule's cap)."""
    given: dict[str, int] = {}
    for share in recorded.shares:
        if share.rule_id and share.points:
            given[share.rule_id] = given.get(share.rule_id, 0) + share.points
    return given
