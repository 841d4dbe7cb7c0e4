"""Each action on a case: the new case, its TimelineEntry appended, or FailedPrecondition naming
the state it is in ("the case is resolved; it cannot be acknowledged"). No I/O.

    open --acknowledge--> acknowledged --start--> in_progress --resolve--> resolved
    resolved --follow_up_due (the clock, on the follow-up day)--> follow_up --close--> closed
    open | acknowledged | in_progress --reject / confirm_extortion--> rejected

A resolution with something to hand over (a coupon, points) takes two steps: `begin_resolution`
writes the settlement on the case (still in progress), and `finish_resolution` records it
resolved once the coupon or points are given; a remedy with nothing to hand over does both at
once. While a settlement is pending the case cannot be rejected or resolved otherwise: what was
planned is finished, never dropped halfway. Each transition also records any SLA its action
revealed as missed (an acknowledgement after the due time), once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from chassis import fields
from chassis.errors import FailedPrecondition, InvalidArgument
from services.feedback.domain import sla
from services.feedback.domain.cases import (
    ACTIVE,
    Action,
    Case,
    CaseState,
    RemedyKind,
    Settlement,
    TimelineEntry,
)
from services.feedback.domain.reviews import REF_MAX, TEXT_MAX
from services.feedback.domain.risk import RiskDecision

CLOCK = "clock"


def _require(case: Case, allowed: tuple[CaseState, ...], doing: str) -> None:
    if case.state not in allowed:
        raise FailedPrecondition(f"the case is {case.state.label}; it cannot be {doing}")


def _not_settling(case: Case, doing: str) -> None:
    if case.pending is not None:
        raise FailedPrecondition(
            f"the case's resolution ({case.pending.remedy.kind.value}) is under way; it cannot be {doing} "
            "until it is finished (resolve it again)"
        )


def _who(by: str) -> str:
    who = fields.text("by", by, REF_MAX)
    if not who:
        raise InvalidArgument("by", "say who acts (staff id or API key id)")
    return who


def _note(note: str, required: str = "") -> str:
    text = fields.text("note", note, TEXT_MAX, multiline=True)
    if required and not text:
        raise InvalidArgument("note", required)
    return text


def _step(case: Case, at: datetime, *entries: TimelineEntry, **changes: Any) -> Case:
    return record_breaches(replace(case, timeline=(*case.timeline, *entries), **changes), at)


def record_breaches(case: Case, at: datetime, by: str = CLOCK) -> Case:
    """The case with every SLA missed by `at` and not yet recorded, recorded (the same case
    when there is none)."""
    found = sla.breaches(case, at)
    if not found:
        return case
    return replace(
        case,
        sla_breaches=(*case.sla_breaches, *(b.sla.value for b in found)),
        timeline=(*case.timeline, *(TimelineEntry(Action.SLA_BREACHED, by, at, b.sla.value) for b in found)),
    )


def acknowledge(case: Case, by: str, note: str, at: datetime) -> Case:
    """The apology and first response, recorded."""
    _require(case, (CaseState.OPEN,), "acknowledged")
    text = _note(note, "the apology and first response are required (note)")
    return _step(
        case,
        at,
        TimelineEntry(Action.ACKNOWLEDGED, _who(by), at, text),
        state=CaseState.ACKNOWLEDGED,
        first_responded_at=at,
    )


def start(
    case: Case, by: str, note: str, at: datetime, assign_store_id: str = "", assign_staff_id: str = ""
) -> Case:
    """Work begins, optionally assigned to a store or an assistant."""
    _require(case, (CaseState.ACKNOWLEDGED,), "started")
    store = fields.text("assign_store_id", assign_store_id, REF_MAX)
    staff = fields.text("assign_staff_id", assign_staff_id, REF_MAX)
    text = _note(note)
    assigned = ", ".join(p for p in (store and f"store {store}", staff and f"assistant {staff}") if p)
    said = "; ".join(p for p in (text, assigned and f"assigned to {assigned}") if p)
    return _step(
        case,
        at,
        TimelineEntry(Action.STARTED, _who(by), at, said),
        state=CaseState.IN_PROGRESS,
        assigned_store_id=store or case.assigned_store_id,
        assigned_staff_id=staff or case.assigned_staff_id,
    )


def check_resolvable(case: Case) -> None:
    """FailedPrecondition unless the case can be resolved now (in progress, nothing pending)."""
    _require(case, (CaseState.IN_PROGRESS,), "resolved")
    _not_settling(case, "resolved again")


def begin_resolution(case: Case, settlement: Settlement) -> Case:
    """The settlement written on the case before anything is handed over."""
    check_resolvable(case)
    _who(settlement.by)
    return replace(case, pending=settlement)


def finish_resolution(case: Case, at: datetime, coupon_code: str = "") -> Case:
    """The pending settlement done: resolved with its remedy (and the coupon's code), the
    follow-up day set `follow_up_days` after the resolution was decided."""
    _require(case, (CaseState.IN_PROGRESS,), "resolved")
    s = case.pending
    if s is None:
        raise FailedPrecondition("the case has no resolution under way")
    remedy = s.remedy
    entries = []
    if remedy.kind is RemedyKind.COUPON:
        if not coupon_code:
            raise FailedPrecondition("a coupon remedy is finished with the coupon's code")
        remedy = replace(remedy, coupon_code=coupon_code)
        entries.append(
            TimelineEntry(
                Action.COMPENSATION_ISSUED,
                s.by,
                at,
                f"coupon {coupon_code} (template {remedy.template_id}, worth {remedy.value / 100:.2f})",
            )
        )
    elif remedy.kind is RemedyKind.POINTS:
        entries.append(TimelineEntry(Action.COMPENSATION_ISSUED, s.by, at, f"{remedy.points} points"))
    said = f"{remedy.kind.value}: {remedy.note}" if remedy.note else remedy.kind.value
    entries.append(TimelineEntry(Action.RESOLVED, s.by, at, said))
    return _step(
        case,
        at,
        *entries,
        state=CaseState.RESOLVED,
        remedy=remedy,
        resolved_at=s.at,
        follow_up_at=s.at + timedelta(days=s.follow_up_days),
        pending=None,
    )


def resolve(case: Case, settlement: Settlement) -> Case:
    """A remedy with nothing to hand over (apology, exchange, repair, refund at the till)."""
    if settlement.remedy.kind in (RemedyKind.COUPON, RemedyKind.POINTS):
        raise FailedPrecondition(f"a {settlement.remedy.kind.value} remedy is resolved in two steps")
    return finish_resolution(begin_resolution(case, settlement), settlement.at)


def refuse_settlement(case: Case, reason: str, at: datetime) -> Case:
    """The pending settlement dropped because nothing of it could be handed over (the budget
    refused before any charge or issue): the case stays in progress, the reason noted."""
    if case.pending is None:
        return case
    return _step(case, at, TimelineEntry(Action.NOTE, case.pending.by, at, reason), pending=None)


def follow_up_due(case: Case, at: datetime) -> Case:
    """The follow-up day came: time to ask the customer how it went."""
    _require(case, (CaseState.RESOLVED,), "moved to follow-up")
    if case.follow_up_at is None or case.follow_up_at > at:
        raise FailedPrecondition("the case's follow-up day has not come yet")
    return _step(case, at, TimelineEntry(Action.FOLLOW_UP_DUE, CLOCK, at), state=CaseState.FOLLOW_UP)


def close(case: Case, by: str, satisfaction: int, note: str, at: datetime) -> Case:
    """Closed with the customer's satisfaction, 1-5."""
    _require(case, (CaseState.FOLLOW_UP,), "closed")
    score = fields.integer("satisfaction", satisfaction, 1, 5)
    text = _note(note)
    return _step(
        case,
        at,
        TimelineEntry(Action.CLOSED, _who(by), at, f"satisfaction {score}/5" + (f": {text}" if text else "")),
        state=CaseState.CLOSED,
        satisfaction=score,
    )


def reject(case: Case, by: str, note: str, at: datetime) -> Case:
    """Rejected, with the reason."""
    _require(case, ACTIVE, "rejected")
    _not_settling(case, "rejected")
    text = _note(note, "say why the case is rejected (note)")
    return _step(
        case, at, TimelineEntry(Action.REJECTED, _who(by), at, text), state=CaseState.REJECTED, rejected_at=at
    )


def approve_risk(case: Case, by: str, note: str, at: datetime) -> Case:
    """A manager allows compensation despite the reviewer risk (again: the same case)."""
    _require(case, ACTIVE, "given a risk decision")
    if case.risk.decision is RiskDecision.APPROVED:
        return case
    who = _who(by)
    return _step(
        case,
        at,
        TimelineEntry(Action.RISK_APPROVED, who, at, _note(note)),
        risk=replace(case.risk, decision=RiskDecision.APPROVED, decided_by=who),
    )


def confirm_extortion(case: Case, by: str, note: str, at: datetime) -> Case:
    """A manager confirms extortion: the case is rejected, the decision on its risk."""
    _require(case, ACTIVE, "given a risk decision")
    _not_settling(case, "rejected")
    who = _who(by)
    text = _note(note, "say what confirms the extortion (note)")
    return _step(
        case,
        at,
        TimelineEntry(Action.EXTORTION_CONFIRMED, who, at, text),
        TimelineEntry(Action.REJECTED, who, at, "extortion confirmed"),
        state=CaseState.REJECTED,
        rejected_at=at,
        risk=replace(case.risk, decision=RiskDecision.EXTORTION_CONFIRMED, decided_by=who),
    )
