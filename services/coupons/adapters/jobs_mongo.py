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
from services.coupons.domain.jobs import Job, JobKind, JobState

JOBS = "segment_jobs"


class MongoJobs:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._jobs = db[JOBS]

    async def start(self, job: Job) -> tuple[Job, bool]:
        """Create it, or return the job already there with this id (created=False)."""
        if await insert_once(self._jobs, _doc(job)):
            return job, True
        existing = await self._jobs.find_one({"_id": job.id, "tenant_id": job.tenant_id})
        assert existing is not None
        return _job(existing), False

    async def get(self, tenant_id: str, job_id: str) -> Job | None:
        doc = await find_for_tenant(self._jobs, tenant_id, job_id)
        return _job(doc) if doc else None

    async def running(self) -> list[Job]:
        return [_job(d) for d in await self._jobs.find({"state": JobState.RUNNING.value}).to_list()]

    async def claim(self, job_id: str, holder: str, now: datetime, lease: timedelta) -> Job | None:
        """The running job, now leased to `holder`; None when another live holder has it."""
        doc = await self._jobs.find_one_and_update(
            {
                "_id": job_id,
                "state": JobState.RUNNING.value,
                "$or": [{"lease_holder": holder}, {"lease_until": {"$lte": now}}, {"lease_until": None}],
            },
            {"$set": {"lease_holder": holder, "lease_until": now + lease}},
            return_document=ReturnDocument.AFTER,
        )
        return _job(doc) if doc else None

    async def advance(self, job_id: str, from_cursor: str, cursor: str, counts: dict[str, int]) -> bool:
        """Record a batch done from `from_cursor`; False when the job moved on without us."""
        inc: dict[str, Any] = {k: v for k, v in counts.items() if v}
        change: dict[str, Any] = {"$set": {"cursor": cursor}}
        if inc:
            change["$inc"] = inc
        done = await self._jobs.update_one(
            {"_id": job_id, "state": JobState.RUNNING.value, "cursor": from_cursor}, change
        )
        return done.modified_count == 1

    async def finish(self, job_id: str, state: JobState, at: datetime, detail: str = "") -> None:
        await self._jobs.update_one(
            {"_id": job_id, "state": JobState.RUNNING.value},
            {"$set": {"state": state.value, "finished_at": at, "detail": detail}},
        )


def _doc(j: Job) -> Document:
    return {
        "_id": j.id,
        "tenant_id": j.tenant_id,
        "kind": j.kind.value,
        "template_id": j.template_id,
        "segment_id": j.segment_id,
        "state": j.state.value,
        "cursor": j.cursor,
        "members_seen": j.members_seen,
        "issued": j.issued,
        "skipped": j.skipped,
        "detail": j.detail,
        "started_at": j.started_at,
    }


def _job(d: Document) -> Job:
    return Job(
        id=d["_id"],
        tenant_id=d["tenant_id"],
        kind=JobKind(d["kind"]),
        template_id=d["template_id"],
        segment_id=d["segment_id"],
        started_at=d["started_at"],
        state=JobState(d["state"]),
        cursor=d.get("cursor", ""),
        members_seen=d.get("members_seen", 0),
        issued=d.get("issued", 0),
        skipped=d.get("skipped", 0),
        detail=d.get("detail", ""),
        finished_at=d.get("finished_at"),
    )
