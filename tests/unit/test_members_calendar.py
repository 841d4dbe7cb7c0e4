from datetime import UTC, date, datetime

from services.members.domain.calendar import birthday_days, days_between, dormant_windows, starts_a_month


def test_29_february_birthdays_are_celebrated_on_28_february_in_other_years() -> None:
    assert birthday_days(date(2027, 2, 28)) == [(2, 28), (2, 29)]
    assert birthday_days(date(2028, 2, 28)) == [(2, 28)]
    assert birthday_days(date(2028, 2, 29)) == [(2, 29)]


def test_a_birthday_month_starts_on_the_first() -> None:
    assert starts_a_month(date(2026, 12, 1))
    assert not starts_a_month(date(2026, 12, 2))


def test_dormant_windows_are_one_day_wide_per_threshold() -> None:
    windows = dormant_windows(date(2026, 11, 23), (60, 30, 30))
    assert [w.days for w in windows] == [30, 60]
    assert windows[0].start == datetime(2026, 10, 24, tzinfo=UTC)
    assert windows[0].end == datetime(2026, 10, 25, tzinfo=UTC)


def test_a_catch_up_after_downtime_is_bounded() -> None:
    assert days_between(date(2026, 1, 1), date(2026, 1, 3)) == [date(2026, 1, 2), date(2026, 1, 3)]
    assert len(days_between(date(2025, 1, 1), date(2026, 1, 1))) == 31
