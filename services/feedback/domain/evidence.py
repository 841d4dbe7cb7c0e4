"""An evidence pack for a dispute: everything the platform holds of one member's dealings with
the shop. No I/O.

The member's reviews (with every earlier version and the shop's replies), cases (with their
timelines, remedies and risk assessments), questions and suggestions (threads), satisfaction
surveys and the messages the platform sent them, each oldest first. The messages are
messaging's: the pack says whether it holds all of them (`messages_status`), so a pack made
while messaging did not answer is never mistaken for a member who was sent nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.feedback.domain.cases import Case
from services.feedback.domain.reviews import Review
from services.feedback.domain.surveys import Survey
from services.feedback.domain.threads import Thread

MESSAGES_MAX = 5000  # a dispute's evidence, not an archive: more and the pack says "truncated"


class MessagesStatus(StrEnum):
    COMPLETE = "complete"
    UNAVAILABLE = "unavailable"  # messaging did not answer: none are in the pack
    TRUNCATED = "truncated"  # more than MESSAGES_MAX: the newest are in it


@dataclass(frozen=True)
class SentMessage:
    """A message messaging sent (or tried to send) the member."""

    id: str
    template_id: str
    message_class: str
    channel: str
    state: str
    source: str
    store_id: str
    staff_id: str
    created_at: datetime | None
    sent_at: datetime | None
    reason: str


@dataclass(frozen=True)
class SentMessages:
    """What messaging said it sent the member, and whether that is all of it."""

    messages: tuple[SentMessage, ...]
    status: MessagesStatus = MessagesStatus.COMPLETE
    note: str = ""


@dataclass(frozen=True)
class EvidencePack:
    tenant_id: str
    member_id: str
    reviews: tuple[Review, ...]
    cases: tuple[Case, ...]
    exported_at: datetime
    threads: tuple[Thread, ...] = ()
    surveys: tuple[Survey, ...] = ()
    messages: SentMessages = SentMessages(())


def oldest_first(messages: list[SentMessage]) -> tuple[SentMessage, ...]:
    """By when each was created (then by id, so equal times keep one order)."""
    return tuple(sorted(messages, key=lambda m: (m.created_at is None, m.created_at or datetime.min, m.id)))
