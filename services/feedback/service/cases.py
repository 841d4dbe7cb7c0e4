"""Case use cases: read and list cases, acknowledge, start, close and reject them. Opening is in
opening.py, resolving and risk decisions in resolving.py, the evidence pack in evidence.py.

Every change of a case is ONE guarded write (`change_case`): read the case, let the domain
decide the new one (domain.transitions), save it with the facts it announces only if the case
is still at the version read; when another writer got there first, read again and decide again
(a few times, then UNAVAILABLE). A decision that changes nothing writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from chassis import fields
from chassis.errors import InvalidArgument, NotFound, Unavailable
from services.feedback.domain import transitions
from services.feedback.domain.cases import Case, CaseState
from services.feedback.domain.erasure import scrub_case
from services.feedback.domain.events import case_facts
from services.feedback.service.ports import CaseRepository, ReviewRepository

SAVE_ATTEMPTS = 5
LIST_DEFAULT = 50
LIST_MAX = 200

Decide = Callable[[Case], Case]
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Now, to the millisecond, as the store keeps it: a case reads back equal to what was
    decided, so a guarded write that re-reads compares like with like."""
    return to_millisecond(datetime.now(UTC))


def to_millisecond(at: datetime) -> datetime:
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def list_limit(limit: int) -> int:
    if not 0 <= limit <= LIST_MAX:
        raise InvalidArgument("limit", f"limit must be between 1 and {LIST_MAX}")
    return limit or LIST_DEFAULT


async def change_case(
    cases: CaseRepository,
    tenant_id: str,
    case_id: str,
    decide: Decide,
    at: datetime,
    first: Case | None = None,
) -> tuple[Case, Case]:
    """(the case as last read, the case as stored now): `decide` judged on the stored case and
    saved with its facts in one write guarded by the version read; judged again when the case
    changed meanwhile. `first` is a case already read (tried before reading again). A case whose
    member was erased stays scrubbed (domain.erasure): a step's note is not kept."""
    before = first
    for _ in range(SAVE_ATTEMPTS):
        if before is None:
            before = await cases.get(tenant_id, case_id)
            if before is None:
                raise NotFound(f"case {case_id} not found")
        after = decide(before)
        if before.erased_at is not None:  # its member was erased: what a step says goes too
            after = scrub_case(after, before.erased_at)
        if after is before:
            return before, after
        after = replace(after, version=before.version + 1)
        if await cases.save(after, before.version, case_facts(before, after, at)):
            return before, after
        before = None
    raise Unavailable("the case is changing too fast; try again")


class Cases:
    def __init__(self, cases: CaseRepository, reviews: ReviewRepository, clock: Clock = utc_now) -> None:
        self._cases = cases
        self._reviews = reviews
        self._clock = clock

    async def get(self, tenant_id: str, case_id: str) -> Case:
        found = await self._cases.get(tenant_id, case_id)
        if found is None:
            raise NotFound(f"case {case_id} not found")
        return found

    async def list_cases(
        self, tenant_id: str, state: str, store_id: str, member_id: str, limit: int
    ) -> list[Case]:
        wanted = fields.choice("state", state, CaseState) if state else None
        return await self._cases.find(
            tenant_id, wanted, store_id.strip(), member_id.strip(), list_limit(limit)
        )

    async def _change(self, tenant_id: str, case_id: str, decide: Callable[[Case, datetime], Case]) -> Case:
        at = self._clock()
        _, after = await change_case(self._cases, tenant_id, case_id, lambda c: decide(c, at), at)
        return after

    async def acknowledge(self, tenant_id: str, case_id: str, by: str, note: str) -> Case:
        """open -> acknowledged: the apology and first response (`note`), recorded."""
        return await self._change(tenant_id, case_id, lambda c, at: transitions.acknowledge(c, by, note, at))

    async def start(
        self,
        tenant_id: str,
        case_id: str,
        by: str,
        note: str,
        assign_store_id: str = "",
        assign_staff_id: str = "",
    ) -> Case:
        """acknowledged -> in progress, optionally assigned to a store or an assistant."""
        return await self._change(
            tenant_id,
            case_id,
            lambda c, at: transitions.start(c, by, note, at, assign_store_id, assign_staff_id),
        )

    async def close(self, tenant_id: str, case_id: str, by: str, satisfaction: int, note: str) -> Case:
        """follow-up -> closed, with the customer's satisfaction (1-5)."""
        return await self._change(
            tenant_id, case_id, lambda c, at: transitions.close(c, by, satisfaction, note, at)
        )

    async def reject(self, tenant_id: str, case_id: str, by: str, note: str) -> Case:
        """open / acknowledged / in progress -> rejected, with the reason."""
        return await self._change(tenant_id, case_id, lambda c, at: transitions.reject(c, by, note, at))
