from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chassis.errors import FailedPrecondition, InvalidArgument
from services.coupons.domain.validity import Until, Validity, is_valid_at, window

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def test_until_end_of_month_runs_to_local_midnight_on_the_first_of_next_month() -> None:
    validity = Validity.parse(until_end_of="month")
    assert window(validity, sh(2026, 11, 23, 10), SHANGHAI) == (sh(2026, 11, 23, 10), sh(2026, 12, 1))
    assert window(validity, sh(2026, 12, 31, 23, 59), SHANGHAI)[1] == sh(2027, 1, 1)
    assert window(validity, sh(2028, 2, 29, 12), SHANGHAI)[1] == sh(2028, 3, 1)


def test_the_end_of_the_month_is_the_tenant_zones_month_not_utcs() -> None:
    issued = datetime(2026, 11, 30, 17, tzinfo=UTC)  # already 1 December, 01:00, in Shanghai
    assert window(Validity.parse(until_end_of="month"), issued, SHANGHAI)[1] == sh(2027, 1, 1)


def test_until_end_of_day_runs_to_the_next_local_midnight() -> None:
    validity = Validity.parse(until_end_of="day")
    assert window(validity, sh(2026, 11, 23, 23, 30), SHANGHAI)[1] == sh(2026, 11, 24)
    assert window(validity, datetime(2026, 11, 23, 17, tzinfo=UTC), SHANGHAI)[1] == sh(2026, 11, 25)


def test_a_two_hour_coupon_is_valid_for_exactly_two_hours_after_issue() -> None:
    issued = sh(2026, 11, 23, 10)
    valid_from, valid_until = window(Validity.parse(duration=timedelta(hours=2)), issued, SHANGHAI)
    assert (valid_from, valid_until) == (issued, sh(2026, 11, 23, 12))
    assert is_valid_at(valid_from, valid_until, sh(2026, 11, 23, 11, 59)) is True
    assert is_valid_at(valid_from, valid_until, sh(2026, 11, 23, 12)) is False
    assert is_valid_at(valid_from, valid_until, sh(2026, 11, 23, 9, 59)) is False


def test_a_duration_is_elapsed_time_even_across_a_dst_change() -> None:
    issued = datetime(2026, 3, 8, 1, 30, tzinfo=NEW_YORK)  # EST; clocks jump to 03:00 at 02:00
    until = window(Validity.parse(duration=timedelta(hours=2)), issued, NEW_YORK)[1]
    # Same-zone datetimes subtract as wall clocks in Python, so compare in UTC: 06:30Z + 2 h.
    assert until.astimezone(UTC) == datetime(2026, 3, 8, 8, 30, tzinfo=UTC)
    assert (until.hour, until.minute, until.utcoffset()) == (4, 30, timedelta(hours=-4))


def test_a_fixed_window_is_the_templates_own_whenever_the_coupon_is_issued() -> None:
    validity = Validity.parse(starts_at=sh(2026, 12, 1), ends_at=sh(2027, 1, 1))
    assert window(validity, sh(2026, 11, 20), SHANGHAI) == (sh(2026, 12, 1), sh(2027, 1, 1))
    assert window(validity, sh(2026, 12, 31, 23, 59), SHANGHAI) == (sh(2026, 12, 1), sh(2027, 1, 1))


def test_issuing_from_a_fixed_window_that_has_ended_is_refused() -> None:
    validity = Validity.parse(starts_at=sh(2026, 12, 1), ends_at=sh(2027, 1, 1))
    with pytest.raises(FailedPrecondition, match="the template's validity has ended"):
        window(validity, sh(2027, 1, 1), SHANGHAI)


def test_each_mode_parses_to_exactly_that_mode() -> None:
    assert Validity.parse(until_end_of="day") == Validity(until_end_of=Until.DAY)
    assert Validity.parse(duration=timedelta(days=7)) == Validity(duration=timedelta(days=7))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "validity"),
        (
            {"starts_at": datetime(2026, 12, 1, tzinfo=UTC), "ends_at": datetime(2026, 12, 1, tzinfo=UTC)},
            "validity.ends_at",
        ),
        ({"starts_at": datetime(2026, 12, 1, tzinfo=UTC)}, "validity.ends_at"),
        ({"ends_at": datetime(2026, 12, 1, tzinfo=UTC)}, "validity.starts_at"),
        (
            {"starts_at": datetime(2026, 12, 1), "ends_at": datetime(2026, 12, 2, tzinfo=UTC)},
            "validity.starts_at",
        ),
        (
            {
                "ends_at": datetime(2026, 12, 2, tzinfo=UTC),
                "starts_at": datetime(2026, 12, 1, tzinfo=UTC),
                "duration": timedelta(hours=1),
            },
            "validity.duration",
        ),
        ({"duration": timedelta(hours=1), "until_end_of": "day"}, "validity.duration"),
        ({"duration": timedelta(0)}, "validity.duration"),
        ({"duration": timedelta(days=4000)}, "validity.duration"),
        ({"until_end_of": "year"}, "validity.until_end_of"),
    ],
)
def test_a_bad_validity_is_rejected_naming_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        Validity.parse(**kwargs)
    assert err.value.field == field


def test_naive_datetimes_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        window(Validity.parse(until_end_of="day"), datetime(2026, 11, 23, 10), SHANGHAI)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_valid_at(sh(2026, 11, 23), sh(2026, 11, 24), datetime(2026, 11, 23, 10))
