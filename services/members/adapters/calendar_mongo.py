"""The daily calendar over the members collection.

Every replica runs it (entrypoints/calendar_worker.py), and RunCalendarDay can run any day
again, so each effect is keyed so that running a day twice, or on two replicas at once, does
it once:
- each announcement is a document in `calendar_events` whose `_id` names the member, the kind
  and the day, inserted with its event (outbox): a second insert of it fails on the `_id`;
- the yearly points expiry is a ledger change keyed by the member and the day
  (`expiry:<date>`, adapters/points_mongo.py), decided in a versioned update of the member;
- the tier review is a versioned update made only when the tier (or trailing spend) differs
  from what it now reads (adapters/tiers_mongo.py);
- the last day run only moves forward (`$max`), so a replica that lags cannot send the
  calendar back to days already done.
A day run twice at once counts each effect in one of the two runs' summaries.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from chassis import outbox
from chassis.cloudevents import Envelope
from chassis.mongo import Document, insert_once
from services.members.adapters import events
from services.members.adapters.mongo import MEMBERS
from services.members.adapters.points_mongo import MongoPointsLedger
from services.members.domain.calendar import birthday_days, dormant_windows, starts_a_month

CALENDAR_EVENTS = "calendar_events"
CALENDAR_STATE = "calendar_state"
# Members who may be told anything (segments use the same walls).
_REACHABLE: dict[str, Any] = {
    "blacklist": {"$exists": False},
    "erased": {"$exists": False},
    "merged_into": {"$exists": False},
}


class MongoCalendar:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        topic: str,
        out: outbox.Outbox,
        dormant_days: tuple[int, ...],
        ledger: MongoPointsLedger,
        review_tiers: Callable[[datetime], Awaitable[int]],
    ) -> None:
        self._ledger = ledger
        self._review_tiers = review_tiers  # service.tiers.TierReview.review_all
        self._members = db[MEMBERS]
        self._events = db[CALENDAR_EVENTS]
        self._state = db[CALENDAR_STATE]
        self._topic = topic
        self._outbox = out
        self._dormant_days = dormant_days

    async def run_day(self, today: date) -> dict[str, int]:
        """Announce today's birthdays, birthday months and dormancies, lapse points on 1 January
        and review tiers; return counts of what happened now (a second run counts nothing)."""
        counts = {"birthday_months_started": 0, "birthdays": 0, "dormant": 0, "points_expired": 0}
        midnight = datetime.combine(today, time(), tzinfo=UTC)
        if starts_a_month(today):
            async for m in self._members.find({"birthday.month": today.month} | _REACHABLE, {"tenant_id": 1}):
                counts["birthday_months_started"] += await self._announce(
                    f"birthday_month:{today:%Y-%m}:{m['_id']}",
                    events.birthday_month_started(tenant_id=m["tenant_id"], member_id=m["_id"], today=today),
                )
        for month, day in birthday_days(today):
            query = {"birthday.month": month, "birthday.day": day} | _REACHABLE
            async for m in self._members.find(query, {"tenant_id": 1}):
                counts["birthdays"] += await self._announce(
                    f"birthday:{today.year}:{m['_id']}",
                    events.birthday(tenant_id=m["tenant_id"], member_id=m["_id"], today=today),
                )
        for window in dormant_windows(today, self._dormant_days):
            query = {"stats.last_purchase_at": {"$gte": window.start, "$lt": window.end}} | _REACHABLE
            async for m in self._members.find(query, {"tenant_id": 1, "stats.last_purchase_at": 1}):
                last: datetime = m["stats"]["last_purchase_at"]
                counts["dormant"] += await self._announce(
                    f"dormant:{window.days}:{last.isoformat()}:{m['_id']}",
                    events.dormant(
                        tenant_id=m["tenant_id"], member_id=m["_id"], days=window.days, last_purchase_at=last
                    ),
                )
        if (today.month, today.day) == (1, 1):
            holders = {"points_balance": {"$gt": 0}, "merged_into": {"$exists": False}}
            async for m in self._members.find(holders, {"tenant_id": 1}):
                counts["points_expired"] += bool(
                    await self._ledger.expire(m["tenant_id"], m["_id"], midnight)
                )
        counts["tiers_changed"] = await self._review_tiers(midnight)
        await self._done(today)
        return counts

    async def _done(self, today: date) -> None:
        """Record `today` as run unless a later day is (ISO dates order as strings)."""
        for _ in range(2):  # two first upserts at once: one inserts, the other then updates
            try:
                await self._state.update_one(
                    {"_id": "last_day"}, {"$max": {"day": today.isoformat()}}, upsert=True
                )
                return
            except DuplicateKeyError:
                continue

    async def last_day(self) -> date | None:
        doc = await self._state.find_one({"_id": "last_day"})
        return date.fromisoformat(doc["day"]) if doc else None

    async def _announce(self, key: str, event: Envelope) -> int:
        doc = {"_id": key, "tenant_id": event.tenant_id, "at": datetime.now(UTC)} | outbox.embed(
            self._topic, event
        )
        if not await insert_once(self._events, doc):
            return 0
        self._outbox.wake()
        return 1
