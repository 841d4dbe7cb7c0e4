"""Exporting a member's evidence pack: feedback's own reviews, cases, threads and surveys of
the member, and the messages messaging sent them.

Messaging may not answer. The pack is then still made from feedback's own stores, and says so:
its messages are marked `unavailable` with the reason, never an empty list that reads as "sent
nothing" (domain.evidence). Other failures (feedback's own store) fail the export.
"""

from __future__ import annotations

from typing import Protocol

from chassis import fields
from chassis.errors import InvalidArgument, Unavailable
from services.feedback.domain.evidence import (
    EvidencePack,
    MessagesStatus,
    SentMessage,
    SentMessages,
    oldest_first,
)
from services.feedback.domain.reviews import REF_MAX
from services.feedback.service.cases import Clock, utc_now
from services.feedback.service.ports import (
    CaseRepository,
    ReviewRepository,
    SurveyRepository,
    ThreadRepository,
)


class MessagingPort(Protocol):
    async def sent_to(self, tenant_id: str, member_id: str) -> tuple[list[SentMessage], bool]:
        """(the messages messaging holds for the member, whether there were more than it
        returned). Unavailable when messaging does not answer."""


class Evidence:
    def __init__(
        self,
        reviews: ReviewRepository,
        cases: CaseRepository,
        threads: ThreadRepository,
        surveys: SurveyRepository,
        messaging: MessagingPort,
        clock: Clock = utc_now,
    ) -> None:
        self._reviews = reviews
        self._cases = cases
        self._threads = threads
        self._surveys = surveys
        self._messaging = messaging
        self._clock = clock

    async def export(self, tenant_id: str, member_id: str) -> EvidencePack:
        """The member's pack, everything oldest first."""
        member = fields.text("member_id", member_id, REF_MAX)
        if not member:
            raise InvalidArgument("member_id", "member_id is required")
        reviews = await self._reviews.of_member(tenant_id, member)
        cases = await self._cases.of_member(tenant_id, member)
        threads = sorted(await self._threads.of_member(tenant_id, member), key=lambda t: (t.opened_at, t.id))
        surveys = sorted(
            await self._surveys.of_member(tenant_id, member), key=lambda s: (s.purchased_at, s.id)
        )
        return EvidencePack(
            tenant_id=tenant_id,
            member_id=member,
            reviews=tuple(reviews),
            cases=tuple(cases),
            exported_at=self._clock(),
            threads=tuple(threads),
            surveys=tuple(surveys),
            messages=await self._messages(tenant_id, member),
        )

    async def _messages(self, tenant_id: str, member_id: str) -> SentMessages:
        try:
            found, more = await self._messaging.sent_to(tenant_id, member_id)
        except Unavailable as exc:
            return SentMessages((), MessagesStatus.UNAVAILABLE, str(exc) or "messaging did not answer")
        status = MessagesStatus.TRUNCATED if more else MessagesStatus.COMPLETE
        note = f"the newest {len(found)} messages; there are older ones" if more else ""
        return SentMessages(oldest_first(found), status, note)
