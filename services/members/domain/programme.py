"""A tenant's loyalty programme: its tier ladder, earn rate, birthday, expiry and calendar. No I/O.

Each tenant runs its own programme (issue 11). `DEFAULT_PROGRAMME` is exactly what every
tenant got before programmes existed: the built-in ladder over 12 months that may go down at
once, 1 point per full ¥1 paid (floored, all payment types, on the paid price), ×2 on the
birthday itself, points lapsing on the first 1 January two years on, dormancy after 30/60/90
days, all in UTC. The time zone says which day and month it is for the tenant: the calendar's
days (birthdays, dormancy, expiry dates, the nightly review), the spend months, the birthday
window and earning rules' days of the week.

`parse_programme` reads the JSON-able dict the API sends and the store keeps;
`programme_to_dict` writes it back, so `parse_programme(programme_to_dict(p)) == p`. A mistake
names its field by path ("ladder.tiers[1].min_trailing_spend"). The programme's version is not
part of its rules: domain/programme_versions.py records who changed it when.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chassis.errors import InvalidArgument
from chassis.fields import Fields, integer, prefixed, text
from services.members.domain import points as pts
from services.members.domain.calendar import DEFAULT_DORMANT_DAYS
from services.members.domain.tiers import (
    DEFAULT_LADDER,
    MAX_GRACE_DAYS,
    MAX_SPEND,
    MAX_TIERS,
    MAX_WINDOW_MONTHS,
    MIN_WINDOW_MONTHS,
    TIER_NAME_MAX,
    Tier,
    TierLadder,
)

DEFAULT_TIME_ZONE = "UTC"  # what every tenant used before programmes had a zone
MAX_POINTS_PER_UNIT = 1_000_000
MAX_UNIT_MINOR = 1_000_000_000
MAX_MULTIPLIER = 100
MAX_PAYMENT_TYPES = 32
PAYMENT_TYPE_MAX = 32
MAX_DORMANT_THRESHOLDS = 10
MAX_DORMANT_DAYS = 3_650
MAX_ROLLING_MONTHS = 120
MAX_EXPIRY_YEARS = 10
ZONE_NAME_MAX = 64

# Files in the zone database that are not zones a tenant means: the host's own zone and the like.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


class Rounding(StrEnum):
    """How a fraction of a unit counts: dropped, to the nearest (halves up), or as a full unit."""

    FLOOR = "floor"
    NEAREST = "nearest"
    CEIL = "ceil"


class Basis(StrEnum):
    """Which price earns: what the member paid, or the list price before markdowns."""

    PAID = "paid"
    LIST = "list"


class BirthdayWindow(StrEnum):
    """When the birthday multiplier applies, in the tenant's zone: the day itself, its calendar
    week (Monday to Sunday), or its calendar month."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class ExpiryKind(StrEnum):
    ROLLING = "rolling"
    YEARLY = "yearly"


@dataclass(frozen=True)
class PointsRules:
    """`points_per_unit` points per `unit_minor` minor units of the earning amount, the units
    rounded by `rounding`. `earning_payment_types` empty: every payment earns; otherwise only
    the share of the purchase paid by those types earns. `basis`: paid or list price."""

    points_per_unit: int = 1
    unit_minor: int = 100
    rounding: Rounding = Rounding.FLOOR
    earning_payment_types: frozenset[str] = frozenset()
    basis: Basis = Basis.PAID

    def __post_init__(self) -> None:
        if not 0 <= self.points_per_unit <= MAX_POINTS_PER_UNIT:
            raise InvalidArgument(
                "points_per_unit", f"points_per_unit must be between 0 and {MAX_POINTS_PER_UNIT}"
            )
        if not 1 <= self.unit_minor <= MAX_UNIT_MINOR:
            raise InvalidArgument("unit_minor", f"unit_minor must be between 1 and {MAX_UNIT_MINOR}")
        if len(self.earning_payment_types) > MAX_PAYMENT_TYPES:
            raise InvalidArgument("earning_payment_types", f"at most {MAX_PAYMENT_TYPES} payment types")
        for kind in self.earning_payment_types:
            if kind != payment_type_key(kind) or not kind or len(kind) > PAYMENT_TYPE_MAX:
                raise InvalidArgument(
                    "earning_payment_types",
                    f"payment types are lower-case, 1 to {PAYMENT_TYPE_MAX} characters: {kind[:40]!r}",
                )

    def points_for(self, amount: Fraction | int) -> int:
        """Points for an earning amount in minor units: the rounded units times the rate."""
        if amount < 0:
            raise ValueError("amount must not be negative")
        return round_units(Fraction(amount) / self.unit_minor, self.rounding) * self.points_per_unit


@dataclass(frozen=True)
class BirthdayRules:
    """The base points of a purchase in the birthday window are multiplied by `multiplier`
    (1: no birthday bonus)."""

    multiplier: int = 2
    window: BirthdayWindow = BirthdayWindow.DAY

    def __post_init__(self) -> None:
        if not 1 <= self.multiplier <= MAX_MULTIPLIER:
            raise InvalidArgument("multiplier", f"multiplier must be between 1 and {MAX_MULTIPLIER}")


@dataclass(frozen=True)
class RollingExpiry:
    """Points lapse `months` calendar months after they were earned (same local time of day;
    a day the target month lacks becomes its last day: 31 January + 1 month = 28/29 February)."""

    months: int = 24

    def __post_init__(self) -> None:
        if not 1 <= self.months <= MAX_ROLLING_MONTHS:
            raise InvalidArgument("months", f"months must be between 1 and {MAX_ROLLING_MONTHS}")


@dataclass(frozen=True)
class YearlyExpiry:
    """Points lapse at the start (00:00, tenant's zone) of the `years`-th (month, day) strictly
    after they were earned. (1, 1) with years=2 is today's rule: anything earned in 2026 is good
    through 31 December 2027; years=1 lapses at the next such date."""

    month: int = 1
    day: int = 1
    years: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise InvalidArgument("month", "month must be between 1 and 12")
        # A common year's days only: 29 February would not come every year.
        if not 1 <= self.day <= calendar.monthrange(2001, self.month)[1]:
            raise InvalidArgument("day", f"day must be a day of month {self.month} in every year")
        if not 1 <= self.years <= MAX_EXPIRY_YEARS:
            raise InvalidArgument("years", f"years must be between 1 and {MAX_EXPIRY_YEARS}")


Expiry = RollingExpiry | YearlyExpiry


def zone_info(name: str) -> ZoneInfo:
    """The IANA zone of that name; InvalidArgument("time_zone") for anything else."""
    if (
        not name
        or len(name) > ZONE_NAME_MAX
        or not name.isprintable()
        or name != name.strip()
        or name in _NOT_ZONES
    ):
        raise InvalidArgument("time_zone", "time_zone must be an IANA zone name such as Asia/Shanghai")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidArgument(
            "time_zone", f"unknown time zone {name!r}; use an IANA name such as Asia/Shanghai"
        ) from exc


@dataclass(frozen=True)
class Programme:
    """One tenant's loyalty programme; the defaults are today's behaviour (module docstring)."""

    ladder: TierLadder = DEFAULT_LADDER
    points: PointsRules = field(default_factory=PointsRules)
    birthday: BirthdayRules = field(default_factory=BirthdayRules)
    expiry: Expiry = field(default_factory=YearlyExpiry)
    dormant_days: tuple[int, ...] = DEFAULT_DORMANT_DAYS
    time_zone: str = DEFAULT_TIME_ZONE

    def __post_init__(self) -> None:
        if len(self.dormant_days) > MAX_DORMANT_THRESHOLDS:
            raise InvalidArgument("dormant_days", f"at most {MAX_DORMANT_THRESHOLDS} thresholds")
        for i, days in enumerate(self.dormant_days):
            if not 1 <= days <= MAX_DORMANT_DAYS:
                raise InvalidArgument(
                    f"dormant_days[{i}]", f"a threshold is between 1 and {MAX_DORMANT_DAYS} days"
                )
            if i > 0 and days <= self.dormant_days[i - 1]:
                raise InvalidArgument(f"dormant_days[{i}]", "thresholds must go strictly up")
        zone_info(self.time_zone)

    @property
    def zone(self) -> ZoneInfo:
        return zone_info(self.time_zone)


DEFAULT_PROGRAMME = Programme()


def payment_type_key(kind: str) -> str:
    """A payment type as compared: trimmed and lower-cased ("WeChat_Pay " -> "wechat_pay")."""
    return kind.strip().lower()


def round_units(units: Fraction, rounding: Rounding) -> int:
    """A non-negative number of units rounded as the programme says (nearest: halves up)."""
    if rounding is Rounding.FLOOR:
        return math.floor(units)
    if rounding is Rounding.CEIL:
        return math.ceil(units)
    return math.floor(units + Fraction(1, 2))


def local(programme: Programme, at: datetime) -> datetime:
    """`at` on the tenant's clock."""
    return _aware(at).astimezone(programme.zone)


def in_birthday_window(programme: Programme, birthday: tuple[int, int], at: datetime) -> bool:
    """Whether `at` (on the tenant's clock) falls in the birthday window of a (month, day) birthday.

    A 29 February birthday is kept on 28 February in common years (points.is_birthday), for
    the day and for the week; the month is February either way. The week is the Monday-to-
    Sunday week holding the birthday, so it can span a year end (31 December 2026 is a
    Thursday: its week runs to Sunday 3 January 2027).
    """
    when = local(programme, at)
    window = programme.birthday.window
    if window is BirthdayWindow.DAY:
        return pts.is_birthday(birthday, when)
    _check_birthday(birthday)
    if window is BirthdayWindow.MONTH:
        return when.month == birthday[0]
    today = when.date()
    for year in (today.year - 1, today.year, today.year + 1):
        day = _birthday_in(year, birthday)
        monday = day - timedelta(days=day.weekday())
        if monday <= today <= monday + timedelta(days=6):
            return True
    return False


def expires_at(programme: Programme, earned_at: datetime) -> datetime:
    """When points earned at `earned_at` lapse (UTC; exclusive: expired when now >= this)."""
    when = local(programme, earned_at)
    rule = programme.expiry
    if isinstance(rule, RollingExpiry):
        year, month0 = divmod(when.year * 12 + when.month - 1 + rule.months, 12)
        day = min(when.day, calendar.monthrange(year, month0 + 1)[1])
        return when.replace(year=year, month=month0 + 1, day=day).astimezone(UTC)
    first = datetime(when.year, rule.month, rule.day, tzinfo=programme.zone)
    first_year = when.year + 1 if first <= when else when.year
    return datetime(first_year + rule.years - 1, rule.month, rule.day, tzinfo=programme.zone).astimezone(UTC)


def expiry_day(programme: Programme, now: datetime) -> bool:
    """Whether points may lapse on `now`'s day, so the daily calendar looks at the tenant's
    holders: every day under a rolling expiry (each point has its own date), only on the date
    under a yearly one (its (month, day) on the day `now` falls in, in the tenant's zone like
    the calendar)."""
    rule = programme.expiry
    if isinstance(rule, RollingExpiry):
        return True
    day = local(programme, now)
    return (day.month, day.day) == (rule.month, rule.day)


# --- the dict form ---------------------------------------------------------------------------


def parse_programme(data: object, path: str = "") -> Programme:
    """A programme from its dict form; an absent section or field takes its default."""
    top = Fields(data, path)
    ladder = _parse_ladder(top.section("ladder"))
    rules = _parse_points(top.section("points"))
    birthday = _parse_birthday(top.section("birthday"))
    expiry = _parse_expiry(top.section("expiry"))
    dormant: tuple[int, ...] = DEFAULT_DORMANT_DAYS
    if top.has("dormant_days"):
        dormant = tuple(
            integer(item_path, item, 1, MAX_DORMANT_DAYS)
            for item_path, item in top.items("dormant_days", MAX_DORMANT_THRESHOLDS)
        )
    time_zone = top.text("time_zone", DEFAULT_TIME_ZONE, ZONE_NAME_MAX)
    top.done()
    with prefixed(path):
        return Programme(
            ladder=ladder,
            points=rules,
            birthday=birthday,
            expiry=expiry,
            dormant_days=dormant,
            time_zone=time_zone,
        )


def programme_to_dict(programme: Programme) -> dict[str, Any]:
    """The dict form (plain JSON values) that `parse_programme` reads back to an equal programme."""
    ladder = programme.ladder
    rules = programme.points
    expiry: dict[str, Any]
    if isinstance(programme.expiry, RollingExpiry):
        expiry = {"kind": ExpiryKind.ROLLING.value, "months": programme.expiry.months}
    else:
        expiry = {
            "kind": ExpiryKind.YEARLY.value,
            "month": programme.expiry.month,
            "day": programme.expiry.day,
            "years": programme.expiry.years,
        }
    return {
        "ladder": {
            "tiers": [{"name": t.name, "min_trailing_spend": t.min_trailing_spend} for t in ladder.tiers],
            "window_months": ladder.window_months,
            "may_go_down": ladder.may_go_down,
            "grace_days": ladder.grace_days,
        },
        "points": {
            "points_per_unit": rules.points_per_unit,
            "unit_minor": rules.unit_minor,
            "rounding": rules.rounding.value,
            "earning_payment_types": sorted(rules.earning_payment_types),
            "basis": rules.basis.value,
        },
        "birthday": {"multiplier": programme.birthday.multiplier, "window": programme.birthday.window.value},
        "expiry": expiry,
        "dormant_days": list(programme.dormant_days),
        "time_zone": programme.time_zone,
    }


def _parse_ladder(f: Fields) -> TierLadder:
    tiers: list[Tier] = []
    seen: set[str] = set()
    given = f.has("tiers")
    for item_path, item in f.items("tiers", MAX_TIERS):
        t = Fields(item, item_path)
        name = t.text("name", "", TIER_NAME_MAX)
        if not name:
            raise InvalidArgument(t.path("name"), "a tier needs a name")
        if name.casefold() in seen:
            raise InvalidArgument(t.path("name"), f"tier {name!r} appears twice")
        seen.add(name.casefold())
        if not t.has("min_trailing_spend"):
            raise InvalidArgument(t.path("min_trailing_spend"), "every tier needs min_trailing_spend")
        spend = t.integer("min_trailing_spend", 0, 0, MAX_SPEND)
        t.done()
        tiers.append(Tier(name, spend))
    window = f.integer("window_months", DEFAULT_LADDER.window_months, MIN_WINDOW_MONTHS, MAX_WINDOW_MONTHS)
    may_go_down = f.boolean("may_go_down", DEFAULT_LADDER.may_go_down)
    grace = f.integer("grace_days", DEFAULT_LADDER.grace_days, 0, MAX_GRACE_DAYS)
    f.done()
    with prefixed(f.prefix):
        return TierLadder(
            tuple(tiers) if given else DEFAULT_LADDER.tiers,
            window_months=window,
            may_go_down=may_go_down,
            grace_days=grace,
        )


def _parse_points(f: Fields) -> PointsRules:
    default = PointsRules()
    kinds: set[str] = set()
    for item_path, item in f.items("earning_payment_types", MAX_PAYMENT_TYPES):
        kind = payment_type_key(text(item_path, item, PAYMENT_TYPE_MAX))
        if not kind:
            raise InvalidArgument(item_path, "a payment type needs a name")
        if kind in kinds:
            raise InvalidArgument(item_path, f"payment type {kind!r} appears twice")
        kinds.add(kind)
    rules = PointsRules(
        points_per_unit=f.integer("points_per_unit", default.points_per_unit, 0, MAX_POINTS_PER_UNIT),
        unit_minor=f.integer("unit_minor", default.unit_minor, 1, MAX_UNIT_MINOR),
        rounding=f.choice("rounding", Rounding, default.rounding),
        earning_payment_types=frozenset(kinds),
        basis=f.choice("basis", Basis, default.basis),
    )
    f.done()
    return rules


def _parse_birthday(f: Fields) -> BirthdayRules:
    default = BirthdayRules()
    rules = BirthdayRules(
        multiplier=f.integer("multiplier", default.multiplier, 1, MAX_MULTIPLIER),
        window=f.choice("window", BirthdayWindow, default.window),
    )
    f.done()
    return rules


def _parse_expiry(f: Fields) -> Expiry:
    kind = f.choice("kind", ExpiryKind, ExpiryKind.YEARLY)
    expiry: Expiry
    if kind is ExpiryKind.ROLLING:
        expiry = RollingExpiry(f.integer("months", RollingExpiry().months, 1, MAX_ROLLING_MONTHS))
    else:
        default = YearlyExpiry()
        month = f.integer("month", default.month, 1, 12)
        day = f.integer("day", default.day, 1, 31)
        years = f.integer("years", default.years, 1, MAX_EXPIRY_YEARS)
        with prefixed(f.prefix):
            expiry = YearlyExpiry(month, day, years)
    f.done()
    return expiry


def _check_birthday(birthday: tuple[int, int]) -> None:
    month, day = birthday
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(2000, month)[1]:
        raise ValueError(f"{birthday!r} is not a calendar day")


def _birthday_in(year: int, birthday: tuple[int, int]) -> date:
    month, day = birthday
    if (month, day) == (2, 29) and not calendar.isleap(year):
        day = 28
    return date(year, month, day)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware")
    return value
