"""Satisfaction surveys in MongoDB: one document per survey (`_id` = the survey's id, derived
from its purchase), the facts each later write announces embedded in that same write (outbox).

An insert is once per id: the `_id` index decides which of two deliveries of purchase_made
stored the survey, and the loser reads and returns the stored one (its own token dropped). A
token is unique per tenant (`token` index), so a link names one survey. A save is one update
conditional on the version read (`{_id, tenant_id, version}` in the filter) that sets the
survey's fields and adds its facts' events, so a stale save writes and announces nothing.
Every query names the tenant, except the clock's `due`, which looks at every tenant's
scheduled surveys by a range on its own index over `falls_due_at` (documents.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from chassis import outbox
from chassis.errors import Unavailable
from chassis.mongo import Document, find_for_tenant, retry_busy
from services.feedback.adapters import events
from services.feedback.adapters.documents import survey_doc, survey_from
from services.feedback.domain.events import SurveyFact
from services.feedback.domain.surveys import Survey, SurveyState

SURVEYS = "surveys"
_NEWEST = [("purchased_at", DESCENDING), ("_id", DESCENDING)]
INDEXES = {
    SURVEYS: [
        IndexModel([("tenant_id", ASCENDING), ("token", ASCENDING)], name="survey_token", unique=True),
        IndexModel(
            [("tenant_id", ASCENDING), ("member_id", ASCENDING), ("purchased_at", DESCENDING)],
            name="member_surveys",
        ),
        IndexModel(
            [("tenant_id", ASCENDING), ("store_id", ASCENDING), ("purchased_at", DESCENDING)],
            name="store_surveys",
        ),
        IndexModel(
            [("tenant_id", ASCENDING), ("state", ASCENDING), ("purchased_at", DESCENDING)],
            name="state_surveys",
        ),
        IndexModel([("falls_due_at", ASCENDING)], name="survey_due"),
    ],
}
OUTBOX_COLLECTIONS = [SURVEYS]


class MongoSurveys:
    def __init__(self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox) -> None:
        self._surveys = db[SURVEYS]
        self._topic = topic
        self._outbox = out

    async def insert(self, survey: Survey) -> tuple[Survey, bool]:
        """Stored once per id; the survey stored first when the id is taken."""
        try:
            await retry_busy(lambda: self._surveys.insert_one(survey_doc(survey)))
        except DuplicateKeyError:
            stored = await find_for_tenant(self._surveys, survey.tenant_id, survey.id)
            if stored is None:  # the token was drawn twice (never, at 192 bits), or another tenant's id
                raise Unavailable(f"survey {survey.id} could not be stored; try again") from None
            return survey_from(stored), False
        return survey, True

    async def get(self, tenant_id: str, survey_id: str) -> Survey | None:
        doc = await find_for_tenant(self._surveys, tenant_id, survey_id)
        return survey_from(doc) if doc else None

    async def by_token(self, tenant_id: str, token: str) -> Survey | None:
        doc = await self._surveys.find_one({"tenant_id": tenant_id, "token": token})
        return survey_from(doc) if doc else None

    async def save(self, survey: Survey, expected_version: int, facts: Sequence[SurveyFact]) -> bool:
        fields = survey_doc(survey)
        del fields["_id"]
        if facts:
            fields |= outbox.embed_set(self._topic, *events.envelopes(facts))
        result = await retry_busy(
            lambda: self._surveys.update_one(
                {"_id": survey.id, "tenant_id": survey.tenant_id, "version": expected_version},
                {"$set": fields},
            )
        )
        if result.matched_count != 1:
            return False
        if facts:
            self._outbox.wake()
        return True

    async def find(
        self, tenant_id: str, member_id: str, store_id: str, state: SurveyState | None, limit: int
    ) -> list[Survey]:
        query: Document = {"tenant_id": tenant_id}
        if member_id:
            query["member_id"] = member_id
        if store_id:
            query["store_id"] = store_id
        if state is not None:
            query["state"] = state.value
        return [survey_from(d) async for d in self._surveys.find(query).sort(_NEWEST).limit(limit)]

    async def of_member(self, tenant_id: str, member_id: str) -> list[Survey]:
        """Every survey of the member, on `member_surveys`."""
        found = self._surveys.find({"tenant_id": tenant_id, "member_id": member_id}).sort(_NEWEST)
        return [survey_from(d) async for d in found]

    async def due(self, now: datetime, limit: int) -> list[Survey]:
        """System-wide (every tenant), for the case clock: scheduled surveys whose due time is
        at or before `now`, earliest first, on the `survey_due` index (a survey due or answered
        has no `falls_due_at` and is not in its range)."""
        found = (
            self._surveys.find({"falls_due_at": {"$lte": now}}).sort("falls_due_at", ASCENDING).limit(limit)
        )
        return [survey_from(d) async for d in found]
