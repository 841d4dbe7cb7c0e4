"""The tenant's own days and months: the calendar's day, the spend months and the dormancy days
follow the programme's time zone, and the calendar job finds each tenant's day once it begins."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.members.domain import calendar_days, programme, spending, tiers
from services.members.domain import programme_versions as pv
from services.members.domain.calendar import dormant_windows, midnight
from services.members.domain.points import PointsShare
from services.members.domain.programme import DEFAULT_PROGRAMME
from services.members.domain.programme_versions import Tenants
from services.members.domain.purchases import RecordedPurchase, parse_refund
from services.members.domain.refunds import rule_shares_reversed
from services.members.service.calendar import Calendar
from services.members.service.points import Points
from services.members.service.tiers import TierReview
from tests.unit.fakes_members import FakeCalendarDays, FakeLedger, FakeProgrammes, FakeSpending, a_purchase

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


def shanghai_programme(tenant_id: str = "sh") -> pv.ProgrammeVersion:
    return pv.ProgrammeVersion(
        tenant_id, 1, replace(DEFAULT_PROGRAMME, time_zone="Asia/Shanghai"), changed_by="test"
    )


def test_a_purchase_late_on_31_may_utc_is_june_spend_in_shanghai() -> None:
    at = datetime(2026, 5, 31, 17, 30, tzinfo=UTC)
    assert tiers.month_key(at) == "2026-05"
    assert tiers.month_key(at, SHANGHAI) == "2026-06"
    bought = spending.purchase_change(a_purchase(10_000, "m1", "R1", at), 100, "purchase:R1", month="2026-06")
    assert dict(bought.spend_by_month) == {"2026-06": 10_000}


def test_the_trailing_window_ends_with_the_tenants_current_month() -> None:
    spend = {"2026-06": 500, "2025-06": 70}
    now = datetime(2026, 5, 31, 17, 30, tzinfo=UTC)  # June 1 in Shanghai
    assert tiers.window_months(now, 1, SHANGHAI) == ("2026-06",)
    assert tiers.trailing_spend(spend, now, 12, SHANGHAI) == 500  # June 2025 has left the window
    assert tiers.trailing_spend(spend, now, 12) == 70  # in UTC it is still May: June 2025 counts, not 2026


def test_dormancy_counts_the_tenants_local_days() -> None:
    [window] = dormant_windows(date(2026, 6, 30), (30,), SHANGHAI)
    assert (window.start, window.end) == (
        datetime(2026, 5, 30, 16, tzinfo=UTC),
        datetime(2026, 5, 31, 16, tzinfo=UTC),
    )


def test_a_local_day_across_a_daylight_saving_change_is_23_hours() -> None:
    [window] = dormant_windows(date(2026, 3, 9), (1,), NEW_YORK)  # clocks went forward on 8 March
    assert window.end - window.start == timedelta(hours=23)
    assert midnight(date(2026, 3, 9), NEW_YORK) == datetime(2026, 3, 9, 4, tzinfo=UTC)


def test_the_yearly_expiry_date_is_the_tenants_date() -> None:
    shanghai = shanghai_programme().programme
    assert programme.expiry_day(shanghai, datetime(2027, 12, 31, 16, tzinfo=UTC))  # 1 January there
    assert not programme.expiry_day(shanghai, datetime(2028, 1, 1, 16, tzinfo=UTC))
    assert programme.expiry_day(DEFAULT_PROGRAMME, datetime(2028, 1, 1, 16, tzinfo=UTC))


def test_tenants_intersect_as_sets_whether_named_or_all_but_some() -> None:
    named, others = Tenants(frozenset({"a", "b"})), Tenants(frozenset({"b"}), all_but=True)
    assert named & others == Tenants(frozenset({"a"}))
    assert others & named == Tenants(frozenset({"a"}))
    assert others & Tenants(frozenset({"c"}), all_but=True) == Tenants(frozenset({"b", "c"}), all_but=True)
    assert (named & Tenants(frozenset({"c"}))).none
    assert not pv.EVERY_TENANT.none


def test_a_shanghai_day_is_due_from_its_midnight_and_the_others_keep_utc_days() -> None:
    zones = {"sh": "Asia/Shanghai"}
    before = calendar_days.due(datetime(2026, 5, 31, 15, 59, tzinfo=UTC), zones, {}, date(2026, 5, 31))
    after = calendar_days.due(datetime(2026, 5, 31, 16, 0, tzinfo=UTC), zones, {}, date(2026, 5, 31))

    assert before == []
    assert after == [calendar_days.CalendarDay(date(2026, 6, 1), "Asia/Shanghai", Tenants(frozenset({"sh"})))]
    assert after[0].midnight == datetime(2026, 5, 31, 16, tzinfo=UTC)


def test_a_catch_up_runs_each_tenants_missing_days_oldest_first() -> None:
    zones = {"sh": "Asia/Shanghai", "ny": "America/New_York"}
    now = datetime(2026, 6, 2, 1, 0, tzinfo=UTC)  # 2 June in UTC and Shanghai, 1 June in New York
    due = calendar_days.due(now, zones, {"sh": date(2026, 5, 31), "ny": date(2026, 5, 31)}, date(2026, 5, 31))

    assert [(d.day.isoformat(), d.zone, d.tenants.all_but) for d in due] == [
        ("2026-06-01", "America/New_York", False),
        ("2026-06-01", "Asia/Shanghai", False),
        ("2026-06-01", "UTC", True),
        ("2026-06-02", "Asia/Shanghai", False),
        ("2026-06-02", "UTC", True),
    ]
    assert due[2].tenants == Tenants(frozenset({"sh", "ny"}), all_but=True)  # the others


def test_a_tenant_that_changes_zone_skips_no_day_and_runs_none_twice() -> None:
    now = datetime(2026, 6, 1, 17, 0, tzinfo=UTC)  # 2 June in Shanghai, 1 June in New York
    east = calendar_days.due(now, {"t": "Asia/Shanghai"}, {"t": date(2026, 5, 31)}, None)
    west = calendar_days.due(now, {"t": "America/New_York"}, {"t": date(2026, 6, 1)}, None)
    new = calendar_days.due(now, {"t": "Asia/Shanghai"}, {}, date(2026, 6, 1))  # just customised

    def of_t(due: list[calendar_days.CalendarDay]) -> list[date]:
        return [d.day for d in due if not d.tenants.all_but]

    assert of_t(east) == [date(2026, 6, 1), date(2026, 6, 2)]
    assert of_t(west) == []  # 1 June was run; 2 June begins later there
    assert of_t(new) == [date(2026, 6, 2)]


def test_run_calendar_day_covers_every_tenant_once() -> None:
    days = calendar_days.every_tenant(
        date(2026, 6, 1), {"a": "Asia/Shanghai", "b": "UTC", "c": "Asia/Shanghai"}
    )
    assert [(d.zone, d.tenants) for d in days] == [
        ("Asia/Shanghai", Tenants(frozenset({"a", "c"}))),
        ("UTC", Tenants(frozenset({"b"}))),
        ("UTC", Tenants(frozenset({"a", "b", "c"}), all_but=True)),
    ]


async def test_a_shanghai_member_born_on_1_june_is_greeted_when_1_june_begins_there() -> None:
    members = FakeSpending("m1", "m2", tenant_id="sh")
    programmes = FakeProgrammes(shanghai_programme())
    days = FakeCalendarDays()
    days.birthdays = {("sh", "m1"): (6, 1), ("utc", "m2"): (6, 1)}
    days.last = date(2026, 5, 31)
    run = Calendar(days, programmes, Points(FakeLedger(members), programmes), TierReview(members, programmes))

    early = [d async for d in run.catch_up(datetime(2026, 5, 31, 16, 5, tzinfo=UTC))]
    again = [d async for d in run.catch_up(datetime(2026, 5, 31, 16, 15, tzinfo=UTC))]
    later = [d async for d in run.catch_up(datetime(2026, 6, 1, 0, 5, tzinfo=UTC))]

    assert [(d.day, d.zone, counts["birthdays"]) for d, counts in early] == [
        (date(2026, 6, 1), "Asia/Shanghai", 1)
    ]
    assert again == []  # the day is run once
    assert [(d.day, d.zone, counts["birthdays"]) for d, counts in later] == [(date(2026, 6, 1), "UTC", 1)]
    assert sorted(days.announced) == [
        "birthday:2026:m1",
        "birthday:2026:m2",
        "birthday_month:2026-06:m1",
        "birthday_month:2026-06:m2",
    ]


def test_a_refund_reverses_each_rules_share_on_the_running_total() -> None:
    at = datetime(2026, 6, 1, tzinfo=UTC)
    shares = (PointsShare("base", "", 100), PointsShare("rule", "bonus", 7))
    bought = RecordedPurchase(a_purchase(10_000, "m1", "R1", at), 107, shares=shares)

    parts = [rule_shares_reversed(bought, before, 2_500) for before in (0, 2_500, 5_000, 7_500)]

    assert parts == [{"bonus": 1}, {"bonus": 2}, {"bonus": 2}, {"bonus": 2}]  # 7 × 1/4, 2/4, ... floored
    assert sum(p["bonus"] for p in parts) == 7


def test_a_refund_the_balance_cannot_cover_gives_the_rules_back_only_what_was_taken() -> None:
    at = datetime(2026, 6, 1, tzinfo=UTC)
    p = a_purchase(10_000, "m1", "R1", at)
    whole = parse_refund(p, {}, None, "R1", at)
    refund = spending.refund_change(p, whole, 300, "refund:R1", "2026-06", {"bonus": 200})
    full = spending.judge(spending.Standing(points_balance=300), refund, tiers.DEFAULT_LADDER, at)
    short = spending.judge(spending.Standing(points_balance=60), refund, tiers.DEFAULT_LADDER, at)

    assert (full.points, dict(full.rule_points)) == (-300, {"bonus": -200})
    assert (short.points, dict(short.rule_points)) == (-60, {"bonus": -40})
    assert dict(refund.spend_by_month) == {"2026-06": -10_000}
