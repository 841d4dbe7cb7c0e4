"""The daily calendar: birthdays, birthday months, dormancies, points expiry and the nightly
tier review, each under the tenant's programme.

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
- the last day run only moves forward, so a replica that lags cannot send the calendar back to
  days already done.
A day run twice at once counts each effect in one of the two runs' summaries.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from services.members.domain import calendar
from services.members.domain import programme_versions as pv
from services.members.service.points import Points
from services.members.service.ports import CalendarRepository, ProgrammeStore
from services.members.service.tiers import TierReview


class Calendar:
    def __init__(
        self, days: CalendarRepository, programmes: ProgrammeStore, points: Points, tiers: TierReview
    ) -> None:
        self._days = days
        self._programmes = programmes
        self._points = points
        self._tiers = tiers

    async def run_day(self, today: date) -> dict[str, int]:
        """Announce today's birthdays, birthday months and dormancies, lapse points on 1 January
        and review tiers; return counts of what happened now (a second run counts nothing)."""
        counts = {"birthday_months_started": 0, "birthdays": 0, "dormant": 0, "points_expired": 0}
        midnight = datetime.combine(today, time(), tzinfo=UTC)
        if calendar.starts_a_month(today):
            async for tenant_id, member_id in self._days.born_in(today.month):
                started = calendar.BirthdayMonthStarted(tenant_id, member_id, today)
                counts["birthday_months_started"] += await self._days.announce(started)
        for month, day in calendar.birthday_days(today):
            async for tenant_id, member_id in self._days.born_on(month, day):
                birthday = calendar.Birthday(tenant_id, member_id, today)
                counts["birthdays"] += await self._days.announce(birthday)
        customised = await self._programmes.customised()
        for thresholds, tenants in pv.grouped(customised, lambda p: p.dormant_days):
            for window in calendar.dormant_windows(today, thresholds):
                async for tenant_id, member_id, last in self._days.last_bought_in(window, tenants):
                    dormant = calendar.Dormant(tenant_id, member_id, window.days, last)
                    counts["dormant"] += await self._days.announce(dormant)
        counts["points_expired"] = await self._points.expire_all(midnight)
        counts["tiers_changed"] = await self._tiers.review_all(midnight)
        await self._days.done(today)
        return counts

    async def last_day(self) -> date | None:
        """The last day run to its end; None before the first."""
        return await self._days.last_day()
