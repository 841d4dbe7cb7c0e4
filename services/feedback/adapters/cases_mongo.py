"""Complaint cases in MongoDB: one document per case (`_id` = the case's id), the facts each
write announces embedded in that same single-document write (outbox), so none is lost or sent
for a write that did not happen.

An insert is once per id: the `_id` index decides, and the loser reads and returns the stored
case, its facts never written again. A save is one update conditional on the version read
(`{_id, tenant_id, version}` in the filter) that sets the case's fields and adds its facts'
events (`outbox.embed_set`), so a stale save writes and announces nothing, and events not yet
relayed stay in the document. Every query names the tenant, except the clock's three
(`overdue`, `follow_ups_due`, `settling`): they look at every tenant's cases, each by a range
on an index of its own over a field the write derives (documents.py).
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
from services.feedback.adapters.documents import (
    CASE_FIGURES_PROJECTION,
    case_doc,
    case_figures_from,
    case_from,
)
from services.feedback.domain.cases import Case, CaseState
from services.feedback.domain.events import CaseFact
from services.feedback.domain.reports import CaseFigures

CASES = "cases"
_NEWEST = [("opened_at", DESCENDING), ("_id", DESCENDING)]
_OLDEST = [("opened_at", ASCENDING), ("_id", ASCENDING)]
INDEXES = {
    CASES: [
        IndexModel(
            [("tenant_id", ASCENDING), ("store_id", ASCENDING), ("opened_at", DESCENDING)], name="store_cases"
        ),
        IndexModel(
            [("tenant_id", ASCENDING), ("member_id", ASCENDING), ("opened_at", DESCENDING)],
            name="member_cases",
        ),
        IndexModel(
            [("tenant_id", ASCENDING), ("state", ASCENDING), ("opened_at", DESCENDING)], name="state_cases"
        ),
        IndexModel([("next_due", ASCENDING)], name="sla_due"),
        IndexModel([("state", ASCENDING), ("follow_up_at", ASCENDING)], name="follow_up_due"),
        IndexModel([("pending_at", ASCENDING)], name="settling"),
        IndexModel([("tenant_id", ASCENDING), ("opened_at", ASCENDING)], name="tenant_cases_opened"),
    ],
}
OUTBOX_COLLECTIONS = [CASES]


class MongoCases:
    def __init__(self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox) -> None:
        self._cases = db[CASES]
        self._topic = topic
        self._outbox = out

    async def insert(self, case: Case, facts: Sequence[CaseFact]) -> tuple[Case, bool]:
        """Stored with its facts in one insert; the case stored first when the id is taken."""
        doc = case_doc(case)
        if facts:
            doc |= outbox.embed(self._topic, *events.envelopes(facts))
        try:
            await retry_busy(lambda: self._cases.insert_one(doc))
        except DuplicateKeyError:
            stored = await find_for_tenant(self._cases, case.tenant_id, case.id)
            if stored is None:  # the id is another tenant's: ids are derived with the tenant
                raise Unavailable(f"case id {case.id} is taken; try again") from None
            return case_from(stored), False
        if facts:
            self._outbox.wake()
        return case, True

    async def get(self, tenant_id: str, case_id: str) -> Case | None:
        doc = await find_for_tenant(self._cases, tenant_id, case_id)
        return case_from(doc) if doc else None

    async def save(self, case: Case, expected_version: int, facts: Sequence[CaseFact]) -> bool:
        fields = case_doc(case)
        del fields["_id"]
        if facts:
            fields |= outbox.embed_set(self._topic, *events.envelopes(facts))
        result = await retry_busy(
            lambda: self._cases.update_one(
                {"_id": case.id, "tenant_id": case.tenant_id, "version": expected_version}, {"$set": fields}
            )
        )
        if result.matched_count != 1:
            return False
        if facts:
            self._outbox.wake()
        return True

    async def find(
        self, tenant_id: str, state: CaseState | None, store_id: str, member_id: str, limit: int
    ) -> list[Case]:
        query: Document = {"tenant_id": tenant_id}
        if state is not None:
            query["state"] = state.value
        if store_id:
            query["store_id"] = store_id
        if member_id:
            query["member_id"] = member_id
        return [case_from(d) async for d in self._cases.find(query).sort(_NEWEST).limit(limit)]

    async def of_member(self, tenant_id: str, member_id: str) -> list[Case]:
        found = self._cases.find({"tenant_id": tenant_id, "member_id": member_id}).sort(_OLDEST)
        return [case_from(d) async for d in found]

    async def overdue(self, now: datetime, limit: int) -> list[Case]:
        """System-wide (every tenant), for the case clock: cases whose `next_due` — the earliest
        SLA due not recorded as breached and not met in time (documents.next_due) — is before
        `now`, earliest first, on the `sla_due` index. A case whose every SLA is recorded or
        can no longer be missed has none and is not in the index's range."""
        found = self._cases.find({"next_due": {"$lt": now}}).sort("next_due", ASCENDING).limit(limit)
        return [case_from(d) async for d in found]

    async def follow_ups_due(self, now: datetime, limit: int) -> list[Case]:
        """System-wide (every tenant), for the case clock: resolved cases whose follow-up day is
        at or before `now`, earliest first, on the `follow_up_due` index."""
        found = (
            self._cases.find({"state": CaseState.RESOLVED.value, "follow_up_at": {"$lte": now}})
            .sort("follow_up_at", ASCENDING)
            .limit(limit)
        )
        return [case_from(d) async for d in found]

    async def settling(self, decided_before: datetime, limit: int) -> list[Case]:
        """System-wide (every tenant), for the case clock: cases with a pending settlement
        decided before `decided_before` (`pending_at`), earliest first, on the `settling` index."""
        found = (
            self._cases.find({"pending_at": {"$lt": decided_before}})
            .sort("pending_at", ASCENDING)
            .limit(limit)
        )
        return [case_from(d) async for d in found]

    async def opened_between(
        self, tenant_id: str, start: datetime, end: datetime, store_id: str, limit: int
    ) -> list[CaseFigures]:
        """For reports: the tenant's cases opened in [start, end), without their timelines, on
        `tenant_cases_opened` (or `store_cases` for one store)."""
        query: Document = {"tenant_id": tenant_id, "opened_at": {"$gte": start, "$lt": end}}
        if store_id:
            query["store_id"] = store_id
        found = self._cases.find(query, CASE_FIGURES_PROJECTION).limit(limit)
        return [case_figures_from(d) async for d in found]
