"""Erasing a member (members' member_erased): their words and images go from every review,
case, thread and survey feedback holds of them; the figures reports count stay
(domain.erasure says what goes and what stays).

`erase` first marks the member erased (one insert-once write), then scrubs each of their
aggregates with one write guarded by the version read (read again and scrubbed again when
another writer got there first). A scrub of an aggregate already scrubbed writes nothing, so
member_erased delivered again changes nothing, and a crash midway leaves the marker and a
part scrubbed: the redelivery, committed only after `erase` returns, finishes the rest.

Nothing written later brings content back:
- a change to an aggregate already scrubbed is refused (a review's reply or amendment, a
  thread's message, a survey's answer: domain) or scrubbed again (a case's steps, below);
- a new review, case or thread for an erased member is refused (`refuse_if_erased`), and a new
  survey not scheduled;
- what is created from content already scrubbed (the case a late review_posted or
  survey_answered opens) is created scrubbed (service/opening.py);
- a write racing the erasure calls `settle` after its own write: the marker is written before
  the scrub reads, so either the write's `settle` finds the marker and scrubs, or the
  erasure's scrub finds the write.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol, TypeVar

from chassis.errors import FailedPrecondition, Unavailable
from services.feedback.domain.erasure import scrub_case, scrub_review, scrub_survey, scrub_thread
from services.feedback.service.cases import SAVE_ATTEMPTS, Clock, utc_now
from services.feedback.service.ports import (
    CaseRepository,
    ErasureRepository,
    ReviewRepository,
    SurveyRepository,
    ThreadRepository,
)


class _Versioned(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def version(self) -> int: ...


A = TypeVar("A", bound=_Versioned)


@dataclass(frozen=True)
class Scrubbed:
    """How many of each the erasure changed now (0 everywhere: it was done already)."""

    reviews: int = 0
    cases: int = 0
    threads: int = 0
    surveys: int = 0


async def _scrub_each(
    found: list[A],
    get: Callable[[str], Awaitable[A | None]],
    scrub: Callable[[A], A],
    save: Callable[[A, int], Awaitable[bool]],
) -> int:
    """Scrub each aggregate with a write guarded by its version: how many changed."""
    changed = 0
    for first in found:
        before: A | None = first
        for _ in range(SAVE_ATTEMPTS):
            if before is None:
                before = await get(first.id)
                if before is None:
                    break
            after = scrub(before)
            if after is before:
                break
            after = replace(after, version=before.version + 1)  # type: ignore[type-var]
            if await save(after, before.version):
                changed += 1
                break
            before = None
        else:
            raise Unavailable("the member's feedback is changing too fast; erasure will be retried")
    return changed


class Erasure:
    def __init__(
        self,
        erasures: ErasureRepository,
        reviews: ReviewRepository,
        cases: CaseRepository,
        threads: ThreadRepository,
        surveys: SurveyRepository,
        clock: Clock = utc_now,
    ) -> None:
        self._erasures = erasures
        self._reviews = reviews
        self._cases = cases
        self._threads = threads
        self._surveys = surveys
        self._clock = clock

    async def erase(self, tenant_id: str, member_id: str) -> Scrubbed:
        """Mark the member erased and scrub all they left here (again: nothing more)."""
        at = await self._erasures.record(tenant_id, member_id, self._clock())
        return await self._scrub(tenant_id, member_id, at)

    async def erased_at(self, tenant_id: str, member_id: str) -> datetime | None:
        return await self._erasures.erased_at(tenant_id, member_id)

    async def refuse_if_erased(self, tenant_id: str, member_id: str) -> None:
        """FailedPrecondition when the member was erased: nothing new is kept of them."""
        if member_id and await self._erasures.erased_at(tenant_id, member_id) is not None:
            raise FailedPrecondition(f"member {member_id} was erased; feedback keeps nothing new of them")

    async def settle(self, tenant_id: str, member_id: str) -> None:
        """After a write for the member: when they were erased meanwhile, scrub what it wrote."""
        at = await self._erasures.erased_at(tenant_id, member_id) if member_id else None
        if at is not None:
            await self._scrub(tenant_id, member_id, at)

    async def _scrub(self, tenant_id: str, member_id: str, at: datetime) -> Scrubbed:
        t = tenant_id
        reviews = await _scrub_each(
            await self._reviews.of_member(t, member_id),
            lambda i: self._reviews.get(t, i),
            lambda r: scrub_review(r, at),
            self._reviews.save,
        )
        cases = await _scrub_each(
            await self._cases.of_member(t, member_id),
            lambda i: self._cases.get(t, i),
            lambda c: scrub_case(c, at),
            lambda c, v: self._cases.save(c, v, ()),
        )
        threads = await _scrub_each(
            await self._threads.of_member(t, member_id),
            lambda i: self._threads.get(t, i),
            lambda th: scrub_thread(th, at),
            lambda th, v: self._threads.save(th, v, ()),
        )
        surveys = await _scrub_each(
            await self._surveys.of_member(t, member_id),
            lambda i: self._surveys.get(t, i),
            lambda s: scrub_survey(s, at),
            lambda s, v: self._surveys.save(s, v, ()),
        )
        return Scrubbed(reviews, cases, threads, surveys)
