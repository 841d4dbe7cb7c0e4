"""An evidence pack for a dispute: everything feedback holds about one member. No I/O.

The member's reviews (with every earlier version and the shop's replies) and cases (with their
timelines, remedies and risk assessments), oldest first. Messages sent to the member are
messaging's and are not in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.feedback.domain.cases import Case
from services.feedback.domain.reviews import Review


@dataclass(frozen=True)
class EvidencePack:
    tenant_id: str
    member_id: str
    reviews: tuple[Review, ...]
    cases: tuple[Case, ...]
    exported_at: datetime
