"""Background jobs over a segment: issue a template to every member of it, or copy it in as a
template's audience. A job keeps the last member done (`cursor`) and its counters, so a
restarted job goes on after the cursor. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class JobKind(StrEnum):
    ISSUE = "issue"  # a coupon of the template to each member of the segment
    AUDIENCE = "audience"  # the segment copied in as the template's audience


class JobState(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class Job:
    id: str
    tenant_id: str
    kind: JobKind
    template_id: str
    segment_id: str
    started_at: datetime
    state: JobState = JobState.RUNNING
    cursor: str = ""  # the last member id a recorded batch ended with
    members_seen: int = 0
    issued: int = 0
    skipped: int = 0
    detail: str = ""
    finished_at: datetime | None = None
