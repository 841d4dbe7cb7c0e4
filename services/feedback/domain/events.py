"""The facts feedback announces, and which a change of a case (or of a thread) announces. No I/O.

Every writer of a case asks `case_facts(before, after, at)` what its write announces, so the
request, the clock and a retry agree: opening announces complaint_opened; reaching
acknowledged, resolved, follow-up or closed announces that step; each SLA newly recorded as
breached announces complaint_sla_breached, once, because it is recorded once. The store writes
the facts with the case in the same single-document write (an outbox), so none is lost or
doubled. A survey announces survey_due when the clock finds it due and survey_answered with
its answer, each in that write; a thread's writes ask `thread_facts` the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.feedback.domain.cases import Case, CaseState
from services.feedback.domain.reviews import Review
from services.feedback.domain.surveys import Survey
from services.feedback.domain.threads import Message, Thread


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


@dataclass(frozen=True)
class SurveyDue:
    survey: Survey


@dataclass(frozen=True)
class SurveyAnswered:
    survey: Survey


SurveyFact = SurveyDue | SurveyAnswered


@dataclass(frozen=True)
class ThreadOpened:
    thread: Thread


@dataclass(frozen=True)
class ThreadMessagePosted:
    thread: Thread
    message: Message


@dataclass(frozen=True)
class ThreadAssigned:
    thread: Thread


@dataclass(frozen=True)
class ThreadSlaBreached:
    thread: Thread
    sla: str  # "first_response"
    due: datetime
    detected_at: datetime


@dataclass(frozen=True)
class SuggestionAdopted:
    thread: Thread


@dataclass(frozen=True)
class ThreadClosed:
    thread: Thread


ThreadFact = (
    ThreadOpened | ThreadMessagePosted | ThreadAssigned | ThreadSlaBreached | SuggestionAdopted | ThreadClosed
)
Fact = ReviewPosted | CaseFact | SurveyFact | ThreadFact

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


def thread_facts(before: Thread | None, after: Thread, at: datetime) -> tuple[ThreadFact, ...]:
    """What writing `after` over `before` (None: a new thread) announces: its opening; else its
    adoption, or its closing, or each message it gained (an adoption's thanks and a closing note
    are in the thread those announce); a new assignment; and its first response newly recorded
    as breached, once."""
    facts: list[ThreadFact] = []
    if before is None:
        facts.append(ThreadOpened(after))
    elif after.adopted_at is not None and before.adopted_at is None:
        facts.append(SuggestionAdopted(after))
    elif after.closed_at is not None and before.closed_at is None:
        facts.append(ThreadClosed(after))
    else:
        known = {m.id for m in before.messages}
        facts.extend(ThreadMessagePosted(after, m) for m in after.messages if m.id not in known)
    if before is not None and (after.assigned_store_id, after.assigned_staff_id) != (
        before.assigned_store_id,
        before.assigned_staff_id,
    ):
        facts.append(ThreadAssigned(after))
    recorded = set(before.sla_breaches) if before else set()
    facts.extend(
        ThreadSlaBreached(after, name, after.first_response_due, at)
        for name in after.sla_breaches
        if name not in recorded
    )
    return tuple(facts)
