"""The case clock: SLA breaches, follow-up days, resolutions a crash left half-done, and (when
wired with them) satisfaction surveys falling due and threads' late first responses.

`run(now)` (RunCaseClock, and the service's own loop every minute, on any number of replicas)
asks the store for cases with an SLA past due and not recorded, records each breach with its
complaint_sla_breached in one write guarded by the case's version — so each breach is recorded,
and announced, once, however many replicas run it at once — and moves resolved cases whose
follow-up day has come to follow-up (complaint_follow_up_due), the same way. Then it finishes
settlements decided more than a minute ago and still pending (resolving.py). One case that
fails does not hold up the others; it is tried again on the next run. Surveys whose day came
are recorded due with their survey_due, and threads whose first response is late recorded
breached with their thread_sla_breached, each once the same way (surveys.py, threads.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chassis import logs
from services.feedback.domain import transitions
from services.feedback.domain.cases import Case, CaseState
from services.feedback.service.cases import change_case
from services.feedback.service.ports import CaseRepository
from services.feedback.service.resolving import Resolutions
from services.feedback.service.surveys import Surveys
from services.feedback.service.threads import Threads

log = logs.get(__name__)

BATCH = 500
SETTLING_GRACE = timedelta(minutes=1)  # a resolve in flight finishes by itself well within it


@dataclass(frozen=True)
class ClockSummary:
    breaches: int = 0
    follow_ups_due: int = 0
    resolutions_finished: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # case id -> why, tried again next run
    surveys_due: int = 0
    thread_breaches: int = 0


def _follow_up(c: Case, now: datetime) -> Case:
    due = c.state is CaseState.RESOLVED and c.follow_up_at is not None and c.follow_up_at <= now
    return transitions.follow_up_due(c, now) if due else c


class CaseClock:
    def __init__(
        self,
        cases: CaseRepository,
        resolutions: Resolutions,
        surveys: Surveys | None = None,
        threads: Threads | None = None,
    ) -> None:
        self._cases = cases
        self._resolutions = resolutions
        self._surveys = surveys
        self._threads = threads

    async def run(self, now: datetime, limit: int = BATCH) -> ClockSummary:
        failed: dict[str, str] = {}
        breaches = 0
        for case in await self._cases.overdue(now, limit):
            try:
                before, after = await change_case(
                    self._cases,
                    case.tenant_id,
                    case.id,
                    lambda c: transitions.record_breaches(c, now),
                    now,
                    case,
                )
            except Exception as exc:  # the store or contention: next run
                failed[case.id] = str(exc) or type(exc).__name__
                continue
            breaches += len(after.sla_breaches) - len(before.sla_breaches)
        follow_ups = 0
        for case in await self._cases.follow_ups_due(now, limit):
            try:
                before, after = await change_case(
                    self._cases, case.tenant_id, case.id, lambda c: _follow_up(c, now), now, case
                )
            except Exception as exc:  # the store or contention: next run
                failed[case.id] = str(exc) or type(exc).__name__
                continue
            if after is not before:
                follow_ups += 1
        finished, unfinished = await self._resolutions.finish_settling(now - SETTLING_GRACE, limit)
        failed.update(unfinished)
        surveys_due = thread_breaches = 0
        if self._surveys is not None:
            due = await self._surveys.fall_due(now, limit)
            surveys_due = due.due
            failed.update(due.failed)
        if self._threads is not None:
            late = await self._threads.record_breaches(now, limit)
            thread_breaches = late.breaches
            failed.update(late.failed)
        if failed:
            log.warning("case clock left cases (or surveys, threads) for the next run", failed=len(failed))
        return ClockSummary(breaches, follow_ups, finished, failed, surveys_due, thread_breaches)
