"""What erasing a member means. No I/O here.

The person's data goes (names, contact details, profile, openids) and consent to every channel
is withdrawn; the aggregates stay (purchases, spend, points), so reports and the ledger still
add up. Other services' copies learn of it from member_erased.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.members.domain.model import CONSENT_CHANNELS

REASON_MAX = 200


@dataclass(frozen=True)
class Erasure:
    member_id: str
    reason: str
    at: datetime

    @property
    def consent(self) -> dict[str, bool]:
        return dict.fromkeys(CONSENT_CHANNELS, False)


def erasure(member_id: str, reason: str, at: datetime) -> Erasure:
    return Erasure(member_id, reason[:REASON_MAX], at)
