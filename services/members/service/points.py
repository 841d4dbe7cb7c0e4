"""Points use cases other than purchases: what may be granted or taken, and for what."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from chassis.errors import InvalidArgument, NotFound
from services.members.domain.points import SOURCE_ID_MAX, EntryReason
from services.members.service.ports import PointsLedger

EARNED = frozenset({EntryReason.SIGN_IN, EntryReason.REVIEW, EntryReason.SURVEY_ANSWER, EntryReason.SHARE})
SPENT = frozenset({EntryReason.GIFT_REDEMPTION})
ADJUSTABLE = EARNED | SPENT | {EntryReason.MANUAL_ADJUSTMENT}
DELTA_MAX = 1_000_000
_SOURCE_ID = re.compile(r"[A-Za-z0-9_:\-]+")


async def adjust_points(
    tenant_id: str, member_id: str, delta: int, reason: str, source_id: str, ledger: PointsLedger
) -> tuple[int, bool]:
    """(balance, applied): an earned reason only adds, a gift redemption only takes."""
    try:
        why = EntryReason(reason.strip())
    except ValueError:
        why = None
    if why not in ADJUSTABLE or why is None:
        names = ", ".join(sorted(r.value for r in ADJUSTABLE))
        raise InvalidArgument("reason", f"reason must be one of {names}")
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
    result = await ledger.adjust(tenant_id, member_id, delta, why, source_id, datetime.now(UTC))
    if result is None:
        raise NotFound(f"member {member_id} not found")
    return result
