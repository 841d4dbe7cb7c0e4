"""Automatic rules: what triggers them and what they may say. No I/O.

A rule issues a template when something happens (a registration, a purchase over a spend, a
birthday month, a converted referral) or on a day of every month to a members segment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from ulid import ULID

from chassis.errors import InvalidArgument


class Trigger(StrEnum):
    MEMBER_REGISTERED = "member_registered"
    PURCHASE_MADE = "purchase_made"
    BIRTHDAY_MONTH_STARTED = "member_birthday_month_started"
    REFERRAL_CONVERTED = "referral_converted"
    SCHEDULE = "schedule"


@dataclass(frozen=True)
class Rule:
    id: str
    tenant_id: str
    name: str
    trigger: Trigger
    template_id: str
    min_spend: int = 0
    tiers: tuple[str, ...] = ()
    day_of_month: int = 0
    segment_id: str = ""
    active: bool = True
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def parse(
        cls,
        *,
        tenant_id: str,
        name: str,
        trigger: str,
        template_id: str,
        min_spend: int = 0,
        tiers: tuple[str, ...] = (),
        day_of_month: int = 0,
        segment_id: str = "",
    ) -> Rule:
        name = " ".join(name.split())
        if not name or len(name) > 80:
            raise InvalidArgument("rule.name", "name is required (up to 80 characters)")
        try:
            t = Trigger(trigger)
        except ValueError:
            raise InvalidArgument("rule.trigger", f"trigger must be one of {', '.join(Trigger)}") from None
        if not template_id.strip():
            raise InvalidArgument("rule.template_id", "template_id is required")
        if min_spend < 0:
            raise InvalidArgument("rule.conditions.min_spend", "min_spend must not be negative")
        if min_spend and t is not Trigger.PURCHASE_MADE:
            raise InvalidArgument("rule.conditions.min_spend", "min_spend applies to purchase_made rules")
        if t is Trigger.SCHEDULE:
            if not 1 <= day_of_month <= 28:
                raise InvalidArgument(
                    "rule.day_of_month", "a scheduled rule runs on a day 1..28 of the month"
                )
            if not segment_id.strip():
                raise InvalidArgument("rule.segment_id", "a scheduled rule issues to a members segment")
        elif day_of_month or segment_id:
            field_name = "rule.day_of_month" if day_of_month else "rule.segment_id"
            raise InvalidArgument(field_name, "only scheduled rules have a day and a segment")
        tiers = tuple(dict.fromkeys(x.strip() for x in tiers if x.strip()))
        return cls(
            id=str(ULID()),
            tenant_id=tenant_id,
            name=name,
            trigger=t,
            template_id=template_id.strip(),
            min_spend=min_spend,
            tiers=tiers,
            day_of_month=day_of_month,
            segment_id=segment_id.strip(),
        )
