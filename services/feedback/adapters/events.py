"""The events feedback publishes, as protobuf in CloudEvents envelopes (proto owns the schema).

`envelopes(facts)` turns what the domain says a write announces (domain/events.py) into the
envelopes the store embeds in that same write (outbox): subject = the member, tenant = the
review's or case's, time = the moment of the fact (when the review was posted, the case opened,
the step was taken, the breach detected; a survey's when it fell due or was answered; a
thread's when it opened, the message was written, it was adopted or closed).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from google.protobuf.message import Message
from regulars.feedback.v1 import events_pb2

from chassis.cloudevents import Envelope, new_event, topic_of
from services.feedback.domain.cases import Action, Case
from services.feedback.domain.events import (
    ComplaintAcknowledged,
    ComplaintClosed,
    ComplaintFollowUpDue,
    ComplaintOpened,
    ComplaintResolved,
    ComplaintSlaBreached,
    Fact,
    ReviewPosted,
    SuggestionAdopted,
    SurveyAnswered,
    SurveyDue,
    ThreadAssigned,
    ThreadClosed,
    ThreadFact,
    ThreadMessagePosted,
    ThreadOpened,
    ThreadSlaBreached,
)
from services.feedback.pb_shapes import case_pb, message_pb, review_pb, stamp, survey_pb, thread_pb

SOURCE = "regulars/feedback"
TOPIC = topic_of(events_pb2.DESCRIPTOR)


def _latest(case: Case, action: Action, fallback: datetime | None) -> datetime | None:
    """When the case's timeline last records `action` (the step the fact announces)."""
    return next((e.at for e in reversed(case.timeline) if e.action is action), fallback)


def _event(tenant_id: str, member_id: str, payload: Message, at: datetime | None) -> Envelope:
    return new_event(source=SOURCE, tenant_id=tenant_id, subject=member_id, payload=payload, time=at)


def envelope(fact: Fact) -> Envelope:
    """The envelope of one fact."""
    if isinstance(fact, ReviewPosted):
        r = fact.review
        return _event(r.tenant_id, r.member_id, events_pb2.ReviewPosted(review=review_pb(r)), r.posted_at)
    if isinstance(fact, SurveyDue):
        s = fact.survey
        return _event(s.tenant_id, s.member_id, events_pb2.SurveyDue(survey=survey_pb(s)), s.fell_due_at)
    if isinstance(fact, SurveyAnswered):
        s = fact.survey
        at = s.answer.at if s.answer else None
        return _event(s.tenant_id, s.member_id, events_pb2.SurveyAnswered(survey=survey_pb(s)), at)
    if isinstance(
        fact,
        ThreadOpened
        | ThreadMessagePosted
        | ThreadAssigned
        | ThreadSlaBreached
        | SuggestionAdopted
        | ThreadClosed,
    ):
        return _thread_envelope(fact)
    c = fact.case
    if isinstance(fact, ComplaintSlaBreached):
        payload = events_pb2.ComplaintSlaBreached(
            case_id=c.id,
            tenant_id=c.tenant_id,
            member_id=c.member_id,
            store_id=c.store_id,
            sla=fact.sla,
            due=stamp(fact.due),
            detected_at=stamp(fact.detected_at),
            severity=c.severity.value,
        )
        return _event(c.tenant_id, c.member_id, payload, fact.detected_at)
    if isinstance(fact, ComplaintOpened):
        return _event(c.tenant_id, c.member_id, events_pb2.ComplaintOpened(case=case_pb(c)), c.opened_at)
    if isinstance(fact, ComplaintAcknowledged):
        at = _latest(c, Action.ACKNOWLEDGED, c.first_responded_at)
        return _event(c.tenant_id, c.member_id, events_pb2.ComplaintAcknowledged(case=case_pb(c)), at)
    if isinstance(fact, ComplaintResolved):
        at = _latest(c, Action.RESOLVED, c.resolved_at)
        return _event(c.tenant_id, c.member_id, events_pb2.ComplaintResolved(case=case_pb(c)), at)
    if isinstance(fact, ComplaintFollowUpDue):
        at = _latest(c, Action.FOLLOW_UP_DUE, c.follow_up_at)
        return _event(c.tenant_id, c.member_id, events_pb2.ComplaintFollowUpDue(case=case_pb(c)), at)
    if isinstance(fact, ComplaintClosed):
        at = _latest(c, Action.CLOSED, None)
        return _event(c.tenant_id, c.member_id, events_pb2.ComplaintClosed(case=case_pb(c)), at)
    raise TypeError(f"not a feedback fact: {fact!r}")  # pragma: no cover - the union is exhaustive


def _thread_envelope(fact: ThreadFact) -> Envelope:
    t = fact.thread
    tenant, member = t.tenant_id, t.member_id
    if isinstance(fact, ThreadOpened):
        return _event(tenant, member, events_pb2.ThreadOpened(thread=thread_pb(t)), t.opened_at)
    if isinstance(fact, ThreadMessagePosted):
        m = fact.message
        payload = events_pb2.ThreadMessagePosted(thread=thread_pb(t), message=message_pb(m))
        return _event(tenant, member, payload, m.at)
    if isinstance(fact, ThreadAssigned):
        return _event(tenant, member, events_pb2.ThreadAssigned(thread=thread_pb(t)), None)
    if isinstance(fact, SuggestionAdopted):
        return _event(tenant, member, events_pb2.SuggestionAdopted(thread=thread_pb(t)), t.adopted_at)
    if isinstance(fact, ThreadClosed):
        return _event(tenant, member, events_pb2.ThreadClosed(thread=thread_pb(t)), t.closed_at)
    breached = events_pb2.ThreadSlaBreached(
        thread_id=t.id,
        tenant_id=tenant,
        member_id=member,
        store_id=t.store_id,
        kind=t.kind.value,
        sla=fact.sla,
        due=stamp(fact.due),
        detected_at=stamp(fact.detected_at),
        assigned_store_id=t.assigned_store_id,
        assigned_staff_id=t.assigned_staff_id,
    )
    return _event(tenant, member, breached, fact.detected_at)


def envelopes(facts: Iterable[Fact]) -> list[Envelope]:
    """The envelopes of the facts, in their order."""
    return [envelope(f) for f in facts]
