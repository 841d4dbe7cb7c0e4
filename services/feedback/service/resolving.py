"""Resolving a case, with its compensation handed over exactly once, and a manager's decision
on a risky case.

A resolution that hands something over (a coupon, points) is written in this order, each step
idempotent, none ever undone:

1. the settlement, on the case (one guarded write, the case still in progress): the remedy as
   planned (template and value, or points), the store-month budget it is charged to and the
   budget's limit, who and when. From here on every retry finishes *this* settlement, whatever
   the policy or the calendar month has become.
2. the budget: `Compensation.charge(tenant, store, month, case_id, amount, limit)`, once per case.
   Refused (the month's budget is spent): nothing was charged or issued, so the settlement is
   dropped from the case in a guarded write with the reason on the timeline, and the caller is
   told (FAILED_PRECONDITION); staff can choose another remedy.
3. the coupon: `CouponsPort.issue(..., case_id)` (coupons' IssueCompensation, one coupon per
   case), or the points: `MembersPort.award_points(..., case_id)`, once per case.
4. the case resolved with the remedy and the coupon's code, the follow-up day, and
   complaint_resolved (one guarded write).

A crash after any step leaves the settlement on the case: a retry of the resolve (or the clock,
`finish_settling`) repeats the steps after 1, and each repeated step finds its effect already
there — the budget is charged once and one coupon exists. Two resolves at once: the guarded
write of step 1 lets one settlement in; the other reads it and finishes the same one. A resolve
of a case already resolved returns it and issues nothing. When coupons refuses the template
(archived, say), the settlement stays on the case, charged: a retry once the template is active
again finishes it. It cannot be swapped for another remedy, since a coupon may already exist.
"""

from __future__ import annotations

from datetime import datetime

from chassis.errors import FailedPrecondition, InvalidArgument
from services.feedback.domain import compensation, transitions
from services.feedback.domain.cases import Case, CaseState, Remedy, RemedyKind
from services.feedback.domain.risk import RiskDecision
from services.feedback.service.cases import Clock, change_case, utc_now
from services.feedback.service.ports import (
    CaseRepository,
    Compensation,
    CouponsPort,
    MembersPort,
    PolicyRepository,
)

HANDED_OVER = (RemedyKind.COUPON, RemedyKind.POINTS)
DECISIONS = ("approve", "confirm_extortion")


class Resolutions:
    def __init__(
        self,
        cases: CaseRepository,
        policies: PolicyRepository,
        budget: Compensation,
        coupons: CouponsPort,
        members: MembersPort,
        clock: Clock = utc_now,
    ) -> None:
        self._cases = cases
        self._policies = policies
        self._budget = budget
        self._coupons = coupons
        self._members = members
        self._clock = clock

    async def resolve(self, tenant_id: str, case_id: str, by: str, remedy: Remedy) -> Case:
        """in progress -> resolved with `remedy` (domain.cases.parse_remedy); its coupon or
        points handed over once however often this is retried. A case already resolved is
        returned as it is; a resolution under way is finished as it was planned."""
        at = self._clock()
        policy = await self._policies.current(tenant_id)

        def decide(case: Case) -> Case:
            if case.state is CaseState.RESOLVED or case.pending is not None:
                return case  # a retry: the rest finishes what was decided
            transitions.check_resolvable(case)
            settlement = compensation.settle(case, remedy, policy, by.strip(), at)
            if remedy.kind in HANDED_OVER:
                return transitions.begin_resolution(case, settlement)
            return transitions.resolve(case, settlement)

        _, case = await change_case(self._cases, tenant_id, case_id, decide, at)
        if case.pending is not None:
            case = await self.finish(case)
        return case

    async def finish(self, case: Case) -> Case:
        """Hand over the case's pending settlement and record it resolved (steps 2-4)."""
        settlement = case.pending
        if settlement is None:
            return case
        at = self._clock()
        code = ""
        charge = compensation.budget_charge(case)
        if charge is not None:
            if not await self._budget.charge(
                charge.tenant_id, charge.store_id, charge.month, charge.case_id, charge.amount, charge.limit
            ):
                reason = compensation.over_budget(charge)
                await change_case(
                    self._cases,
                    case.tenant_id,
                    case.id,
                    lambda c: transitions.refuse_settlement(c, reason, at) if c.pending == settlement else c,
                    at,
                    first=case,
                )
                raise FailedPrecondition(reason)
            code = await self._coupons.issue(
                case.tenant_id, settlement.remedy.template_id, case.member_id, case.id
            )
        elif settlement.remedy.kind is RemedyKind.POINTS:
            await self._members.award_points(
                case.tenant_id, case.member_id, settlement.remedy.points, case.id
            )

        def done(c: Case) -> Case:
            if c.pending != settlement:
                return c  # finished (or dropped) by another attempt meanwhile
            return transitions.finish_resolution(c, at, code)

        _, after = await change_case(self._cases, case.tenant_id, case.id, done, at, first=case)
        return after

    async def finish_settling(self, decided_before: datetime, limit: int = 100) -> tuple[int, dict[str, str]]:
        """Finish resolutions left half-done (decided before then): (how many were finished,
        case id -> why one could not be, to try again next time)."""
        finished, failed = 0, dict[str, str]()
        for case in await self._cases.settling(decided_before, limit):
            try:
                after = await self.finish(case)
            except Exception as exc:  # the budget, coupons or the store: it stays pending for next time
                failed[case.id] = str(exc) or type(exc).__name__
                continue
            if after.state is CaseState.RESOLVED:
                finished += 1
        return finished, failed

    async def decide_risk(
        self, tenant_id: str, case_id: str, by: str, decision: str, note: str, blacklist: bool = False
    ) -> Case:
        """A manager's decision on a risky case: "approve" compensation, or "confirm_extortion"
        (the case is rejected and, with `blacklist`, the member blacklisted in members). The
        decision is recorded on the case first; a retry of a confirmed one blacklists again
        (idempotent) and changes nothing else."""
        if decision not in DECISIONS:
            raise InvalidArgument("decision", "decision must be one of: approve, confirm_extortion")
        if blacklist and decision != "confirm_extortion":
            raise InvalidArgument("blacklist", "blacklisting goes with confirm_extortion only")
        at = self._clock()

        def decide(case: Case) -> Case:
            if decision == "approve":
                return transitions.approve_risk(case, by, note, at)
            if case.risk.decision is RiskDecision.EXTORTION_CONFIRMED:
                return case
            return transitions.confirm_extortion(case, by, note, at)

        _, case = await change_case(self._cases, tenant_id, case_id, decide, at)
        if blacklist:
            await self._members.blacklist(tenant_id, case.member_id, f"extortion confirmed on case {case.id}")
        return case
