"""The facts feedback announces, and which a change of a case announces. No I/O.

Every writer of a case asks `case_facts(before, after, at)` what its write announces, so the
request, the clock and a retry agree: opening announces complaint_opened; reaching
acknowledged, resolved, follow-up or closed announces that step; each SLA newly recorded as
breached announces complaint_sla_breached, once, because it is recorded once. The store writes
the facts with the case in the same single-document write (an outbox), so none is lost or
doubled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.feedback.domain.cases import Case, CaseState
from services.feedback.domain.reviews import Review


@dataclass(frozen=True)
class ReviewPosted:
    review: Review


@dataclass(frozen=True)
class ComplaintOpened:
    case: Case


@dataclass(frozen=True)
class ComplaintAcknowledged:
    case: Case


@dataclass(frozen=True)
class ComplaintResolved:
    case: Case


@dataclass(frozen=True)
class ComplaintFollowUpDue:
    case: Case


@dataclass(frozen=True)
class ComplaintClosed:
    case: Case


@dataclass(frozen=True)
class ComplaintSlaBreached:
    case: Case
    sla: str  # "first_response" or "resolution"
    due: datetime
    detected_at: datetime


CaseFact = (
    ComplaintOpened
    | ComplaintAcknowledged
    | ComplaintResolved
    | ComplaintFollowUpDue
    | ComplaintClosed
    | ComplaintSlaBreached
)
Fact = ReviewPosted | CaseFact

_STEP_FACTS: dict[
    CaseState, type[ComplaintAcknowledged | ComplaintResolved | ComplaintFollowUpDue | ComplaintClosed]
] = {
    CaseState.ACKNOWLEDGED: ComplaintAcknowledged,
    CaseState.RESOLVED: ComplaintResolved,
    CaseState.FOLLOW_UP: ComplaintFollowUpDue,
    CaseState.CLOSED: ComplaintClosed,
}


def case_facts(before: Case | None, after: Case, at: datetime) -> tuple[CaseFact, ...]:
    """What writing `after` over `before` (None: a new case) announces."""
    facts: list[CaseFact] = []
    if before is None:
        facts.append(ComplaintOpened(after))
    elif after.state is not before.state and after.state in _STEP_FACTS:
        facts.append(_STEP_FACTS[after.state](after))
    recorded = set(before.sla_breaches) if before else set()
    for name in after.sla_breaches:
        if name not in recorded:
            due = after.first_response_due if name == "first_response" else after.resolution_due
            facts.append(ComplaintSlaBreached(after, name, due, at))
    return tuple(facts)
