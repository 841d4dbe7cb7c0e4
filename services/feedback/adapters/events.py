"""The events feedback publishes, as protobuf in CloudEvents envelopes (proto owns the schema).

`envelopes(facts)` turns what the domain says a write announces (domain/events.py) into the
envelopes the store embeds in that same write (outbox): subject = the member, tenant = the
review's or case's, time = the moment of the fact (when the review was posted, the case opened,
the step was taken, the breach detected).
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
)
from services.feedback.pb_shapes import case_pb, review_pb, stamp

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


def envelopes(facts: Iterable[Fact]) -> list[Envelope]:
    """The envelopes of the facts, in their order."""
    return [envelope(f) for f in facts]
