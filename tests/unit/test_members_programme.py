import json
import random
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chassis.errors import InvalidArgument
from services.members.domain import points as pts
from services.members.domain.calendar import DEFAULT_DORMANT_DAYS
from services.members.domain.programme import (
    DEFAULT_PROGRAMME,
    Basis,
    BirthdayRules,
    BirthdayWindow,
    PointsRules,
    Programme,
    RollingExpiry,
    Rounding,
    YearlyExpiry,
    expires_at,
    in_birthday_window,
    parse_programme,
    programme_to_dict,
    round_units,
)
from services.members.domain.tiers import (
    DEFAULT_LADDER,
    Tier,
    TierLadder,
    judge_tier,
    tier_change,
    trailing_12m_spend,
    trailing_spend,
    window_months,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def shanghai(**kw: Any) -> Programme:
    return Programme(time_zone="Asia/Shanghai", **kw)


# --- defaults are today's behaviour -----------------------------------------------------------


def test_the_default_programme_is_todays_behaviour() -> None:
    p = DEFAULT_PROGRAMME
    assert p.ladder == DEFAULT_LADDER
    assert p.ladder.window_months == 12
    assert p.ladder.may_go_down
    assert p.ladder.grace_days == 0
    assert p.points == PointsRules(1, 100, Rounding.FLOOR, frozenset(), Basis.PAID)
    assert p.birthday == BirthdayRules(2, BirthdayWindow.DAY)
    assert p.expiry == YearlyExpiry(1, 1, 2)
    assert p.dormant_days == DEFAULT_DORMANT_DAYS == (30, 60, 90)
    assert p.time_zone == "UTC"  # the calendar, the spend months and the birthday check use UTC today


@pytest.mark.parametrize("paid", [0, 1, 99, 100, 12_399, 12_400, 10**12 + 7])
def test_default_rate_is_one_point_per_full_yuan(paid: int) -> None:
    assert DEFAULT_PROGRAMME.points.points_for(paid) == paid // 100


def test_default_expiry_equals_the_fixed_rule() -> None:
    rng = random.Random(11)
    moments = [utc(2026, 1, 1), utc(2025, 12, 31, 23, 59, 59), utc(2028, 2, 29, 12), utc(2026, 7, 1)]
    moments += [utc(2020, 1, 1) + timedelta(seconds=rng.randrange(10 * 365 * 86_400)) for _ in range(300)]
    for moment in moments:
        assert expires_at(DEFAULT_PROGRAMME, moment) == pts.expires_at(moment), moment


def test_default_birthday_window_equals_is_birthday() -> None:
    day = utc(2027, 1, 1, 12)
    for offset in range(366):
        on = day + timedelta(days=offset)
        for birthday in [(1, 1), (2, 28), (2, 29), (3, 1), (12, 31), (on.month, on.day)]:
            assert in_birthday_window(DEFAULT_PROGRAMME, birthday, on) == pts.is_birthday(birthday, on)


# --- the dict form -----------------------------------------------------------------------------


def custom_dict() -> dict[str, Any]:
    return {
        "ladder": {
            "tiers": [
                {"name": "member", "min_trailing_spend": 0},
                {"name": "vip", "min_trailing_spend": 500_000},
            ],
            "window_months": 6,
            "may_go_down": True,
            "grace_days": 30,
        },
        "points": {
            "points_per_unit": 5,
            "unit_minor": 1_000,
            "rounding": "nearest",
            "earning_payment_types": ["card", "cash"],
            "basis": "list",
        },
        "birthday": {"multiplier": 3, "window": "month"},
        "expiry": {"kind": "rolling", "months": 18},
        "dormant_days": [14, 45],
        "time_zone": "Asia/Shanghai",
    }


def test_the_dict_form_round_trips_and_is_json() -> None:
    for programme in (DEFAULT_PROGRAMME, parse_programme(custom_dict())):
        data = programme_to_dict(programme)
        assert json.loads(json.dumps(data)) == data
        assert parse_programme(data) == programme
    assert programme_to_dict(parse_programme(custom_dict())) == custom_dict()


def test_absent_sections_and_fields_take_the_defaults() -> None:
    assert parse_programme({}) == DEFAULT_PROGRAMME
    assert parse_programme({"ladder": {}, "points": {}, "expiry": None}) == DEFAULT_PROGRAMME
    only_rate = parse_programme({"points": {"points_per_unit": 2}})
    assert only_rate.points.points_per_unit == 2
    assert only_rate.points.unit_minor == 100
    assert only_rate.ladder == DEFAULT_LADDER


def test_numbers_may_come_as_integral_floats_from_a_struct() -> None:
    programme = parse_programme({"points": {"points_per_unit": 2.0}, "dormant_days": [30.0]})
    assert programme.points.points_per_unit == 2
    assert programme.dormant_days == (30,)


def test_texts_are_normalised() -> None:
    programme = parse_programme(
        {
            "points": {"earning_payment_types": [" Card", "WECHAT_PAY"], "rounding": " CEIL "},
            "ladder": {"tiers": [{"name": " a ", "min_trailing_spend": 0}]},
        }
    )
    assert programme.points.earning_payment_types == frozenset({"card", "wechat_pay"})
    assert programme.points.rounding is Rounding.CEIL
    assert programme.ladder.names == ("a",)


def test_the_yearly_expiry_dict_has_only_its_fields() -> None:
    assert programme_to_dict(DEFAULT_PROGRAMME)["expiry"] == {
        "kind": "yearly",
        "month": 1,
        "day": 1,
        "years": 2,
    }
    rolling = parse_programme({"expiry": {"kind": "rolling"}})
    assert rolling.expiry == RollingExpiry(24)


def tiers(*spends: int, names: tuple[str, ...] | None = None) -> dict[str, Any]:
    names = names or tuple(f"t{i}" for i in range(len(spends)))
    return {
        "ladder": {
            "tiers": [{"name": n, "min_trailing_spend": s} for n, s in zip(names, spends, strict=True)]
        }
    }


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (tiers(100, 200), "ladder.tiers[0].min_trailing_spend"),
        (tiers(0, 200, 200), "ladder.tiers[2].min_trailing_spend"),
        (tiers(0, 300, 200), "ladder.tiers[2].min_trailing_spend"),
        (tiers(0, -5), "ladder.tiers[1].min_trailing_spend"),
        (tiers(0, 2**63), "ladder.tiers[1].min_trailing_spend"),
        (tiers(0, 100, names=("gold", "gold")), "ladder.tiers[1].name"),
        (tiers(0, 100, names=("Gold", "gold")), "ladder.tiers[1].name"),
        (tiers(0, 100, names=("a", " ")), "ladder.tiers[1].name"),
        (tiers(0, names=("x" * 33,)), "ladder.tiers[0].name"),
        (tiers(0, names=("a\nb",)), "ladder.tiers[0].name"),
        ({"ladder": {"tiers": []}}, "ladder.tiers"),
        (
            {"ladder": {"tiers": [{"name": "a", "min_trailing_spend": i * 10} for i in range(21)]}},
            "ladder.tiers",
        ),
        ({"ladder": {"tiers": [{"name": "a"}]}}, "ladder.tiers[0].min_trailing_spend"),
        (
            {"ladder": {"tiers": [{"name": "a", "min_trailing_spend": "0"}]}},
            "ladder.tiers[0].min_trailing_spend",
        ),
        (
            {"ladder": {"tiers": [{"name": "a", "min_trailing_spend": 0.5}]}},
            "ladder.tiers[0].min_trailing_spend",
        ),
        (
            {"ladder": {"tiers": [{"name": "a", "min_trailing_spend": 0, "colour": "red"}]}},
            "ladder.tiers[0].colour",
        ),
        ({"ladder": {"tiers": ["normal"]}}, "ladder.tiers[0]"),
        ({"ladder": {"tiers": "normal"}}, "ladder.tiers"),
        ({"ladder": {"window_months": 0}}, "ladder.window_months"),
        ({"ladder": {"window_months": 37}}, "ladder.window_months"),
        ({"ladder": {"window_months": True}}, "ladder.window_months"),
        ({"ladder": {"may_go_down": "no"}}, "ladder.may_go_down"),
        ({"ladder": {"grace_days": -1}}, "ladder.grace_days"),
        ({"ladder": {"grace_days": 367}}, "ladder.grace_days"),
        ({"ladder": []}, "ladder"),
        ({"points": {"points_per_unit": -1}}, "points.points_per_unit"),
        ({"points": {"points_per_unit": 1.5}}, "points.points_per_unit"),
        ({"points": {"unit_minor": 0}}, "points.unit_minor"),
        ({"points": {"rounding": "up"}}, "points.rounding"),
        ({"points": {"rounding": 1}}, "points.rounding"),
        ({"points": {"basis": "net"}}, "points.basis"),
        ({"points": {"earning_payment_types": "cash"}}, "points.earning_payment_types"),
        ({"points": {"earning_payment_types": ["cash", " CASH"]}}, "points.earning_payment_types[1]"),
        ({"points": {"earning_payment_types": ["cash", ""]}}, "points.earning_payment_types[1]"),
        ({"points": {"earning_payment_types": ["x" * 33]}}, "points.earning_payment_types[0]"),
        ({"points": {"rate": 1}}, "points.rate"),
        ({"birthday": {"multiplier": 0}}, "birthday.multiplier"),
        ({"birthday": {"multiplier": 101}}, "birthday.multiplier"),
        ({"birthday": {"window": "year"}}, "birthday.window"),
        ({"expiry": {"kind": "never"}}, "expiry.kind"),
        ({"expiry": {"kind": "rolling", "months": 0}}, "expiry.months"),
        ({"expiry": {"kind": "rolling", "months": 121}}, "expiry.months"),
        ({"expiry": {"kind": "rolling", "month": 1}}, "expiry.month"),
        ({"expiry": {"kind": "yearly", "month": 13}}, "expiry.month"),
        ({"expiry": {"kind": "yearly", "month": 2, "day": 29}}, "expiry.day"),
        ({"expiry": {"kind": "yearly", "month": 4, "day": 31}}, "expiry.day"),
        ({"expiry": {"kind": "yearly", "years": 0}}, "expiry.years"),
        ({"expiry": {"kind": "yearly", "months": 12}}, "expiry.months"),
        ({"dormant_days": [30, 30]}, "dormant_days[1]"),
        ({"dormant_days": [60, 30]}, "dormant_days[1]"),
        ({"dormant_days": [0]}, "dormant_days[0]"),
        ({"dormant_days": [-30]}, "dormant_days[0]"),
        ({"dormant_days": [30, 3651]}, "dormant_days[1]"),
        ({"dormant_days": list(range(1, 12))}, "dormant_days"),
        ({"dormant_days": 30}, "dormant_days"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "Asia"}, "time_zone"),
        ({"time_zone": "../etc/passwd"}, "time_zone"),
        ({"time_zone": "localtime"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"time_zone": 8}, "time_zone"),
        ({"loyalty": {}}, "loyalty"),
    ],
)
def test_every_mistake_names_its_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_programme(data)
    assert err.value.field == field


def test_a_path_prefix_is_kept_in_errors() -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_programme({"ladder": {"grace_days": -1}}, "programme")
    assert err.value.field == "programme.ladder.grace_days"
    with pytest.raises(InvalidArgument) as err:
        parse_programme({"dormant_days": [2, 1]}, "programme")
    assert err.value.field == "programme.dormant_days[1]"


def test_the_body_must_be_an_object() -> None:
    with pytest.raises(InvalidArgument):
        parse_programme([])


def test_a_time_zone_is_validated_when_built_directly_too() -> None:
    assert shanghai().zone == SHANGHAI
    with pytest.raises(InvalidArgument) as err:
        Programme(time_zone="Europe/Atlantis")
    assert err.value.field == "time_zone"


# --- rounding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "floor", "nearest", "ceil"),
    [
        (0, 0, 0, 0),
        (1, 0, 0, 1),
        (149, 1, 1, 2),
        (150, 1, 2, 2),
        (151, 1, 2, 2),
        (200, 2, 2, 2),
        (99, 0, 1, 1),
    ],
)
def test_rounding_modes(amount: int, floor: int, nearest: int, ceil: int) -> None:
    got = [
        PointsRules(rounding=r).points_for(amount) for r in (Rounding.FLOOR, Rounding.NEAREST, Rounding.CEIL)
    ]
    assert got == [floor, nearest, ceil]


def test_the_rate_multiplies_whole_units() -> None:
    rules = PointsRules(points_per_unit=5, unit_minor=1_000)
    assert rules.points_for(1_999) == 5  # one full ¥10 unit, 5 points per unit
    assert PointsRules(points_per_unit=5, unit_minor=1_000, rounding=Rounding.NEAREST).points_for(1_500) == 10
    assert round_units(Fraction(5, 2), Rounding.NEAREST) == 3  # halves go up
    with pytest.raises(ValueError, match="negative"):
        rules.points_for(-1)


# --- birthday windows --------------------------------------------------------------------------


def test_the_day_window_is_the_birthday_on_the_tenants_clock() -> None:
    programme = shanghai()
    # 07:00 in Shanghai on 5 March is still 4 March in UTC.
    assert in_birthday_window(programme, (3, 5), sh(2026, 3, 5, 7))
    assert not in_birthday_window(DEFAULT_PROGRAMME, (3, 5), sh(2026, 3, 5, 7))
    assert not in_birthday_window(programme, (3, 5), sh(2026, 3, 6, 0))


def test_29_february_counts_on_28_february_in_common_years() -> None:
    for window in BirthdayWindow:
        programme = Programme(birthday=BirthdayRules(2, window))
        assert in_birthday_window(programme, (2, 29), utc(2027, 2, 28, 12)), window
    day = DEFAULT_PROGRAMME
    assert not in_birthday_window(day, (2, 29), utc(2027, 3, 1, 12))
    assert in_birthday_window(day, (2, 29), utc(2028, 2, 29, 12))
    assert not in_birthday_window(day, (2, 29), utc(2028, 2, 28, 12))
    week = Programme(birthday=BirthdayRules(2, BirthdayWindow.WEEK))
    # 28 Feb 2027 is a Sunday: its week is 22-28 February.
    assert in_birthday_window(week, (2, 29), utc(2027, 2, 22))
    assert not in_birthday_window(week, (2, 29), utc(2027, 3, 1))


def test_the_week_window_is_monday_to_sunday_and_spans_a_year_end() -> None:
    week = Programme(birthday=BirthdayRules(2, BirthdayWindow.WEEK), time_zone="Asia/Shanghai")
    # 31 December 2026 is a Thursday: Monday 28 December to Sunday 3 January 2027.
    inside = [sh(2026, 12, 28, 0), sh(2026, 12, 31, 12), sh(2027, 1, 3, 23, 59)]
    outside = [sh(2026, 12, 27, 23, 59), sh(2027, 1, 4, 0)]
    assert all(in_birthday_window(week, (12, 31), at) for at in inside)
    assert not any(in_birthday_window(week, (12, 31), at) for at in outside)
    # 1 January 2027 is a Friday: its week starts on Monday 28 December 2026.
    assert in_birthday_window(week, (1, 1), sh(2026, 12, 28, 9))
    assert not in_birthday_window(week, (1, 1), sh(2026, 12, 27, 9))
    # Sunday 3 Jan 2027 16:30 UTC is already Monday 4 Jan in Shanghai.
    assert not in_birthday_window(week, (12, 31), utc(2027, 1, 3, 16, 30))


def test_the_month_window_is_the_calendar_month() -> None:
    month = Programme(birthday=BirthdayRules(2, BirthdayWindow.MONTH), time_zone="Asia/Shanghai")
    assert in_birthday_window(month, (12, 31), sh(2026, 12, 1, 0))
    assert in_birthday_window(month, (12, 31), sh(2026, 12, 31, 23, 59))
    assert not in_birthday_window(month, (12, 31), sh(2027, 1, 1, 0))
    assert not in_birthday_window(month, (12, 31), utc(2026, 11, 30, 15, 59))  # 23:59 Shanghai
    assert in_birthday_window(month, (12, 31), utc(2026, 11, 30, 16))  # midnight Shanghai


def test_a_birthday_that_is_no_day_is_refused() -> None:
    for window in BirthdayWindow:
        with pytest.raises(ValueError, match="calendar day"):
            in_birthday_window(Programme(birthday=BirthdayRules(2, window)), (2, 30), utc(2026, 2, 1))


# --- expiry ------------------------------------------------------------------------------------


def test_rolling_expiry_counts_calendar_months_and_clamps_month_ends() -> None:
    one = Programme(expiry=RollingExpiry(1))
    assert expires_at(one, utc(2026, 1, 31, 10)) == utc(2026, 2, 28, 10)
    assert expires_at(one, utc(2028, 1, 31, 10)) == utc(2028, 2, 29, 10)
    assert expires_at(one, utc(2026, 3, 31, 10)) == utc(2026, 4, 30, 10)
    assert expires_at(one, utc(2026, 12, 15)) == utc(2027, 1, 15)
    two_years = Programme(expiry=RollingExpiry(24))
    assert expires_at(two_years, utc(2028, 2, 29, 8)) == utc(2030, 2, 28, 8)
    assert expires_at(Programme(expiry=RollingExpiry(13)), utc(2026, 1, 31)) == utc(2027, 2, 28)


def test_rolling_expiry_counts_on_the_tenants_clock() -> None:
    one = shanghai(expiry=RollingExpiry(1))
    # 31 Jan 20:00 UTC is 1 Feb 04:00 in Shanghai: one month on is 1 March 04:00 there.
    assert expires_at(one, utc(2026, 1, 31, 20)) == sh(2026, 3, 1, 4)
    assert expires_at(one, utc(2026, 1, 31, 20)).tzinfo is UTC


def test_yearly_expiry_is_the_nth_date_after_earning() -> None:
    july = Programme(expiry=YearlyExpiry(7, 1, 1))
    assert expires_at(july, utc(2026, 6, 30, 23)) == utc(2026, 7, 1)
    assert expires_at(july, utc(2026, 7, 1)) == utc(2027, 7, 1)  # earned at the instant: the next one
    assert expires_at(july, utc(2026, 12, 31)) == utc(2027, 7, 1)
    july2 = Programme(expiry=YearlyExpiry(7, 1, 2))
    assert expires_at(july2, utc(2026, 6, 30)) == utc(2027, 7, 1)
    end_of_year = Programme(expiry=YearlyExpiry(1, 1, 1))
    assert expires_at(end_of_year, utc(2026, 5, 5)) == utc(2027, 1, 1)


def test_yearly_expiry_is_midnight_on_the_tenants_clock() -> None:
    programme = shanghai()
    assert expires_at(programme, sh(2026, 5, 5)) == sh(2028, 1, 1) == utc(2027, 12, 31, 16)
    # 31 Dec 2026 20:00 UTC is already 2027 in Shanghai.
    assert expires_at(programme, utc(2026, 12, 31, 20)) == sh(2029, 1, 1)


def test_expiring_amount_takes_the_programmes_rule() -> None:
    rolling = Programme(expiry=RollingExpiry(6))
    entries = [(utc(2026, 1, 10), 100), (utc(2026, 5, 1), 50), (utc(2026, 6, 1), -30)]
    now = utc(2026, 7, 10)
    assert pts.expiring_amount(entries, 120, now) == 0  # the default keeps them until 2028
    assert pts.expiring_amount(entries, 120, now, expiry=lambda t: expires_at(rolling, t)) == 70


# --- the ladder --------------------------------------------------------------------------------


def test_the_window_can_be_any_length() -> None:
    now = utc(2026, 3, 5)
    assert window_months(now, 3) == ("2026-03", "2026-02", "2026-01")
    assert window_months(now) == window_months(now, 12)
    spend = {"2026-03": 1, "2026-01": 10, "2025-12": 100, "2025-04": 1_000, "2025-03": 10_000}
    assert trailing_spend(spend, now, 3) == 11
    assert trailing_spend(spend, now, 4) == 111
    assert trailing_spend(spend, now) == trailing_12m_spend(spend, now) == 1_111
    assert trailing_spend(spend, now, 13) == 11_111
    with pytest.raises(ValueError, match="months"):
        window_months(now, 0)


def test_a_ladder_built_the_old_way_keeps_working() -> None:
    ladder = TierLadder((Tier("a", 0), Tier("b", 10)))
    assert (ladder.window_months, ladder.may_go_down, ladder.grace_days) == (12, True, 0)
    assert ladder.rank("b") == 1
    assert ladder.rank("zzz") is None


LADDER = TierLadder((Tier("normal", 0), Tier("silver", 100), Tier("gold", 1_000)))
GRACE = TierLadder(LADDER.tiers, grace_days=30)
STICKY = TierLadder(LADDER.tiers, may_go_down=False)
NOW = utc(2026, 3, 5)


def test_a_tier_goes_up_at_once() -> None:
    for ladder in (LADDER, GRACE, STICKY):
        decision = judge_tier(ladder, "normal", 1_000, NOW)
        assert (decision.tier, decision.changed, decision.downgrade_due_at) == ("gold", True, None)


def test_a_member_not_on_the_ladder_takes_what_the_spend_reaches() -> None:
    for ladder in (LADDER, GRACE, STICKY):
        assert judge_tier(ladder, "", 150, NOW).tier == "silver"
        decision = judge_tier(ladder, "platinum", 0, NOW)  # a tier the new ladder dropped
        assert (decision.tier, decision.changed, decision.downgrade_due_at) == ("normal", True, None)


def test_without_grace_a_tier_goes_down_at_once() -> None:
    decision = judge_tier(LADDER, "gold", 150, NOW)
    assert (decision.tier, decision.changed, decision.downgrade_due_at) == ("silver", True, None)


def test_tiers_that_may_not_go_down_stay() -> None:
    decision = judge_tier(STICKY, "gold", 0, NOW)
    assert (decision.tier, decision.changed, decision.downgrade_due_at, decision.qualified) == (
        "gold",
        False,
        None,
        "normal",
    )


def test_a_downgrade_waits_out_the_grace_period() -> None:
    first = judge_tier(GRACE, "gold", 150, NOW)
    assert (first.tier, first.changed) == ("gold", False)
    assert first.downgrade_due_at == NOW + timedelta(days=30)
    # Later judgements inside the grace keep the due date, not a fresh one.
    later = judge_tier(GRACE, "gold", 150, NOW + timedelta(days=10), first.downgrade_due_at)
    assert (later.tier, later.downgrade_due_at) == ("gold", first.downgrade_due_at)
    # At the due instant it goes down, to what the spend reaches then.
    due = judge_tier(GRACE, "gold", 0, NOW + timedelta(days=30), first.downgrade_due_at)
    assert (due.tier, due.changed, due.downgrade_due_at) == ("normal", True, None)


def test_spend_that_recovers_cancels_a_pending_downgrade() -> None:
    first = judge_tier(GRACE, "gold", 150, NOW)
    back = judge_tier(GRACE, "gold", 1_000, NOW + timedelta(days=5), first.downgrade_due_at)
    assert (back.tier, back.changed, back.downgrade_due_at) == ("gold", False, None)
    again = judge_tier(GRACE, "gold", 150, NOW + timedelta(days=6), back.downgrade_due_at)
    assert again.downgrade_due_at == NOW + timedelta(days=36)


def test_judge_tier_on_the_default_ladder_is_tier_change() -> None:
    rng = random.Random(7)
    for _ in range(500):
        current = rng.choice(("", *DEFAULT_LADDER.names))
        spend = rng.choice((0, 199_999, 200_000, 800_000, 2_000_000, rng.randrange(-10, 3_000_000)))
        decision = judge_tier(DEFAULT_LADDER, current, spend, NOW)
        assert decision.tier == (tier_change(DEFAULT_LADDER, current, spend) or current)
        assert decision.downgrade_due_at is None


def test_judge_tier_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        judge_tier(LADDER, "gold", 0, datetime(2026, 1, 1))
