"""Background jobs over a segment (issue a template to it, or copy it in as an audience).

A job document keeps the last member done (`cursor`) and its counters, written after every
batch; a restarted job goes on after the cursor. Members of the batch in flight when it
stopped are done again, which is harmless: issues are idempotent per (job, member).

Several replicas run the job loop. A lease on the job (renewed with every batch) keeps one
of them on it, and a batch is recorded only by an update conditional on the cursor it
started from, so even two replicas on one job count each batch once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from chassis.mongo import Document, find_for_tenant, insert_once

JOBS = "segment_jobs"


class MongoJobs:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._jobs = db[JOBS]

    async def start(self, job: Document) -> tuple[Document, bool]:
        """Create it, or return the job already there with this id (created=False)."""
        if await insert_once(self._jobs, job):
            return job, True
        existing = await self._jobs.find_one({"_id": job["_id"]})
        assert existing is not None
        return existing, False

    async def get(self, tenant_id: str, job_id: str) -> Document | None:
        return await find_for_tenant(self._jobs, tenant_id, job_id)

    async def running(self) -> list[Document]:
        return await self._jobs.find({"state": "running"}).to_list()

    async def claim(self, job_id: str, holder: str, now: datetime, lease: timedelta) -> Document | None:
        """The running job, now leased to `holder`; None when another live holder has it."""
        return await self._jobs.find_one_and_update(
            {
                "_id": job_id,
                "state": "running",
                "$or": [{"lease_holder": holder}, {"lease_until": {"$lte": now}}, {"lease_until": None}],
            },
            {"$set": {"lease_holder": holder, "lease_until": now + lease}},
            return_document=ReturnDocument.AFTER,
        )

    async def advance(self, job_id: str, from_cursor: str, cursor: str, counts: dict[str, int]) -> bool:
        """Record a batch done from `from_cursor`; False when the job moved on without us."""
        inc: dict[str, Any] = {k: v for k, v in counts.items() if v}
        change: dict[str, Any] = {"$set": {"cursor": cursor}}
        if inc:
            change["$inc"] = inc
        done = await self._jobs.update_one({"_id": job_id, "state": "running", "cursor": from_cursor}, change)
        return done.modified_count == 1

    async def finish(self, job_id: str, state: str, at: datetime, detail: str = "") -> None:
        await self._jobs.update_one(
            {"_id": job_id, "state": "running"},
            {"$set": {"state": state, "finished_at": at, "detail": detail}},
        )
