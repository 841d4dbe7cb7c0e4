"""Points adjustments, the yearly expiry and the daily calendar on in-memory fakes of members'
ports: a source counts once, a debit is judged on the balance as stored, a day runs once."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from chassis.errors import InvalidArgument, NotFound
from services.members.domain import calendar
from services.members.domain.points import EntryReason, InsufficientPoints
from services.members.domain.spending import Standing
from services.members.service.calendar import Calendar
from services.members.service.points import Points
from services.members.service.tiers import TierReview
from tests.unit.fakes_members import FakeCalendarDays, FakeLedger, FakeProgrammes, FakeSpending, with_dormancy

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def points_of(ledger: FakeLedger) -> Points:
    return Points(ledger, FakeProgrammes(), clock=lambda: NOW)


def balance(ledger: FakeLedger, member_id: str = "m1") -> int:
    return ledger.members.standings[("t1", member_id)].points_balance


async def test_a_source_sent_twice_counts_once() -> None:
    ledger = FakeLedger(FakeSpending("m1"))
    points = points_of(ledger)

    results = [await points.adjust("t1", "m1", 5, "sign_in", "2026-11-23") for _ in range(2)]

    assert results == [(5, True), (5, False)]
    assert [a.delta for a in ledger.announced] == [5]
    assert [e["delta"] for e in ledger.entries.values()] == [5]


async def test_a_debit_too_big_is_refused_and_stores_nothing() -> None:
    ledger = FakeLedger(FakeSpending("m1"))
    points = points_of(ledger)
    await points.adjust("t1", "m1", 25, "review", "rev-1")

    with pytest.raises(InsufficientPoints):
        await points.adjust("t1", "m1", -30, "gift_redemption", "gift-1")

    assert balance(ledger) == 25
    assert [e["delta"] for e in ledger.entries.values()] == [25]
    assert await points.adjust("t1", "m1", -25, "gift_redemption", "gift-1") == (0, True)


@pytest.mark.parametrize(
    ("delta", "reason", "source", "field"),
    [
        (5, "purchase", "x", "reason"),
        (-5, "sign_in", "2026-11-24", "delta"),
        (5, "gift_redemption", "g", "delta"),
        (0, "manual_adjustment", "m1", "delta"),
        (5, "manual_adjustment", "has space", "source_id"),
    ],
)
async def test_an_adjustment_names_an_allowed_reason_direction_and_source(
    delta: int, reason: str, source: str, field: str
) -> None:
    with pytest.raises(InvalidArgument) as bad:
        await points_of(FakeLedger(FakeSpending("m1"))).adjust("t1", "m1", delta, reason, source)
    assert bad.value.field == field


async def test_adjusting_an_unknown_member_is_not_found() -> None:
    with pytest.raises(NotFound):
        await points_of(FakeLedger()).adjust("t1", "nobody", 5, "review", "rev-1")


async def holding_old_points(ledger: FakeLedger) -> None:
    """130 points: 100 earned in 2026, 50 in 2027, 20 spent in 2027 (from the oldest)."""
    for delta, at in [(100, datetime(2026, 3, 1, tzinfo=UTC)), (50, datetime(2027, 6, 1, tzinfo=UTC))]:
        await ledger.enter("t1", "m1", delta, EntryReason.PURCHASE, f"purchase:{at:%Y}", at)
    await ledger.enter(
        "t1", "m1", -20, EntryReason.GIFT_REDEMPTION, "gift:g", datetime(2027, 7, 1, tzinfo=UTC)
    )
    ledger.members.standings[("t1", "m1")] = Standing(points_balance=130)


async def test_expiry_lapses_what_is_left_of_old_points_once() -> None:
    ledger = FakeLedger(FakeSpending("m1"))
    await holding_old_points(ledger)
    new_year = datetime(2028, 1, 1, tzinfo=UTC)

    expired = [await points_of(ledger).expire("t1", "m1", new_year) for _ in range(2)]

    assert expired == [80, 0]
    assert balance(ledger) == 50
    assert [(a.delta, a.source) for a in ledger.announced] == [(-80, "expiry:2028-01-01")]


class SpentWhileJudged(FakeLedger):
    """A gift redeemed between expiry's read of the ledger and its write."""

    async def earnings(self, tenant_id: str, member_id: str) -> list[tuple[datetime, int]]:
        read = await super().earnings(tenant_id, member_id)
        if not self.adjusted:
            await points_of(self).adjust(tenant_id, member_id, -120, "gift_redemption", "gift-2")
        return read


async def test_points_spent_while_expiry_judges_are_read_again() -> None:
    ledger = SpentWhileJudged(FakeSpending("m1"))
    await holding_old_points(ledger)

    assert await points_of(ledger).expire("t1", "m1", datetime(2028, 1, 1, tzinfo=UTC)) == 0
    assert balance(ledger) == 10  # the 2027 points left after the gift stay


async def test_a_calendar_day_run_twice_announces_and_expires_once() -> None:
    members = FakeSpending("m1", "m2")
    ledger = FakeLedger(members)
    await holding_old_points(ledger)
    days = FakeCalendarDays()
    days.birthdays = {("t1", "m1"): (1, 1), ("t1", "m2"): (1, 15)}
    days.last_purchases = {("t1", "m2"): datetime(2027, 12, 2, 15, tzinfo=UTC)}
    thirty_days = with_dormancy((30,))
    run = Calendar(days, thirty_days, points_of(ledger), TierReview(members, thirty_days))

    first, again = await run.run_day(date(2028, 1, 1)), await run.run_day(date(2028, 1, 1))

    assert first == {
        "birthday_months_started": 2,
        "birthdays": 1,
        "dormant": 1,
        "points_expired": 1,
        "tiers_changed": 0,
    }
    assert set(again.values()) == {0}
    assert isinstance(days.announced["birthday:2028:m1"], calendar.Birthday)
    await run.run_day(date(2027, 12, 31))  # a replica that lags does not send the calendar back
    assert (days.tenant_last, days.last) == ({"t1": date(2028, 1, 1)}, date(2028, 1, 1))
