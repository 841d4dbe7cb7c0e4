"""Messaging's view of a member: what it needs to decide how to reach them and to greet them,
kept current from members' events (and filled from the members service the first time a
member is messaged before their events arrived). The phone number is not kept here: the SMS
adapter asks members for it when it sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from services.messaging.domain.caps import Contacted


@dataclass(frozen=True)
class Contact:
    tenant_id: str
    member_id: str
    name: str = ""
    surname: str = ""
    gender: str = ""
    consent: dict[str, bool] = field(default_factory=dict)
    consent_at: dict[str, datetime] = field(default_factory=dict)  # when each channel last changed
    preferred_channel: str = ""
    owner_staff_id: str = ""
    home_store_id: str = ""
    time_zone: str = ""  # empty: the tenant's
    points_balance: int = 0
    tier: str = ""
    erased: bool = False
    # The care and marketing messages that reached the member lately (caps count them), and the
    # version of that list: caps take a slot with one write conditional on it.
    recent: tuple[Contacted, ...] = ()
    recent_version: int = 0

    @property
    def title(self) -> str:
        return {"female": "Ms", "male": "Mr"}.get(self.gender, "")


def with_consent(c: Contact, channel: str, granted: bool, at: datetime) -> Contact:
    """A consent change, unless a later one for the channel is already known (events reorder)."""
    known = c.consent_at.get(channel)
    if known is not None and known > at:
        return c
    return replace(c, consent=c.consent | {channel: granted}, consent_at=c.consent_at | {channel: at})
