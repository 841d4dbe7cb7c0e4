"""Frequency caps: how much contact a member may be put under, counted across every channel
(staff tasks included), so the customer's total pressure is bounded whatever sends it.

A cap rule counts care, marketing, or both ("contact") messages in the calendar day or week of
the member's time zone; a message may go when, counting it, no rule's limit is passed.
Transactional messages are never capped and never counted. The recent contacts are kept for
`KEEP` (longer than the longest period) and no more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services.messaging.domain.channels import MessageClass
from services.messaging.domain.policy import CapRule

KEEP = timedelta(days=8)


@dataclass(frozen=True)
class Contacted:
    at: datetime
    message_class: MessageClass
    message_id: str


def applies(rule: CapRule, message_class: MessageClass) -> bool:
    if not message_class.capped:
        return False
    return rule.message_class == "contact" or rule.message_class == message_class.value


def period_start(now: datetime, period: str, zone: ZoneInfo) -> datetime:
    """The start of the member's calendar day or week (Monday) containing `now`."""
    local = now.astimezone(zone)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        day = day - timedelta(days=day.weekday())
    # A midnight that DST skipped or doubled: the wall-clock midnight resolved by zoneinfo.
    return day.replace(tzinfo=zone).astimezone(now.tzinfo)


def stopping_rule(
    rules: Sequence[CapRule],
    recent: Sequence[Contacted],
    message_class: MessageClass,
    now: datetime,
    zone: ZoneInfo,
) -> CapRule | None:
    """The first rule this message would break, or None when it may go."""
    for rule in rules:
        if not applies(rule, message_class):
            continue
        start = period_start(now, rule.period, zone)
        # Everything since the period began counts, even a contact stamped a moment after `now`:
        # a racing send that took its slot first, its clock read later.
        used = sum(1 for c in recent if c.at >= start and applies(rule, c.message_class))
        if used >= rule.limit:
            return rule
    return None


def prune(recent: Sequence[Contacted], now: datetime) -> list[Contacted]:
    return [c for c in recent if c.at > now - KEEP]
