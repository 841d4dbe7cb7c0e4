"""What a resolution hands over, and what it charges to the store's monthly budget. No I/O.

A coupon remedy issues the preset of the case's rating class (a case opened directly counts as
bad: the customer complained) or a template staff chose, at the value it is worth, charged to
the budget of the case's store for the calendar month (tenant's zone) it was decided in. A
tenant with no template set for that class, or no budget (0), gives no coupon: the refusal
says which setting is missing. A case whose reviewer risk reaches the tenant's threshold gets
nothing but an apology until a manager approved it. No remedy is ever conditioned on the
review being changed: nothing here can say so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from chassis.errors import FailedPrecondition, InvalidArgument
from services.feedback.domain.cases import Case, Remedy, RemedyKind, Settlement
from services.feedback.domain.policy import FeedbackPolicy
from services.feedback.domain.reviews import RatingClass

UNGATED = (RemedyKind.APOLOGY_ONLY,)  # what a risky case may get before a manager decides


@dataclass(frozen=True)
class BudgetCharge:
    """One case's charge to its store's budget for a month (the key is store and month; the
    charge is once per case)."""

    tenant_id: str
    store_id: str
    month: str
    case_id: str
    amount: int
    limit: int


def month_key(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%Y-%m")


def money(minor: int) -> str:
    return f"¥{minor / 100:.2f}"


def check_risk(case: Case, remedy: Remedy, threshold: int) -> None:
    if remedy.kind in UNGATED or case.risk.cleared:
        return
    raise FailedPrecondition(
        f"the reviewer risk is {case.risk.score} (threshold {threshold}): this case needs a manager's "
        "decision (approve or confirm extortion) before any compensation"
    )


def _coupon(case: Case, remedy: Remedy, policy: FeedbackPolicy) -> Remedy:
    if policy.store_monthly_budget <= 0:
        raise FailedPrecondition(
            "the tenant's compensation budget (store_monthly_budget) is 0: no compensation coupon can be "
            "issued; set a budget or choose another remedy"
        )
    if remedy.template_id:
        if remedy.value <= 0:
            raise InvalidArgument("remedy.value", "say what the chosen template is worth (remedy.value)")
        return remedy
    kind = case.rating_class or RatingClass.BAD
    preset = policy.preset(kind)
    if preset is None or not preset.template_id:
        raise FailedPrecondition(
            f"no compensation coupon is set for {kind.value} reviews yet (presets: template_id), so none "
            "is issued; set the preset or choose a template (remedy.template_id)"
        )
    return replace(remedy, template_id=preset.template_id, value=preset.value)


def settle(case: Case, remedy: Remedy, policy: FeedbackPolicy, by: str, at: datetime) -> Settlement:
    """The settlement a resolution with `remedy` makes of the case under `policy` at `at`."""
    check_risk(case, remedy, policy.risk_threshold)
    month, limit = "", 0
    if remedy.kind is RemedyKind.COUPON:
        remedy = _coupon(case, remedy, policy)
        month, limit = month_key(at, policy.zone()), policy.store_monthly_budget
        if remedy.value > limit:
            raise FailedPrecondition(
                f"a coupon worth {money(remedy.value)} exceeds the store's whole monthly budget "
                f"({money(limit)})"
            )
    return Settlement(remedy, by, at, month, limit, policy.follow_up_days)


def budget_charge(case: Case) -> BudgetCharge | None:
    """What the case's pending coupon charges to its store's budget (None: nothing)."""
    s = case.pending
    if s is None or s.remedy.kind is not RemedyKind.COUPON:
        return None
    return BudgetCharge(
        case.tenant_id, case.store_id, s.budget_month, case.id, s.remedy.value, s.budget_limit
    )


def over_budget(charge: BudgetCharge) -> str:
    """The note a refused charge leaves on the case."""
    return (
        f"no coupon: the compensation budget of store {charge.store_id or '(chain)'} for {charge.month} "
        f"({money(charge.limit)}) cannot cover {money(charge.amount)}"
    )
