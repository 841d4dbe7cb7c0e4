"""Service levels in business hours: when a case's first response and resolution are due, and
which of them a case has missed. No I/O.

A store's week is a schedule of opening hours by ISO weekday (1 = Monday .. 7 = Sunday, local
time in the tenant's IANA zone; a closed day is absent). "Due in N business hours" counts only
the time the store is open: a complaint at 21:00 with 4 hours to answer, in a store open
10:00-22:00, is due at 13:00 the next open day. Hours are real elapsed time, so a day on which
the clocks change is as long as it really is; every instant is computed in UTC and only the
opening times are local.

The first response is met by acknowledging the case, the resolution by resolving it;
rejecting a case ends both clocks. A case records each breach once (`sla_breaches`), whether
the clock finds it overdue or a late answer reveals it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60


class Severity(StrEnum):
    """How serious a case is: it sets the case's service levels."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Sla(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


@dataclass(frozen=True)
class BusinessDay:
    """Open on ISO `weekday` from `opens` to `closes`, minutes after local midnight (closes may
    be 1440: open until midnight)."""

    weekday: int
    opens: int
    closes: int


Schedule = tuple[BusinessDay, ...]


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _instant(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """`minutes` after local midnight of `day` in `zone`, as a UTC instant."""
    extra, minutes = divmod(minutes, MINUTES_PER_DAY)
    local = datetime.combine(day + timedelta(days=extra), time(minutes // 60, minutes % 60), tzinfo=zone)
    return local.astimezone(UTC)


def due(start: datetime, hours: int, schedule: Sequence[BusinessDay], zone: ZoneInfo) -> datetime:
    """The instant (UTC) `hours` business hours after `start` under `schedule` in `zone`."""
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    begin = start.astimezone(UTC)
    remaining = timedelta(hours=hours)
    if remaining <= timedelta(0):
        return begin
    by_day = {d.weekday: d for d in schedule}
    weekly = sum(max(0, d.closes - d.opens) for d in by_day.values())
    if weekly <= 0:
        raise ValueError("the schedule has no opening hours")
    # Enough days to hold `hours` (a DST day is at most an hour short), plus a week of slack.
    days = (math.ceil(hours * 60 / weekly) + 2) * 7
    day = begin.astimezone(zone).date() - timedelta(days=1)  # a window may open before midnight UTC
    for _ in range(days):
        open_day = by_day.get(day.isoweekday())
        if open_day is not None:
            opens = _instant(day, open_day.opens, zone)
            closes = _instant(day, open_day.closes, zone)
            frm = max(opens, begin)
            if frm < closes:
                if closes - frm >= remaining:
                    return frm + remaining
                remaining -= closes - frm
        day += timedelta(days=1)
    raise ValueError("the schedule cannot hold that many hours")  # pragma: no cover - bounded above


class Measured(Protocol):
    """What a case's SLAs are measured on (a Case is one): when each is due, when it was met
    (None: not yet), and the SLAs already recorded as breached."""

    @property
    def first_response_due(self) -> datetime: ...

    @property
    def resolution_due(self) -> datetime: ...

    @property
    def first_response_met_at(self) -> datetime | None: ...

    @property
    def resolution_met_at(self) -> datetime | None: ...

    @property
    def sla_breaches(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Breach:
    sla: Sla
    due: datetime


def breaches(case: Measured, now: datetime) -> tuple[Breach, ...]:
    """The SLAs missed at `now` and not yet recorded: still unmet after the due time, or met
    after it."""
    found = []
    for sla, due_at, met in (
        (Sla.FIRST_RESPONSE, case.first_response_due, case.first_response_met_at),
        (Sla.RESOLUTION, case.resolution_due, case.resolution_met_at),
    ):
        if sla.value in case.sla_breaches:
            continue
        if (met is None and now > due_at) or (met is not None and met > due_at):
            found.append(Breach(sla, due_at))
    return tuple(found)
