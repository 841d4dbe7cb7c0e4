"""What erasing a member (members' member_erased) leaves of what feedback holds of them. No I/O.

Everything the member wrote or that was written about them goes: a review's text and images
(and those of every earlier version), the shop's replies to it (a reply quotes the review and
speaks to its author), a case's description, the notes of its timeline and remedy, its
risk reasons (sentences about the person) and delivery city, a thread's messages, a survey
answer's free text. What reports count stays, detached from the person: ratings, classes,
scores, categories, severities, states, who acted and when, SLA dues and breaches, remedy
kinds, values and points, stores and receipts. The member id stays too: members keeps the
erased member under it (an anonymous record), and it is what makes erasure idempotent and a
late write for that member recognisable.

Each scrub returns the very object it was given when there is nothing left to scrub, so a
second erasure (member_erased delivered again) writes nothing; and an aggregate marked erased
is scrubbed again on every later change, so nothing written after can bring content back.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.feedback.domain.cases import Case, Remedy, Settlement, TimelineEntry
from services.feedback.domain.reviews import Reply, Review, ReviewVersion
from services.feedback.domain.surveys import Survey
from services.feedback.domain.threads import Message, Thread


def _reply(r: Reply) -> Reply:
    return replace(r, text="", quoted_text="")


def _version(v: ReviewVersion) -> ReviewVersion:
    return replace(v, text="", image_urls=())


def scrub_review(review: Review, at: datetime) -> Review:
    """The review without its member's words and images, its replies without their text."""
    after = replace(
        review,
        text="",
        image_urls=(),
        delivery_city="",
        history=tuple(_version(v) for v in review.history),
        reply=_reply(review.reply) if review.reply else None,
        earlier_replies=tuple(_reply(r) for r in review.earlier_replies),
        erased_at=review.erased_at or at,
    )
    return review if after == review else after


def _entry(e: TimelineEntry) -> TimelineEntry:
    return replace(e, note="")


def _remedy(m: Remedy) -> Remedy:
    return replace(m, note="")


def _settlement(s: Settlement) -> Settlement:
    return replace(s, remedy=_remedy(s.remedy))


def scrub_case(case: Case, at: datetime) -> Case:
    """The case without its description, notes, risk reasons and delivery city; its figures kept."""
    after = replace(
        case,
        description="",
        delivery_city="",
        timeline=tuple(_entry(e) for e in case.timeline),
        remedy=_remedy(case.remedy) if case.remedy else None,
        pending=_settlement(case.pending) if case.pending else None,
        risk=replace(case.risk, reasons=()),
        erased_at=case.erased_at or at,
    )
    return case if after == case else after


def _message(m: Message) -> Message:
    return replace(m, text="")


def scrub_thread(thread: Thread, at: datetime) -> Thread:
    """The thread without what anyone wrote in it; who wrote when, its state and SLA kept."""
    after = replace(
        thread,
        messages=tuple(_message(m) for m in thread.messages),
        erased_at=thread.erased_at or at,
    )
    return thread if after == thread else after


def scrub_survey(survey: Survey, at: datetime) -> Survey:
    """The survey without the answer's free text (its scores kept); it takes no answer and
    falls due no more (domain.surveys checks `erased_at`)."""
    answer = replace(survey.answer, text="") if survey.answer else None
    after = replace(survey, answer=answer, erased_at=survey.erased_at or at)
    return survey if after == survey else after
