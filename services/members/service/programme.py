"""Programme use cases: read a tenant's programme, change it (each change a new version), and
score a cart under it — the same scoring a recorded purchase gets, so the till's preview and the
receipt agree.

A change is judged on the current version (domain.programme_versions) and saved only if that is
still current (ports.ProgrammeStore.save); a caller that names the version it read
(`expected_version`) is told when someone else changed the programme first, and one that does
not has its change judged again on the newer version — either way no change is lost.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from chassis.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from services.members.domain import earning
from services.members.domain import programme_versions as pv
from services.members.domain.purchases import Line, Payment
from services.members.service.ports import ProgrammeStore

SAVE_ATTEMPTS = 20  # each lost race means another change was saved: contention, not failure
HISTORY_MAX = 100

Change = Callable[[pv.ProgrammeVersion], pv.ProgrammeVersion | None]


class Programmes:
    def __init__(
        self, store: ProgrammeStore, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._store = store
        self._clock = clock

    async def current(self, tenant_id: str) -> pv.ProgrammeVersion:
        return await self._store.current(tenant_id)

    async def get(self, tenant_id: str, version: int = 0) -> pv.ProgrammeVersion:
        """A version (0: the current one)."""
        if version < 0:
            raise InvalidArgument("version", "version must not be negative")
        if version == 0:
            return await self._store.current(tenant_id)
        found = await self._store.version(tenant_id, version)
        if found is None:
            raise NotFound(f"the programme has no version {version}")
        return found

    async def history(self, tenant_id: str, limit: int) -> list[pv.ProgrammeVersion]:
        if not 0 <= limit <= HISTORY_MAX:
            raise InvalidArgument("limit", f"limit must be between 1 and {HISTORY_MAX}")
        return await self._store.history(tenant_id, limit or 20)

    async def change_settings(
        self, tenant_id: str, sections: Mapping[str, object], changed_by: str, expected_version: int = 0
    ) -> pv.ProgrammeVersion:
        at = self._clock()
        return await self._change(
            tenant_id, lambda now: pv.with_settings(now, sections, changed_by, at), expected_version
        )

    async def put_rule(
        self, tenant_id: str, rule: object, changed_by: str, expected_version: int = 0
    ) -> pv.ProgrammeVersion:
        at = self._clock()
        return await self._change(
            tenant_id, lambda now: pv.with_rule(now, rule, changed_by, at), expected_version
        )

    async def delete_rule(
        self, tenant_id: str, rule_id: str, changed_by: str, expected_version: int = 0
    ) -> pv.ProgrammeVersion:
        at = self._clock()
        return await self._change(
            tenant_id, lambda now: pv.without_rule(now, rule_id, changed_by, at), expected_version
        )

    async def _change(self, tenant_id: str, change: Change, expected_version: int) -> pv.ProgrammeVersion:
        if expected_version < 0:
            raise InvalidArgument("expected_version", "expected_version must not be negative")
        for attempt in range(SAVE_ATTEMPTS):
            if attempt:  # lost a race: let the winners through before reading again (jittered)
                await asyncio.sleep(random.uniform(0, 0.005 * min(attempt, 10)))
            current = await self._store.current(tenant_id)
            if expected_version and current.version != expected_version:
                raise FailedPrecondition(
                    f"the programme is at version {current.version}, not {expected_version}: read it again"
                )
            made = change(current)
            if made is None:
                return current  # nothing to change
            if await self._store.save(made):
                return made
        raise Unavailable("the programme is changing too fast; try again")


def score_cart(
    version: pv.ProgrammeVersion,
    member: earning.MemberFacts,
    store_id: str,
    lines: Sequence[Line],
    payments: Sequence[Payment],
    at: datetime,
) -> earning.Scored:
    """What a cart earns the member under `version` at `at`."""
    return earning.score(
        version.programme,
        version.rules,
        earning.PurchaseFacts(store_id, tuple(lines), tuple(payments)),
        member,
        at,
    )
