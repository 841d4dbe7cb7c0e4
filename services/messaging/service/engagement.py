"""Did it work: taps on tracked links and inbox reads, purchases and coupon claims attributed to
the message that earned them, and the messaging report.

- A click resolves its token and records the tap; the first tap or read of a message announces
  message_clicked, once (the engagement record of the message is inserted once, the event in
  that insert; later taps only count).
- A conversion (members' purchase_made, coupons' claimed coupon_issued) is attributed by
  domain/attribution.py within the tenant's `attribution_hours` and stored once per
  (tenant, kind, ref) with message_converted in that insert, so a redelivered event counts
  nothing more.
- The report reads the period's messages (at most MESSAGES_MAX) and what came of them and
  counts in the domain (domain/reports.py).

The ports below are these use cases' alone (the sending pipeline's are in ports.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from chassis.errors import FailedPrecondition, InvalidArgument, NotFound
from services.messaging.domain import attribution, links, reports
from services.messaging.domain.attribution import Candidate, Conversion, Kind
from services.messaging.domain.links import Link
from services.messaging.domain.reports import MessageOutcome, ReportedMessage, Row
from services.messaging.service.ports import PolicyStore

MESSAGES_MAX = 200_000

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class LinkRecords(Protocol):
    async def find(self, token: str) -> Link | None:
        """The link of a token, whichever tenant's: the token alone names it."""

    async def of_message(self, tenant_id: str, message_id: str) -> Link | None:
        """The message as an engagement sees it (url ""), for an inbox read; None if unknown."""

    async def engage(self, link: Link, at: datetime, user_agent: str) -> bool:
        """Counts a tap (url set) or a read of the link's message; True for the message's first,
        which is stored with its message_clicked."""

    async def clicked_between(
        self, tenant_id: str, member_id: str, start: datetime, end: datetime
    ) -> list[Candidate]:
        """The member's messages first engaged with in [start, end]."""

    async def clicked_messages(
        self, tenant_id: str, since: datetime | None, until: datetime | None
    ) -> set[str]:
        """Ids of the messages requested in [since, until) that were engaged with."""


class ConversionStore(Protocol):
    async def sent_between(
        self, tenant_id: str, member_id: str, start: datetime, end: datetime
    ) -> list[Candidate]:
        """The member's messages sent in [start, end]."""

    async def record(self, conversion: Conversion) -> bool:
        """Stores it with its message_converted unless its id is stored; True when stored now."""

    async def by_staff(
        self, tenant_id: str, store_id: str, since: datetime | None, until: datetime | None
    ) -> list[tuple[str, str, int, int]]:
        """(staff, currency, conversions, revenue) of conversions made in [since, until)."""

    async def outcomes(
        self, tenant_id: str, since: datetime | None, until: datetime | None
    ) -> dict[str, MessageOutcome]:
        """Per message requested in [since, until): its conversions and revenue."""


class MessageReads(Protocol):
    async def requested_between(
        self, tenant_id: str, since: datetime | None, until: datetime | None, limit: int
    ) -> list[ReportedMessage]: ...


class Engagement:
    def __init__(
        self,
        links: LinkRecords,
        conversions: ConversionStore,
        messages: MessageReads,
        policies: PolicyStore,
        clock: Clock = utc_now,
    ) -> None:
        self._links = links
        self._conversions = conversions
        self._messages = messages
        self._policies = policies
        self.now = clock

    async def click(self, token: str, user_agent: str, now: datetime) -> Link:
        """Where the token leads, the tap recorded; NotFound for a token we never issued."""
        link = await self._links.find(token) if links.well_formed(token) else None
        if link is None:
            raise NotFound("no such link")
        await self._links.engage(link, now, links.user_agent(user_agent))
        return link

    async def inbox_read(self, tenant_id: str, message_id: str, member_id: str, now: datetime) -> bool:
        """The member opened the message in the inbox: engagement as a tap is. True when it was the
        message's first; False too when the message is unknown or another member's (an inbox
        entry of no message of ours, e.g. a welcome note, is nothing to count)."""
        link = await self._links.of_message(tenant_id, message_id) if message_id else None
        if link is None or link.member_id != member_id:
            return False
        return await self._links.engage(link, now, "")

    async def purchase_made(
        self, tenant_id: str, member_id: str, purchase_id: str, amount_minor: int, currency: str, at: datetime
    ) -> Conversion | None:
        amount, code = attribution.checked_money(amount_minor, currency)
        ref = attribution.checked_ref("purchase_id", purchase_id)
        return await self._convert(tenant_id, member_id, Kind.PURCHASE, ref, at, amount, code)

    async def coupon_claimed(
        self, tenant_id: str, member_id: str, coupon_id: str, at: datetime
    ) -> Conversion | None:
        ref = attribution.checked_ref("coupon_id", coupon_id)
        return await self._convert(tenant_id, member_id, Kind.COUPON, ref, at, 0, "")

    async def _convert(
        self, tenant_id: str, member_id: str, kind: Kind, ref: str, at: datetime, amount: int, currency: str
    ) -> Conversion | None:
        """The conversion as attributed (stored now or before), None when no message earned it."""
        if not member_id:
            raise InvalidArgument("member_id", "a conversion needs the member")
        hours = (await self._policies.current(tenant_id)).attribution_hours
        if hours <= 0:
            return None
        start = at - timedelta(hours=hours)
        candidates = await self._links.clicked_between(tenant_id, member_id, start, at)
        chosen = attribution.choose(candidates, at, timedelta(hours=hours))
        if chosen is None:
            candidates = await self._conversions.sent_between(tenant_id, member_id, start, at)
            chosen = attribution.choose(candidates, at, timedelta(hours=hours))
        if chosen is None:
            return None
        message, via = chosen
        conversion = Conversion(tenant_id, member_id, kind, ref, at, message, via, amount, currency)
        await self._conversions.record(conversion)
        return conversion

    async def revenue_by_staff(
        self, tenant_id: str, store_id: str, since: datetime | None, until: datetime | None
    ) -> dict[str, tuple[int, int, str]]:
        """Per assistant the messages spoke for: (conversions, revenue minor units, currency) of
        the conversions made in [since, until), of one store's messages ("" = every store)."""
        reports.checked_period(since, until)
        return attribution.staff_revenue(await self._conversions.by_staff(tenant_id, store_id, since, until))

    async def report(self, tenant_id: str, since: datetime | None, until: datetime | None) -> list[Row]:
        """Rows of the messages requested in [since, until) (an unset end is open)."""
        reports.checked_period(since, until)
        messages = await self._messages.requested_between(tenant_id, since, until, MESSAGES_MAX + 1)
        if len(messages) > MESSAGES_MAX:
            raise FailedPrecondition(
                f"the period holds more than {MESSAGES_MAX} messages; ask for a shorter one"
            )
        clicked = await self._links.clicked_messages(tenant_id, since, until)
        outcomes = await self._conversions.outcomes(tenant_id, since, until)
        return reports.report(messages, clicked, outcomes)
