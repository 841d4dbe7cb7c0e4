"""The daily calendar's store: whom it speaks of, what it has announced, the days it has run
(the use case is service/calendar.py).

- each announcement is a document in `calendar_events` whose `_id` is the notice's key (the
  member, the kind and the day), inserted with its event (outbox): a second insert of it fails
  on the `_id`, so a day run twice, or on two replicas at once, announces it once;
- the last day run only moves forward (`$max`), so a replica that lags cannot send the
  calendar back to days already done: one document per tenant with a programme of its own
  (`tenant:<id>`, its local days), and `last_day` for all the other tenants (UTC days; the one
  document there was before tenants had days of their own).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from chassis import outbox
from chassis.mongo import Document, insert_once
from services.members.adapters import events
from services.members.adapters.mongo import MEMBERS, in_tenants
from services.members.domain.calendar import DormantWindow, Notice
from services.members.domain.programme_versions import Tenants

CALENDAR_EVENTS = "calendar_events"
CALENDAR_STATE = "calendar_state"
_DEFAULTS = "last_day"  # the last UTC day run for the tenants without a programme of their own
_TENANT = "tenant:"
# Members who may be told anything (segments use the same walls).
_REACHABLE: dict[str, Any] = {
    "blacklist": {"$exists": False},
    "erased": {"$exists": False},
    "merged_into": {"$exists": False},
}


class MongoCalendar:
    def __init__(self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox) -> None:
        self._members = db[MEMBERS]
        self._events = db[CALENDAR_EVENTS]
        self._state = db[CALENDAR_STATE]
        self._topic = topic
        self._outbox = out

    async def born_in(self, month: int, tenants: Tenants) -> AsyncIterator[tuple[str, str]]:
        query = {"birthday.month": month} | _REACHABLE | in_tenants(tenants)
        async for m in self._members.find(query, {"tenant_id": 1}):
            yield m["tenant_id"], m["_id"]

    async def born_on(self, month: int, day: int, tenants: Tenants) -> AsyncIterator[tuple[str, str]]:
        query = {"birthday.month": month, "birthday.day": day} | _REACHABLE | in_tenants(tenants)
        async for m in self._members.find(query, {"tenant_id": 1}):
            yield m["tenant_id"], m["_id"]

    async def last_bought_in(
        self, window: DormantWindow, tenants: Tenants
    ) -> AsyncIterator[tuple[str, str, datetime]]:
        query = (
            {"stats.last_purchase_at": {"$gte": window.start, "$lt": window.end}}
            | _REACHABLE
            | in_tenants(tenants)
        )
        async for m in self._members.find(query, {"tenant_id": 1, "stats.last_purchase_at": 1}):
            yield m["tenant_id"], m["_id"], m["stats"]["last_purchase_at"]

    async def announce(self, notice: Notice) -> bool:
        event = events.calendar_notice(notice)
        doc = {"_id": notice.key, "tenant_id": event.tenant_id, "at": datetime.now(UTC)} | outbox.embed(
            self._topic, event
        )
        if not await insert_once(self._events, doc):
            return False
        self._outbox.wake()
        return True

    async def done(self, today: date, tenants: Tenants) -> None:
        """ISO dates order as strings, so `$max` keeps the latest."""
        keys = [_DEFAULTS] if tenants.all_but else [f"{_TENANT}{t}" for t in sorted(tenants.names)]
        for key in keys:
            for _ in range(2):  # two first upserts at once: one inserts, the other then updates
                try:
                    await self._state.update_one(
                        {"_id": key}, {"$max": {"day": today.isoformat()}}, upsert=True
                    )
                    break
                except DuplicateKeyError:
                    continue

    async def last_days(self) -> tuple[dict[str, date], date | None]:
        tenants: dict[str, date] = {}
        defaults: date | None = None
        async for doc in self._state.find({}):
            key, day = str(doc["_id"]), date.fromisoformat(doc["day"])
            if key == _DEFAULTS:
                defaults = day
            elif key.startswith(_TENANT):
                tenants[key.removeprefix(_TENANT)] = day
        return tenants, defaults
