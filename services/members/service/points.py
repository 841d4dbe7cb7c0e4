"""Points use cases other than purchases: what may be granted or taken, and for what; the yearly
expiry; the statement.

Each adjustment is one write of the member guarded by its version (ports.PointsLedger.adjust):
the balance moves, a marker records the source and points_changed goes out in the same write,
with the balance after it. The decision (domain.points.adjusted) is made on the balance as
stored at that moment, so a debit is refused exactly when the balance then cannot cover it —
concurrent takes on several replicas never overdraw, and a source sent twice at once counts
once. The ledger entry follows, keyed by member and source, and any later request for the same
source writes it again, so a crash between the two is finished by repeating the request.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial

from chassis.errors import InvalidArgument, NotFound
from services.members.domain import points as pts
from services.members.domain import programme
from services.members.domain import programme_versions as pv
from services.members.domain.points import SOURCE_ID_MAX, EntryReason
from services.members.domain.programme import DEFAULT_PROGRAMME, Programme
from services.members.domain.programme_versions import Tenants
from services.members.service.ports import PointsLedger, ProgrammeStore

EARNED = frozenset({EntryReason.SIGN_IN, EntryReason.REVIEW, EntryReason.SURVEY_ANSWER, EntryReason.SHARE})
SPENT = frozenset({EntryReason.GIFT_REDEMPTION})
ADJUSTABLE = EARNED | SPENT | {EntryReason.MANUAL_ADJUSTMENT}
DELTA_MAX = 1_000_000
EXPIRY_ATTEMPTS = 3
STATEMENT_ENTRIES = 20
_SOURCE_ID = re.compile(r"[A-Za-z0-9_:\-]+")


class Points:
    def __init__(
        self,
        ledger: PointsLedger,
        programmes: ProgrammeStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._ledger = ledger
        self._programmes = programmes
        self._clock = clock

    async def adjust(
        self, tenant_id: str, member_id: str, delta: int, reason: str, source_id: str
    ) -> tuple[int, bool]:
        """(balance, applied now): an earned reason only adds, a gift redemption only takes;
        InsufficientPoints for a debit the balance cannot cover."""
        why = _reason(reason)
        if delta == 0 or abs(delta) > DELTA_MAX:
            raise InvalidArgument("delta", f"delta must be non-zero and at most {DELTA_MAX} either way")
        if why in EARNED and delta < 0:
            raise InvalidArgument("delta", f"{why.value} points are earned: delta must be positive")
        if why in SPENT and delta > 0:
            raise InvalidArgument("delta", f"{why.value} takes points: delta must be negative")
        source_id = source_id.strip()
        if not _SOURCE_ID.fullmatch(source_id) or len(source_id) > SOURCE_ID_MAX:
            raise InvalidArgument(
                "source_id", f"source_id is required: up to {SOURCE_ID_MAX} letters, digits, '-', '_' or ':'"
            )
        source = pts.entry_source(why, source_id)
        decide = partial(pts.adjusted, delta=delta, reason=why, source=source, at=self._clock())
        result = await self._ledger.adjust(tenant_id, member_id, why, source, decide)
        if result is None:
            raise NotFound(f"member {member_id} not found")
        return result

    async def expire(
        self, tenant_id: str, member_id: str, now: datetime, rules: Programme | None = None
    ) -> int:
        """Lapse what is left of points whose expiry has passed under the tenant's programme
        (`rules`, by default its current one); the number of points expired now.

        Keyed by the day (domain.points.expiry_source), so a second run or a second replica
        expires nothing more; a balance spent between the read and the write is read again and
        the amount judged again.
        """
        source = pts.expiry_source(now)
        rules = rules or (await self._programmes.current(tenant_id)).programme
        lapse = partial(programme.expires_at, rules)
        for _ in range(EXPIRY_ATTEMPTS):
            balance = await self._ledger.balance(tenant_id, member_id) or 0
            if balance <= 0:
                return 0
            due = pts.expiring_amount(
                await self._ledger.earnings(tenant_id, member_id), balance, now, expiry=lapse
            )
            if due <= 0:
                return 0
            decide = partial(pts.adjusted, delta=-due, reason=EntryReason.EXPIRY, source=source, at=now)
            try:
                result = await self._ledger.adjust(tenant_id, member_id, EntryReason.EXPIRY, source, decide)
            except pts.InsufficientPoints:
                continue  # spent between the read and the write: judge again
            return due if result and result[1] else 0
        return 0

    async def expire_all(self, now: datetime, within: Tenants = pv.EVERY_TENANT) -> int:
        """Expire the lapsed points of every holder (of the tenants `within`) whose tenant's
        points lapse on `now`'s day in its zone (every day under a rolling expiry, on its date
        under a yearly one); how many members lost points now."""
        expired = 0
        customised = await self._programmes.customised()
        rules = {v.tenant_id: v.programme for v in customised}
        for lapses_today, group in pv.grouped(customised, lambda p: programme.expiry_day(p, now)):
            if not lapses_today or (tenants := group & within).none:
                continue
            async for tenant_id, member_id in self._ledger.holders(tenants):
                expired += bool(
                    await self.expire(tenant_id, member_id, now, rules.get(tenant_id, DEFAULT_PROGRAMME))
                )
        return expired

    async def statement(self, tenant_id: str, member_id: str) -> pts.Statement:
        found = await self._ledger.statement(tenant_id, member_id, STATEMENT_ENTRIES)
        if found is None:
            raise NotFound(f"member {member_id} not found")
        if found.tier:
            return found
        first = (await self._programmes.current(tenant_id)).programme.ladder.names[0]
        return replace(found, tier=first)  # a member not yet placed on the ladder


def _reason(raw: str) -> EntryReason:
    try:
        why = EntryReason(raw.strip())
    except ValueError:
        why = None
    if why not in ADJUSTABLE or why is None:
        names = ", ".join(sorted(r.value for r in ADJUSTABLE))
        raise InvalidArgument("reason", f"reason must be one of {names}")
    return why
