"""Tracked links and engagement in MongoDB.

- `links`: one document per token (`_id` = the token), inserted once; a retried render inserts
  nothing new. A tap arrives with the token alone (no login, no tenant), so `find` is the one
  read by `_id` without the tenant in the filter: the token names the link and its tenant, and
  cannot be guessed (domain/links.py).
- `engagements`: one document per engaged message (`_id` = tenant:message id), inserted by its
  first tap or inbox read with message_clicked embedded (outbox); a later one only `$inc`s its
  counter, so the event is written once however the taps race.
- An inbox read finds its message in the pipeline's `messages` (by `_id`, with the tenant).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.mongo import Document, find_for_tenant, insert_once, retry_busy
from services.messaging.adapters import engagement_events
from services.messaging.adapters.reports_mongo import MESSAGES, period
from services.messaging.domain import links
from services.messaging.domain.attribution import Candidate
from services.messaging.domain.links import Link
from services.messaging.domain.messages import Message

LINKS = "links"
ENGAGEMENTS = "engagements"
INDEXES = {
    LINKS: [IndexModel([("tenant_id", ASCENDING), ("member_id", ASCENDING)], name="member_links")],
    ENGAGEMENTS: [
        IndexModel(
            [("tenant_id", ASCENDING), ("member_id", ASCENDING), ("first_at", ASCENDING)],
            name="member_engagements",
        ),
        IndexModel([("tenant_id", ASCENDING), ("message_created_at", ASCENDING)], name="engaged_by_request"),
    ],
}
OUTBOX_COLLECTIONS = [ENGAGEMENTS]
_OF_MESSAGE = {
    f: 1 for f in ("member_id", "template_id", "channel", "staff_id", "store_id", "message_class")
} | {"created_at": 1}


def link_doc(link: Link) -> Document:
    return {
        "_id": link.token,
        "tenant_id": link.tenant_id,
        "message_id": link.message_id,
        "member_id": link.member_id,
        "template_id": link.template_id,
        "channel": link.channel,
        "staff_id": link.staff_id,
        "store_id": link.store_id,
        "message_class": link.message_class,
        "message_created_at": link.message_created_at,
        "url": link.url,
        "created_at": link.created_at,
    }


def link_from(d: Document) -> Link:
    return Link(
        token=d["_id"],
        tenant_id=d["tenant_id"],
        message_id=d["message_id"],
        member_id=d["member_id"],
        template_id=d["template_id"],
        channel=d["channel"],
        staff_id=d["staff_id"],
        store_id=d["store_id"],
        message_class=d["message_class"],
        message_created_at=d["message_created_at"],
        url=d["url"],
        created_at=d["created_at"],
    )


def _candidate(d: Document) -> Candidate:
    return Candidate(
        message_id=d["message_id"],
        template_id=d["template_id"],
        channel=d["channel"],
        staff_id=d["staff_id"],
        store_id=d["store_id"],
        message_class=d["message_class"],
        created_at=d["message_created_at"],
        clicked_at=d["first_at"],
    )


class MongoLinks:
    """The LinkBook the dispatcher renders links with, and the engagement records."""

    def __init__(
        self,
        db: AsyncDatabase[Document],
        topic: str,
        out: outbox.Outbox,
        public_base_url: str,
        secret: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._links = db[LINKS]
        self._engagements = db[ENGAGEMENTS]
        self._messages = db[MESSAGES]
        self._topic = topic
        self._outbox = out
        self._base = public_base_url.rstrip("/")
        self._secret = secret.encode()
        self._clock = clock

    def tracked_url(self, message: Message, url: str) -> tuple[str, str]:
        token = links.token_for(self._secret, message.id, links.checked_url(url))
        return token, f"{self._base}/r/{token}"

    async def save(self, message: Message, pairs: Sequence[tuple[str, str]]) -> None:
        now = self._clock()
        for token, url in pairs:  # a message has a link or two: one insert each, a duplicate is there
            await insert_once(self._links, link_doc(links.link_of(message, token, url, now)))

    async def find(self, token: str) -> Link | None:
        doc = await self._links.find_one({"_id": token})
        return link_from(doc) if doc else None

    async def of_message(self, tenant_id: str, message_id: str) -> Link | None:
        d = await find_for_tenant(self._messages, tenant_id, message_id, _OF_MESSAGE)
        if d is None:
            return None
        return Link(
            token="",
            tenant_id=tenant_id,
            message_id=message_id,
            member_id=d.get("member_id", ""),
            template_id=d.get("template_id", ""),
            channel=d.get("channel") or "",
            staff_id=d.get("staff_id") or "",
            store_id=d.get("store_id") or "",
            message_class=d.get("message_class", ""),
            message_created_at=d["created_at"],
            url="",
            created_at=d["created_at"],
        )

    async def engage(self, link: Link, at: datetime, user_agent: str) -> bool:
        counter = "clicks" if link.url else "reads"
        doc_id = f"{link.tenant_id}:{link.message_id}"
        first = {
            "_id": doc_id,
            "tenant_id": link.tenant_id,
            "message_id": link.message_id,
            "member_id": link.member_id,
            "template_id": link.template_id,
            "channel": link.channel,
            "staff_id": link.staff_id,
            "store_id": link.store_id,
            "message_class": link.message_class,
            "message_created_at": link.message_created_at,
            "first_at": at,
            "first_url": link.url,
            "last_at": at,
            "clicks": 0,
            "reads": 0,
            "user_agent": user_agent,
        } | {counter: 1}
        if await insert_once(
            self._engagements, first | outbox.embed(self._topic, engagement_events.clicked(link, at))
        ):
            self._outbox.wake()
            return True
        later: Document = {"$inc": {counter: 1}, "$max": {"last_at": at}}
        if user_agent:
            later["$set"] = {"user_agent": user_agent}
        await retry_busy(
            lambda: self._engagements.update_one({"_id": doc_id, "tenant_id": link.tenant_id}, later)
        )
        return False

    async def forget_member(self, tenant_id: str, member_id: str) -> None:
        """Erasure: the member's links go (a destination may carry what identifies them; a tap
        on one is then a 404), and what their browser said of itself; the counts stay."""
        await retry_busy(lambda: self._links.delete_many({"tenant_id": tenant_id, "member_id": member_id}))
        await retry_busy(
            lambda: self._engagements.update_many(
                {"tenant_id": tenant_id, "member_id": member_id},
                {"$set": {"user_agent": "", "first_url": ""}},
            )
        )

    async def clicked_between(
        self, tenant_id: str, member_id: str, start: datetime, end: datetime
    ) -> list[Candidate]:
        query = {"tenant_id": tenant_id, "member_id": member_id, "first_at": {"$gte": start, "$lte": end}}
        return [_candidate(d) async for d in self._engagements.find(query, {"_outbox": 0})]

    async def clicked_messages(
        self, tenant_id: str, since: datetime | None, until: datetime | None
    ) -> set[str]:
        query = {"tenant_id": tenant_id} | period("message_created_at", since, until)
        return {d["message_id"] async for d in self._engagements.find(query, {"message_id": 1})}
