"""Issue a template to a whole segment, or copy a segment in as a template's audience.

Runs in the background: streams the segment from members (never all ids in memory), works a
batch at a time, writes progress after each batch, and after a restart goes on from there.
Every issue is idempotent per (job, member), so a member the stopped run already served is
not served twice; stock is respected because each issue takes a stock number like a claim.
Replicas share the work by a lease per job, and a batch counts only if the job's cursor is
still where the batch started (see adapters/jobs_mongo.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

from ulid import ULID

from chassis import logs
from chassis.errors import InvalidArgument, NotFound
from services.coupons.domain.coupons import Outcome, Source, deterministic_id
from services.coupons.domain.jobs import Job, JobKind, JobState
from services.coupons.domain.templates import Template
from services.coupons.service.issuing import Issuer
from services.coupons.service.ports import (
    AudienceProjection,
    JobRepository,
    SegmentMembers,
    TemplateRepository,
)

log = logs.get(__name__)
BATCH = 100
PARALLEL = 8  # issues in flight at once within a batch
LEASE = timedelta(seconds=60)  # renewed with every batch; a dead replica's job moves on after it


class JobRunner:
    def __init__(
        self,
        jobs: JobRepository,
        members: SegmentMembers,
        issuer: Issuer,
        audience: AudienceProjection,
        templates: TemplateRepository,
        idle_seconds: float = 5.0,
    ) -> None:
        self._jobs = jobs
        self._members = members
        self._issuer = issuer
        self._audience = audience
        self._templates = templates
        self._idle_seconds = idle_seconds
        self._wake = asyncio.Event()
        self._me = str(ULID())

    async def start_issue(self, tenant_id: str, template_id: str, segment_id: str, job_key: str) -> Job:
        job, _ = await self.start_issue_once(tenant_id, template_id, segment_id, job_key)
        return job

    async def start_issue_once(
        self, tenant_id: str, template_id: str, segment_id: str, job_key: str
    ) -> tuple[Job, bool]:
        """The job for `job_key`, started now (True) or before (False)."""
        for field, value in (("segment_id", segment_id), ("job_key", job_key)):
            if not value.strip() or len(value) > 128:
                raise InvalidArgument(field, f"{field} is required (up to 128 characters)")
        await self._issuer.template(tenant_id, template_id)  # NOT_FOUND for a foreign or missing template
        job, created = await self._jobs.start(
            Job(
                deterministic_id(tenant_id, "issue-job", job_key),
                tenant_id,
                JobKind.ISSUE,
                template_id,
                segment_id,
                started_at=datetime.now(UTC),
            )
        )
        self._wake.set()
        return job, created

    async def issue_job(self, tenant_id: str, job_id: str) -> Job:
        """The tenant's issue job; NOT_FOUND for another tenant's, a missing or an audience job."""
        job = await self._jobs.get(tenant_id, job_id)
        if job is None or job.kind is not JobKind.ISSUE:
            raise NotFound(f"issue job {job_id} not found")
        return job

    async def start_audience(self, template: Template) -> None:
        job_id = deterministic_id(template.tenant_id, "audience-job", template.id)
        await self._jobs.start(
            Job(
                job_id,
                template.tenant_id,
                JobKind.AUDIENCE,
                template.id,
                template.audience.segment_id,
                started_at=datetime.now(UTC),
            )
        )
        self._wake.set()

    async def run(self) -> None:
        """Work every running job; then sleep until a job starts (or a while passes)."""
        while True:
            self._wake.clear()
            try:
                for job in await self._jobs.running():
                    claimed = await self._jobs.claim(job.id, self._me, datetime.now(UTC), LEASE)
                    if claimed is not None:
                        await self._run(claimed)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("segment job pass failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._idle_seconds)

    async def _run(self, job: Job) -> None:
        batch: list[str] = []
        cursor = job.cursor
        try:
            async for member_id in self._members.segment_members(job.tenant_id, job.segment_id, cursor):
                batch.append(member_id)
                if len(batch) >= BATCH:
                    if not await self._batch(job, cursor, batch):
                        return await self._jobs.finish(job.id, JobState.DONE, datetime.now(UTC), "sold out")
                    cursor, batch = batch[-1], []
            if batch and not await self._batch(job, cursor, batch):
                return await self._jobs.finish(job.id, JobState.DONE, datetime.now(UTC), "sold out")
        except NotFound as exc:
            return await self._jobs.finish(job.id, JobState.FAILED, datetime.now(UTC), exc.message)
        except JobMovedOn:
            return None
        if job.kind is JobKind.AUDIENCE:
            await self._templates.set_audience_ready(job.tenant_id, job.template_id)
        await self._jobs.finish(job.id, JobState.DONE, datetime.now(UTC))

    async def _batch(self, job: Job, cursor: str, batch: list[str]) -> bool:
        """Serve one batch after `cursor` and record it; False once the template is sold out."""
        counts = {"members_seen": len(batch), "issued": 0, "skipped": 0}
        sold_out = False
        if job.kind is JobKind.AUDIENCE:
            await self._audience.add_to_segment(job.tenant_id, job.template_id, batch)
        else:
            for start in range(0, len(batch), PARALLEL):
                results = await asyncio.gather(
                    *(
                        self._issuer.issue(
                            job.tenant_id,
                            job.template_id,
                            member_id,
                            source=Source.JOB,
                            key=f"{job.id}:{member_id}",
                            source_ref=job.id,
                        )
                        for member_id in batch[start : start + PARALLEL]
                    )
                )
                for r in results:
                    counts["issued" if r.outcome is Outcome.ISSUED else "skipped"] += 1
                    sold_out = sold_out or r.outcome is Outcome.SOLD_OUT
        if not await self._jobs.advance(job.id, cursor, batch[-1], counts):
            raise JobMovedOn(job.id)
        await self._jobs.claim(job.id, self._me, datetime.now(UTC), LEASE)  # renew
        return not sold_out


class JobMovedOn(Exception):
    """Another replica recorded the batch first (our lease lapsed): leave the job to it."""
