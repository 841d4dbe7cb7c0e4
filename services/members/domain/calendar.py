"""The daily calendar's rules: which day is whose birthday, who has become dormant.

Days are the tenant's own (its programme's time zone): a day begins at its local midnight, and
"30 days without a purchase" counts local days. domain/calendar_days.py says which tenants'
days are due when.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

DEFAULT_DORMANT_DAYS = (30, 60, 90)


def birthday_days(today: date) -> list[tuple[int, int]]:
    """The (month, day) birthdays celebrated today: 29 February counts on 28 February in other years."""
    days = [(today.month, today.day)]
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        days.append((2, 29))
    return days


def starts_a_month(today: date) -> bool:
    return today.day == 1


@dataclass(frozen=True)
class DormantWindow:
    """Members whose last purchase fell in [start, end) pass `days` days without one today
    (the bounds are UTC instants of local midnights)."""

    days: int
    start: datetime
    end: datetime


def midnight(day: date, zone: tzinfo = UTC) -> datetime:
    """The instant (UTC) a day begins in `zone`."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def dormant_windows(
    today: date, thresholds: tuple[int, ...] = DEFAULT_DORMANT_DAYS, zone: tzinfo = UTC
) -> list[DormantWindow]:
    """For each threshold n, the local day n days before `today` in `zone` (a day of a daylight
    saving change is 23 or 25 hours long there)."""
    return [
        DormantWindow(
            days=n,
            start=midnight(today - timedelta(days=n), zone),
            end=midnight(today - timedelta(days=n - 1), zone),
        )
        for n in sorted(set(thresholds))
        if n > 0
    ]


def days_between(first: date, last: date, limit: int = 31) -> list[date]:
    """Days after `first` up to `last`, at most `limit` (a catch-up after downtime stays bounded)."""
    out: list[date] = []
    day = first + timedelta(days=1)
    while day <= last and len(out) < limit:
        out.append(day)
        day += timedelta(days=1)
    return out


@dataclass(frozen=True)
class _MemberDay:
    tenant_id: str
    member_id: str
    today: date


@dataclass(frozen=True)
class BirthdayMonthStarted(_MemberDay):
    @property
    def key(self) -> str:
        return f"birthday_month:{self.today:%Y-%m}:{self.member_id}"


@dataclass(frozen=True)
class Birthday(_MemberDay):
    @property
    def key(self) -> str:
        return f"birthday:{self.today.year}:{self.member_id}"


@dataclass(frozen=True)
class Dormant:
    tenant_id: str
    member_id: str
    days: int
    last_purchase_at: datetime

    @property
    def key(self) -> str:
        return f"dormant:{self.days}:{self.last_purchase_at.isoformat()}:{self.member_id}"


# What the calendar announces. Each is told once per `key`: a birthday once a year, a birthday
# month once a month, a dormancy once per threshold and last purchase (a purchase starts anew).
Notice = BirthdayMonthStarted | Birthday | Dormant
