"""Background jobs over a segment (issue a template to it, or copy it in as an audience).

A job document keeps the last member done (`cursor`) and its counters, written after every
batch; a restarted job goes on after the cursor. Members of the batch in flight when it
stopped are done again, which is harmless: issues are idempotent per (job, member).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

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

    async def advance(self, job_id: str, cursor: str, counts: dict[str, int]) -> None:
        inc: dict[str, Any] = {k: v for k, v in counts.items() if v}
        change: dict[str, Any] = {"$set": {"cursor": cursor}}
        if inc:
            change["$inc"] = inc
        await self._jobs.update_one({"_id": job_id, "state": "running"}, change)

    async def finish(self, job_id: str, state: str, at: datetime, detail: str = "") -> None:
        await self._jobs.update_one(
            {"_id": job_id, "state": "running"},
            {"$set": {"state": state, "finished_at": at, "detail": detail}},
        )
