"""The daily calendar: birthdays, birthday months, dormancies, points expiry and the nightly
tier review, each under the tenant's programme and on the tenant's own days (its time zone:
domain/calendar_days.py says which tenants' days are due when).

Every replica runs it (entrypoints/calendar_worker.py), and RunCalendarDay can run any day
again, so each effect is keyed so that running a day twice, or on two replicas at once, does
it once:
- each announcement is recorded once per its key (domain.calendar.Notice: the member, the kind
  and the day) with its event (ports.CalendarRepository.announce);
- points expiry (each tenant's rule: on its date, or daily for a rolling one) is a ledger
  change keyed by the member and the day (service/points.py), decided in a guarded write;
- dormancy uses each tenant's thresholds (one query per distinct set, domain.programme_versions.grouped);
- the tier review writes a member only when the tier (or trailing spend) differs from what it
  now reads, in a guarded write (service/tiers.py);
- the last day run for a tenant only moves forward, so a replica that lags cannot send the
  calendar back to days already done.
A day run twice at once counts each effect in one of the two runs' summaries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime

from services.members.domain import calendar, calendar_days
from services.members.domain import programme_versions as pv
from services.members.domain.calendar_days import CalendarDay
from services.members.service.points import Points
from services.members.service.ports import CalendarRepository, ProgrammeStore
from services.members.service.tiers import TierReview

Counts = dict[str, int]


class Calendar:
    def __init__(
        self, days: CalendarRepository, programmes: ProgrammeStore, points: Points, tiers: TierReview
    ) -> None:
        self._days = days
        self._programmes = programmes
        self._points = points
        self._tiers = tiers

    async def run_day(self, today: date) -> Counts:
        """Run `today` as every tenant's local day (gRPC RunCalendarDay); counts of what
        happened now, over all tenants (a second run counts nothing)."""
        customised = await self._programmes.customised()
        total: Counts = {}
        for day in calendar_days.every_tenant(today, calendar_days.zones(customised)):
            for name, n in (await self._run(day, customised)).items():
                total[name] = total.get(name, 0) + n
        return total

    async def catch_up(self, now: datetime) -> AsyncIterator[tuple[CalendarDay, Counts]]:
        """Run every tenant's days that have begun by `now` and were not run yet, oldest first."""
        customised = await self._programmes.customised()
        last_days, defaults_last = await self._days.last_days()
        for day in calendar_days.due(now, calendar_days.zones(customised), last_days, defaults_last):
            yield day, await self._run(day, customised)

    async def _run(self, local: CalendarDay, customised: Sequence[pv.ProgrammeVersion]) -> Counts:
        """Announce the day's birthdays, birthday months and dormancies of its tenants, lapse
        their points on their expiry date and review their tiers, as of the day's local start."""
        counts = {"birthday_months_started": 0, "birthdays": 0, "dormant": 0, "points_expired": 0}
        today, tenants = local.day, local.tenants
        if calendar.starts_a_month(today):
            async for tenant_id, member_id in self._days.born_in(today.month, tenants):
                started = calendar.BirthdayMonthStarted(tenant_id, member_id, today)
                counts["birthday_months_started"] += await self._days.announce(started)
        for month, day in calendar.birthday_days(today):
            async for tenant_id, member_id in self._days.born_on(month, day, tenants):
                birthday = calendar.Birthday(tenant_id, member_id, today)
                counts["birthdays"] += await self._days.announce(birthday)
        for thresholds, group in pv.grouped(customised, lambda p: p.dormant_days):
            if (within := group & tenants).none:
                continue
            for window in calendar.dormant_windows(today, thresholds, local.zone_info):
                async for tenant_id, member_id, last in self._days.last_bought_in(window, within):
                    dormant = calendar.Dormant(tenant_id, member_id, window.days, last)
                    counts["dormant"] += await self._days.announce(dormant)
        counts["points_expired"] = await self._points.expire_all(local.midnight, tenants)
        counts["tiers_changed"] = await self._tiers.review_all(local.midnight, tenants)
        await self._days.done(today, tenants)
        return counts
