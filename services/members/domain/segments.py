"""Segments: "members who bought brand X", "gold members who spent over N", as data.

A segment is stored as a plain dict (`spec_to_dict`), validated on the way in
(`parse_segment`), and turned into one MongoDB filter (`to_filter`) that only uses operators
FerretDB v1.24 also understands, because the embedded store is FerretDB. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from chassis.errors import InvalidArgument
from services.members.domain import model
from services.members.domain.purchases import brand_key

CONSENT_CHANNELS = frozenset(model.CONSENT_CHANNELS)
MAX_DAYS = 3650
MAX_ITEMS = 100
MAX_TEXT = 64
# Money is stored as 64-bit integers; a bigger number would crash the driver, not just match nothing.
MAX_MONEY = 2**63 - 1

_PREFIX = "criteria."
_LIST_FIELDS = ("tiers", "tags_any", "tags_all", "tags_none", "home_store_ids", "owner_staff_ids")
_TEXT_FIELDS = ("bought_brand", "bought_category", "consent_channel")
_DAY_FIELDS = (
    "bought_brand_within_days",
    "bought_category_within_days",
    "not_seen_for_days",
    "joined_within_days",
)
_MONEY_FIELDS = ("total_spend_min", "total_spend_max", "trailing_spend_min", "trailing_spend_max")
_INT_FIELDS = (*_DAY_FIELDS, *_MONEY_FIELDS, "birthday_month")
_FLOAT_FIELDS = ("discount_share_min",)


@dataclass(frozen=True)
class SegmentSpec:
    """Who to target. Every criterion is optional and all the given ones must hold (AND).

    Validated on construction, so a spec that exists is one `to_filter` can trust.
    Members who never bought have no `last_purchase_at`, so `not_seen_for_days` does NOT
    select them: "we miss you" is for people who came at least once.
    """

    tiers: tuple[str, ...] = ()
    tags_any: tuple[str, ...] = ()
    tags_all: tuple[str, ...] = ()
    tags_none: tuple[str, ...] = ()
    home_store_ids: tuple[str, ...] = ()
    owner_staff_ids: tuple[str, ...] = ()
    bought_brand: str | None = None
    bought_brand_within_days: int | None = None
    bought_category: str | None = None
    bought_category_within_days: int | None = None
    total_spend_min: int | None = None
    total_spend_max: int | None = None
    trailing_spend_min: int | None = None
    trailing_spend_max: int | None = None
    discount_share_min: float | None = None
    not_seen_for_days: int | None = None
    birthday_month: int | None = None
    joined_within_days: int | None = None
    consent_channel: str | None = None

    def __post_init__(self) -> None:
        for name in _LIST_FIELDS:
            _check_list(name, getattr(self, name))
        for name in _TEXT_FIELDS:
            _check_text(name, getattr(self, name))
        for name in _DAY_FIELDS:
            _check_int(name, getattr(self, name), 1, MAX_DAYS)
        for name in _MONEY_FIELDS:
            _check_int(name, getattr(self, name), 0, MAX_MONEY)
        _check_int("birthday_month", self.birthday_month, 1, 12)
        _check_share("discount_share_min", self.discount_share_min)
        if self.consent_channel is not None and self.consent_channel not in CONSENT_CHANNELS:
            raise InvalidArgument(
                _PREFIX + "consent_channel", f"consent_channel must be one of {sorted(CONSENT_CHANNELS)}"
            )
        _check_range("total_spend", self.total_spend_min, self.total_spend_max)
        _check_range("trailing_spend", self.trailing_spend_min, self.trailing_spend_max)
        for subject in ("bought_brand", "bought_category"):
            if getattr(self, f"{subject}_within_days") is not None and getattr(self, subject) is None:
                raise InvalidArgument(
                    f"{_PREFIX}{subject}_within_days", f"{subject}_within_days needs {subject}"
                )


def parse_segment(raw: dict[str, Any]) -> SegmentSpec:
    """A spec from client or stored JSON; any mistake names the field (e.g. "criteria.tiers").

    Null and empty lists mean "criterion not given", so a form can send every key.
    """
    if not isinstance(cast(object, raw), dict):  # JSON from a client can be anything
        raise InvalidArgument("criteria", "criteria must be an object")
    known = {f.name for f in fields(SegmentSpec)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            shown = str(key)[:MAX_TEXT]
            raise InvalidArgument(_PREFIX + shown, f"unknown criterion {shown!r}")
        if value is None:
            continue
        if key in _LIST_FIELDS:
            if not isinstance(value, list | tuple):
                raise InvalidArgument(_PREFIX + key, f"{key} must be a list of strings")
            value = tuple(v.strip() if isinstance(v, str) else v for v in value)
        elif key in _TEXT_FIELDS and isinstance(value, str):
            value = value.strip()
        elif key in _FLOAT_FIELDS and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        values[key] = value
    return SegmentSpec(**values)


def spec_to_dict(spec: SegmentSpec) -> dict[str, Any]:
    """The JSON-ready form stored with a saved segment; unset criteria are left out."""
    out: dict[str, Any] = {}
    for f in fields(spec):
        value = getattr(spec, f.name)
        if value is None or value == ():
            continue
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def to_filter(spec: SegmentSpec, tenant_id: str, now: datetime) -> dict[str, Any]:
    """The MongoDB filter selecting the spec's members of one tenant.

    The tenant wall and the exclusion of blacklisted, erased and merged-away members are
    added whatever the spec says: no saved segment can message someone we promised not to.
    Operators are limited to what FerretDB v1.24 supports (no $expr, $where, aggregation).
    """
    if not isinstance(tenant_id, str) or not tenant_id.strip():
        raise InvalidArgument("tenant_id", "tenant_id is required")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    conditions: dict[str, dict[str, Any]] = {}

    def where(path: str, op: str, value: Any) -> None:
        conditions.setdefault(path, {})[op] = value

    if spec.tiers:
        where("tier", "$in", list(spec.tiers))
    if spec.tags_any:
        where("tags", "$in", list(spec.tags_any))
    if spec.tags_all:
        where("tags", "$all", list(spec.tags_all))
    if spec.tags_none:
        where("tags", "$nin", list(spec.tags_none))
    if spec.home_store_ids:
        where("home_store_id", "$in", list(spec.home_store_ids))
    if spec.owner_staff_ids:
        where("owner_staff_id", "$in", list(spec.owner_staff_ids))
    for group, name, days in (
        ("brands", spec.bought_brand, spec.bought_brand_within_days),
        ("categories", spec.bought_category, spec.bought_category_within_days),
    ):
        if name is None:
            continue
        path = f"stats.{group}.{brand_key(name)}"  # category_key is the same rule
        if days is None:
            where(path, "$exists", True)
        else:
            where(path + ".last_at", "$gte", now - timedelta(days=days))
    for path, low, high in (
        ("stats.total_spend", spec.total_spend_min, spec.total_spend_max),
        ("stats.trailing_12m_spend", spec.trailing_spend_min, spec.trailing_spend_max),
    ):
        if low is not None:
            where(path, "$gte", low)
        if high is not None:
            where(path, "$lte", high)
    if spec.discount_share_min is not None:
        where("stats.discount_share", "$gte", spec.discount_share_min)
    if spec.not_seen_for_days is not None:
        # $lt never matches a missing field, so members who never bought stay out.
        where("stats.last_purchase_at", "$lt", now - timedelta(days=spec.not_seen_for_days))
    if spec.birthday_month is not None:
        where("birthday.month", "$eq", spec.birthday_month)
    if spec.joined_within_days is not None:
        where("registered_at", "$gte", now - timedelta(days=spec.joined_within_days))
    if spec.consent_channel is not None:
        where(f"consent.{spec.consent_channel}", "$eq", True)

    walls: dict[str, Any] = {
        "tenant_id": tenant_id,
        "blacklist": {"$exists": False},
        "erased": {"$exists": False},
        "merged_into": {"$exists": False},
    }
    return {**walls, **conditions}


def _check_list(name: str, value: object) -> None:
    if not isinstance(value, tuple):
        raise InvalidArgument(_PREFIX + name, f"{name} must be a list of strings")
    if len(value) > MAX_ITEMS:
        raise InvalidArgument(_PREFIX + name, f"{name} has more than {MAX_ITEMS} items")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise InvalidArgument(_PREFIX + name, f"{name} item {index + 1} must be a string")
        if not item.strip():
            raise InvalidArgument(_PREFIX + name, f"{name} item {index + 1} is empty")
        if len(item) > MAX_TEXT:
            raise InvalidArgument(
                _PREFIX + name, f"{name} item {index + 1} is longer than {MAX_TEXT} characters"
            )


def _check_text(name: str, value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise InvalidArgument(_PREFIX + name, f"{name} must be a string")
    if not value.strip():
        raise InvalidArgument(_PREFIX + name, f"{name} is empty")
    if len(value) > MAX_TEXT:
        raise InvalidArgument(_PREFIX + name, f"{name} is longer than {MAX_TEXT} characters")


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if value is None:
        return
    # bool is an int in Python; `true` for a number of days is a client bug, not 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgument(_PREFIX + name, f"{name} must be a whole number")
    if not low <= value <= high:
        raise InvalidArgument(_PREFIX + name, f"{name} must be between {low} and {high}")


def _check_share(name: str, value: object) -> None:
    if value is None:
        return
    if not isinstance(value, float | int) or isinstance(value, bool):
        raise InvalidArgument(_PREFIX + name, f"{name} must be a number")
    if not 0 <= value <= 1:  # also rejects NaN
        raise InvalidArgument(_PREFIX + name, f"{name} must be between 0 and 1")


def _check_range(stem: str, low: int | None, high: int | None) -> None:
    if low is not None and high is not None and low > high:
        raise InvalidArgument(f"{_PREFIX}{stem}_max", f"{stem}_max must not be smaller than {stem}_min")
