"""Whose calendar day is due when: every tenant's days are its own (its programme's zone). No I/O.

The calendar job runs in UTC every few minutes; a tenant's day D is due from D's local midnight
on. Each tenant that runs its own programme keeps the last day run for it; every other tenant
(the defaults, all in UTC) shares one. A pass runs, oldest first, each day after a tenant's last
one up to its local today (at most `CATCH_UP_DAYS`, so a catch-up after downtime stays bounded),
with the tenants due the same day in the same zone together, so a day costs one query per
distinct zone rather than one per tenant. A tenant with no day of its own yet (its programme was
just made) goes on from the defaults' last day; one that changes zone goes on from its own last
day, so none of its days is skipped or run twice (moving west, its next day waits until that day
begins in the new zone). Whatever runs twice anyway (RunCalendarDay, two replicas) is harmless:
each notice is recorded once per member and day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.members.domain import calendar
from services.members.domain.programme import DEFAULT_TIME_ZONE, zone_info
from services.members.domain.programme_versions import ProgrammeVersion, Tenants

CATCH_UP_DAYS = 31


@dataclass(frozen=True)
class CalendarDay:
    """One local day of some tenants, all in one zone."""

    day: date
    zone: str
    tenants: Tenants

    @property
    def zone_info(self) -> ZoneInfo:
        return zone_info(self.zone)

    @property
    def midnight(self) -> datetime:
        """When the day began there (UTC)."""
        return calendar.midnight(self.day, self.zone_info)


def zones(customised: Iterable[ProgrammeVersion]) -> dict[str, str]:
    """The zone of each tenant that runs its own programme."""
    return {v.tenant_id: v.programme.time_zone for v in customised}


def local_today(now: datetime, zone: str) -> date:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(zone_info(zone)).date()


def every_tenant(day: date, zones: Mapping[str, str]) -> list[CalendarDay]:
    """The local day `day` of every tenant (gRPC RunCalendarDay): one per zone of the tenants
    with a programme, and one for all the others."""
    by_zone: dict[str, set[str]] = {}
    for tenant, zone in zones.items():
        by_zone.setdefault(zone, set()).add(tenant)
    named = [CalendarDay(day, zone, Tenants(frozenset(names))) for zone, names in sorted(by_zone.items())]
    return [*named, CalendarDay(day, DEFAULT_TIME_ZONE, _the_others(zones))]


def due(
    now: datetime,
    zones: Mapping[str, str],
    last_days: Mapping[str, date],
    defaults_last: date | None,
    limit: int = CATCH_UP_DAYS,
) -> list[CalendarDay]:
    """The days due at `now`, oldest first: for each tenant with a programme, the days after its
    last one (`last_days`, else `defaults_last`) up to its local today; for all the others, the
    UTC days after `defaults_last`. With nothing run yet, today only."""
    by_day: dict[tuple[date, str], set[str]] = {}
    for tenant, zone in zones.items():
        today = local_today(now, zone)
        last = last_days.get(tenant) or defaults_last or today - timedelta(days=1)
        for day in calendar.days_between(last, today, limit):
            by_day.setdefault((day, zone), set()).add(tenant)
    out = [CalendarDay(day, zone, Tenants(frozenset(names))) for (day, zone), names in by_day.items()]
    today = now.astimezone(UTC).date()
    others = _the_others(zones)
    for day in calendar.days_between(defaults_last or today - timedelta(days=1), today, limit):
        out.append(CalendarDay(day, DEFAULT_TIME_ZONE, others))
    return sorted(out, key=lambda d: (d.day, d.tenants.all_but, d.zone))


def _the_others(zones: Mapping[str, str]) -> Tenants:
    return Tenants(frozenset(zones), all_but=True)
