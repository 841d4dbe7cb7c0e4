"""A tenant's feedback policy: service levels by severity, business hours, compensation presets
and budget, when a medium review opens a case, the follow-up day, the risk threshold. No I/O.

A tenant that never set one runs the defaults (version 0): first response / resolution within
48/120 business hours for a low-severity case, 24/72 for medium, 4/24 for high; open Monday to
Sunday 10:00-22:00 in Asia/Shanghai; a ¥5 coupon for a medium review's case and ¥10 for a bad
one's (the articles' example) — but no template chosen yet and a budget of 0, so no coupon is
issued until the tenant names its templates and sets a budget; medium reviews open no case;
follow up 7 days after resolution; a manager decides at risk 60 and above; a satisfaction
survey 3 days after each purchase, earning no points, an answer with CSAT 2 or less or NPS 6
or less opening a case.

`parse_policy` reads the dict form (what the gRPC edge and the store hand over) and names the
field of any mistake ("slas[1].resolution_hours", "business_hours[0].closes"). An absent key
takes its default, and so does an empty list (protobuf cannot tell an empty list from none).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chassis import fields
from chassis.errors import InvalidArgument
from chassis.fields import Fields
from services.feedback.domain.reviews import RatingClass
from services.feedback.domain.sla import BusinessDay, Schedule, Severity, hhmm

DEFAULT_ZONE = "Asia/Shanghai"
HOURS_MAX = 2000
FOLLOW_UP_DAYS_MAX = 60
BUDGET_MAX = 10**10  # minor units
PRESET_VALUE_MAX = 10**8
TEMPLATE_ID_MAX = 64
STORE_ID_MAX = 128
STORES_MAX = 2000
ZONE_NAME_MAX = 64
SURVEY_DELAY_DAYS_MAX = 60
SURVEY_POINTS_MAX = 1_000_000
META_KEYS = ("tenant_id", "version", "changed_by", "changed_at")


@dataclass(frozen=True)
class SlaHours:
    severity: Severity
    first_response_hours: int
    resolution_hours: int


@dataclass(frozen=True)
class CompensationPreset:
    """The coupon a case opened from a review of this class gets, and what it is worth."""

    rating_class: RatingClass
    template_id: str  # "" until the tenant chooses one: no coupon is issued then
    value: int  # minor units, charged to the store's monthly budget


@dataclass(frozen=True)
class StoreHours:
    store_id: str
    days: Schedule


DEFAULT_SLAS = (
    SlaHours(Severity.LOW, 48, 120),
    SlaHours(Severity.MEDIUM, 24, 72),
    SlaHours(Severity.HIGH, 4, 24),
)
DEFAULT_HOURS: Schedule = tuple(BusinessDay(d, 10 * 60, 22 * 60) for d in range(1, 8))
DEFAULT_PRESETS = (
    CompensationPreset(RatingClass.MEDIUM, "", 500),
    CompensationPreset(RatingClass.BAD, "", 1000),
)


@dataclass(frozen=True)
class FeedbackPolicy:
    tenant_id: str
    slas: tuple[SlaHours, ...] = DEFAULT_SLAS
    business_hours: Schedule = DEFAULT_HOURS
    store_hours: tuple[StoreHours, ...] = ()
    time_zone: str = DEFAULT_ZONE
    presets: tuple[CompensationPreset, ...] = DEFAULT_PRESETS
    store_monthly_budget: int = 0  # minor units per store and calendar month; 0: no coupons
    open_case_for_medium: bool = False
    follow_up_days: int = 7
    risk_threshold: int = 60
    survey_delay_days: int = 3  # after a purchase; 0: no surveys
    survey_points: int = 0  # what an answer earns (members, once per survey)
    survey_case_csat_max: int = 2  # an answer's CSAT at or below this opens a case; 0: never
    survey_case_nps_max: int = 6  # its NPS at or below this opens a case; -1: never
    version: int = 0  # 0: the defaults, never stored
    changed_by: str = ""
    changed_at: datetime | None = field(default=None, compare=False)

    def sla(self, severity: Severity) -> SlaHours:
        return next(s for s in self.slas if s.severity is severity)

    def schedule(self, store_id: str) -> Schedule:
        """The store's own hours if it keeps others, else the chain's."""
        own = next((s.days for s in self.store_hours if s.store_id == store_id), None)
        return own or self.business_hours

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def preset(self, rating_class: RatingClass) -> CompensationPreset | None:
        return next((p for p in self.presets if p.rating_class is rating_class), None)


def defaults(tenant_id: str) -> FeedbackPolicy:
    return FeedbackPolicy(tenant_id)


def _minutes(path: str, value: object, closing: bool) -> int:
    raw = fields.text(path, value, 5)
    hours, sep, minutes = raw.partition(":")
    if sep and len(hours) == 2 and len(minutes) == 2 and hours.isdigit() and minutes.isdigit():
        h, m = int(hours), int(minutes)
        if (h < 24 and m < 60) or (closing and (h, m) == (24, 0)):
            return h * 60 + m
    latest = "24:00" if closing else "23:59"
    raise InvalidArgument(path, f'{path} must be a time "HH:MM" from 00:00 to {latest}')


def _schedule(parent: Fields, key: str, default: Schedule) -> Schedule:
    items = parent.items(key, 7)
    if not items:
        return default
    days: dict[int, BusinessDay] = {}
    for path, item in items:
        day = Fields(item, path)
        weekday = day.integer("weekday", 0, 1, 7) if day.has("weekday") else 0
        if not weekday:
            raise InvalidArgument(f"{path}.weekday", f"{path}.weekday is required (1 = Monday .. 7 = Sunday)")
        if weekday in days:
            raise InvalidArgument(f"{path}.weekday", f"weekday {weekday} is listed twice")
        opens = _minutes(f"{path}.opens", day.raw("opens"), closing=False)
        closes = _minutes(f"{path}.closes", day.raw("closes"), closing=True)
        if closes <= opens:
            raise InvalidArgument(f"{path}.closes", f"{path}.closes must be after opens ({hhmm(opens)})")
        day.done()
        days[weekday] = BusinessDay(weekday, opens, closes)
    return tuple(days[d] for d in sorted(days))


def _slas(top: Fields) -> tuple[SlaHours, ...]:
    given: dict[Severity, SlaHours] = {}
    for path, item in top.items("slas", len(Severity)):
        entry = Fields(item, path)
        severity = fields.choice(f"{path}.severity", entry.raw("severity"), Severity)
        if severity in given:
            raise InvalidArgument(f"{path}.severity", f"severity {severity.value} is listed twice")
        default = next(s for s in DEFAULT_SLAS if s.severity is severity)
        first = entry.integer("first_response_hours", default.first_response_hours, 1, HOURS_MAX)
        resolution = entry.integer("resolution_hours", default.resolution_hours, 1, HOURS_MAX)
        if resolution < first:
            raise InvalidArgument(
                f"{path}.resolution_hours",
                f"{path}.resolution_hours must not be shorter than first_response_hours ({first})",
            )
        entry.done()
        given[severity] = SlaHours(severity, first, resolution)
    return tuple(given.get(d.severity, d) for d in DEFAULT_SLAS)


def _presets(top: Fields) -> tuple[CompensationPreset, ...]:
    given: dict[RatingClass, CompensationPreset] = {}
    for path, item in top.items("presets", 2):
        entry = Fields(item, path)
        kind = fields.choice(f"{path}.rating_class", entry.raw("rating_class"), RatingClass)
        if kind is RatingClass.GOOD:
            raise InvalidArgument(
                f"{path}.rating_class", "a good review opens no case: presets are medium or bad"
            )
        if kind in given:
            raise InvalidArgument(f"{path}.rating_class", f"rating class {kind.value} is listed twice")
        default = next(p for p in DEFAULT_PRESETS if p.rating_class is kind)
        template = entry.text("template_id", "", TEMPLATE_ID_MAX)
        value = entry.integer("value", default.value, 0, PRESET_VALUE_MAX)
        entry.done()
        given[kind] = CompensationPreset(kind, template, value)
    return tuple(given.get(p.rating_class, p) for p in DEFAULT_PRESETS)


def _store_hours(top: Fields) -> tuple[StoreHours, ...]:
    stores: dict[str, StoreHours] = {}
    for path, item in top.items("store_hours", STORES_MAX):
        entry = Fields(item, path)
        store_id = entry.text("store_id", "", STORE_ID_MAX)
        if not store_id:
            raise InvalidArgument(f"{path}.store_id", f"{path}.store_id is required")
        if store_id in stores:
            raise InvalidArgument(f"{path}.store_id", f"store {store_id} is listed twice")
        days = _schedule(entry, "days", ())
        if not days:
            raise InvalidArgument(f"{path}.days", f"{path}.days needs at least one open day")
        entry.done()
        stores[store_id] = StoreHours(store_id, days)
    return tuple(stores.values())


def _zone(top: Fields) -> str:
    name = top.text("time_zone", "", ZONE_NAME_MAX) or DEFAULT_ZONE
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidArgument(
            "time_zone", "time_zone must be an IANA zone name such as Asia/Shanghai"
        ) from exc
    return name


def parse_policy(data: Mapping[str, object], tenant_id: str) -> FeedbackPolicy:
    """The policy the dict form describes (version 0: the use case numbers it)."""
    top = Fields(data)
    policy = FeedbackPolicy(
        tenant_id=tenant_id,
        slas=_slas(top),
        business_hours=_schedule(top, "business_hours", DEFAULT_HOURS),
        store_hours=_store_hours(top),
        time_zone=_zone(top),
        presets=_presets(top),
        store_monthly_budget=top.integer("store_monthly_budget", 0, 0, BUDGET_MAX),
        open_case_for_medium=top.boolean("open_case_for_medium", False),
        follow_up_days=top.integer("follow_up_days", 7, 1, FOLLOW_UP_DAYS_MAX),
        risk_threshold=top.integer("risk_threshold", 60, 1, 100),
        survey_delay_days=top.integer("survey_delay_days", 3, 0, SURVEY_DELAY_DAYS_MAX),
        survey_points=top.integer("survey_points", 0, 0, SURVEY_POINTS_MAX),
        survey_case_csat_max=top.integer("survey_case_csat_max", 2, 0, 5),
        survey_case_nps_max=top.integer("survey_case_nps_max", 6, -1, 10),
    )
    top.done()
    return policy


def _days_to_list(days: Schedule) -> list[dict[str, Any]]:
    return [{"weekday": d.weekday, "opens": hhmm(d.opens), "closes": hhmm(d.closes)} for d in days]


def settings_to_dict(policy: FeedbackPolicy) -> dict[str, Any]:
    """The dict form `parse_policy` reads back to an equal policy (plain JSON values)."""
    return {
        "slas": [
            {
                "severity": s.severity.value,
                "first_response_hours": s.first_response_hours,
                "resolution_hours": s.resolution_hours,
            }
            for s in policy.slas
        ],
        "business_hours": _days_to_list(policy.business_hours),
        "store_hours": [{"store_id": s.store_id, "days": _days_to_list(s.days)} for s in policy.store_hours],
        "time_zone": policy.time_zone,
        "presets": [
            {"rating_class": p.rating_class.value, "template_id": p.template_id, "value": p.value}
            for p in policy.presets
        ],
        "store_monthly_budget": policy.store_monthly_budget,
        "open_case_for_medium": policy.open_case_for_medium,
        "follow_up_days": policy.follow_up_days,
        "risk_threshold": policy.risk_threshold,
        "survey_delay_days": policy.survey_delay_days,
        "survey_points": policy.survey_points,
        "survey_case_csat_max": policy.survey_case_csat_max,
        "survey_case_nps_max": policy.survey_case_nps_max,
    }


def to_dict(policy: FeedbackPolicy) -> dict[str, Any]:
    """What the store keeps: the settings, the tenant, the version and who made it when."""
    return {
        **settings_to_dict(policy),
        "tenant_id": policy.tenant_id,
        "version": policy.version,
        "changed_by": policy.changed_by,
        "changed_at": policy.changed_at,
    }


def from_dict(data: Mapping[str, Any]) -> FeedbackPolicy:
    """The policy `to_dict` made (checked again: a stored policy obeys today's rules too)."""
    settings = {k: v for k, v in data.items() if k not in META_KEYS}
    changed_at = data.get("changed_at")
    return replace(
        parse_policy(settings, str(data["tenant_id"])),
        version=int(data.get("version", 0)),
        changed_by=str(data.get("changed_by", "")),
        changed_at=changed_at if isinstance(changed_at, datetime) else None,
    )
