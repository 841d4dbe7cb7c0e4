"""Bodies of the programme routes: a tenant's loyalty programme, its earning rules and versions.

The members service judges a programme (services/members/domain/programme.py) and names the
field at fault by its path ("ladder.tiers[1].min_trailing_spend"), so the bodies here only
bound what they carry: every field is optional and None means "not sent". Numbers are bounded
by what protobuf carries (32- or 64-bit), strings and lists by size; the ranges that make sense
(a window of 1 to 36 months, a multiplier of 2 to 100) are the service's to say.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from gateway.schemas.common import UtcTimestamp
from gateway.schemas.purchases import PaymentBody, PointsShareOut, PurchaseLineBody

INT32 = 2**31 - 1
INT64 = 2**63 - 1
TEXT_MAX = 256  # a bound on size only: the service says how long a name may be
LIST_MAX = 1_000
Names = list[str]

_LADDER: dict[str, JsonValue] = {
    "tiers": [
        {"name": "classic", "min_trailing_spend": 0},
        {"name": "silver", "min_trailing_spend": 500_000},
        {"name": "gold", "min_trailing_spend": 2_000_000},
    ],
    "window_months": 12,
    "may_go_down": True,
    "grace_days": 30,
}
_POINTS: dict[str, JsonValue] = {
    "points_per_unit": 1,
    "unit_minor": 100,
    "rounding": "floor",
    "earning_payment_types": [],
    "basis": "paid",
}
_SETTINGS: dict[str, JsonValue] = {
    "ladder": _LADDER,
    "points": _POINTS,
    "birthday": {"multiplier": 2, "window": "day"},
    "expiry": {"kind": "yearly", "months": None, "month": 1, "day": 1, "years": 2},
    "dormant_days": [30, 60, 90],
    "time_zone": "Asia/Shanghai",
}
_RULE: dict[str, JsonValue] = {
    "name": "Double points on Rouge Co at weekends",
    "valid_from": "2026-11-01T00:00:00Z",
    "valid_until": "2027-01-01T00:00:00Z",
    "days_of_week": ["fri", "sat", "sun"],
    "brands": ["Rouge Co"],
    "multiplier": 2,
}
_RULE_OUT: dict[str, JsonValue] = {
    "id": "weekend-rouge",
    "name": "Double points on Rouge Co at weekends",
    "valid_from": "2026-11-01T00:00:00Z",
    "valid_until": "2027-01-01T00:00:00Z",
    "days_of_week": ["fri", "sat", "sun"],
    "stores": [],
    "tiers": [],
    "brands": ["Rouge Co"],
    "categories": [],
    "skus": [],
    "multiplier": 2,
    "bonus_points": None,
    "first_purchase_in_store": False,
    "cap_per_member": None,
    "active": True,
}
_VERSION: dict[str, JsonValue] = {
    "version": 3,
    "settings": _SETTINGS,
    "earning_rules": [_RULE_OUT],
    "changed_by": "api_key:01jd6q3z8m4w1t5x9c2b7n0kae",
    "changed_at": "2026-11-23T10:00:00Z",
}


def _int32(description: str = "") -> Any:
    return Field(default=None, ge=-INT32, le=INT32, description=description or None)


def _int64(description: str = "") -> Any:
    return Field(default=None, ge=-INT64, le=INT64, description=description or None)


def _text(description: str = "") -> Any:
    return Field(default=None, max_length=TEXT_MAX, description=description or None)


# --- A change of the programme -----------------------------------------------------------------


class TierBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = _text("Unique on the ladder, e.g. gold")
    min_trailing_spend: int | None = _int64("Trailing spend (minor units) from which a member is here")


class LadderBody(BaseModel):
    """The tier ladder. Sent, it replaces the current one; a field left out takes its default."""

    model_config = ConfigDict(extra="forbid")

    tiers: list[TierBody] | None = Field(
        default=None, max_length=100, description="Lowest first; the first starts at 0, then strictly up"
    )
    window_months: int | None = _int32("The trailing window of spend that counts, in months")
    may_go_down: bool | None = None
    grace_days: int | None = _int32("Days a member keeps a tier their spend no longer reaches")


class PointsRulesBody(BaseModel):
    """How purchases earn: `points_per_unit` points for each `unit_minor` minor units."""

    model_config = ConfigDict(extra="forbid")

    points_per_unit: int | None = _int64()
    unit_minor: int | None = _int64("100: per yuan (or dollar, euro)")
    rounding: str | None = _text('A part of a unit: "floor", "nearest" or "ceil"')
    earning_payment_types: Names | None = Field(
        default=None, max_length=100, description="Payment types that earn; empty: all do"
    )
    basis: str | None = _text('"paid" (the price after discounts) or "list"')


class BirthdayRulesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    multiplier: int | None = _int32("Base points are multiplied by this in the window (1: no bonus)")
    window: str | None = _text('"day", "week" or "month" of the birthday, in the tenant\'s zone')


class ExpiryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str | None = _text('"rolling": `months` after earning; "yearly": on `month`/`day`, `years` on')
    months: int | None = _int32()
    month: int | None = _int32()
    day: int | None = _int32()
    years: int | None = _int32()


class ProgrammeChangeBody(BaseModel):
    """Each section sent replaces the current one (a field it leaves out takes its default);
    sections not sent stay as they are. A change that changes nothing makes no version."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "ladder": _LADDER,
                    "points": {"points_per_unit": 2, "unit_minor": 100},
                    "expected_version": 2,
                }
            ]
        },
    )

    ladder: LadderBody | None = None
    points: PointsRulesBody | None = None
    birthday: BirthdayRulesBody | None = None
    expiry: ExpiryBody | None = None
    dormant_days: list[Annotated[int, Field(ge=-INT32, le=INT32)]] | None = Field(
        default=None,
        max_length=100,
        description="Days without a purchase after which member_dormant is sent, strictly up",
    )
    time_zone: str | None = _text("IANA name, e.g. Asia/Shanghai: days, weeks and birthdays are the tenant's")
    expected_version: int | None = Field(
        default=None,
        ge=0,
        le=INT64,
        description="Change only if this is still the current version (else 409); 0 or absent: no check",
    )

    def sections(self) -> dict[str, Any]:
        """The sections the client sent, each with only the fields it sent."""
        return self.model_dump(exclude_unset=True, exclude_none=True, exclude={"expected_version"})


class EarningRuleBody(BaseModel):
    """An earning rule on top of the base rate; its id is in the path. Lists left empty match
    anything; a line matches when it passes brands, categories and SKUs."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                _RULE,
                {
                    "name": "+200 for a first purchase in Jing'an",
                    "stores": ["sh-02"],
                    "bonus_points": 200,
                    "first_purchase_in_store": True,
                },
            ]
        },
    )

    name: str | None = _text()
    valid_from: UtcTimestamp | None = Field(default=None, description="Inclusive; absent: no bound")
    valid_until: UtcTimestamp | None = Field(default=None, description="Exclusive; absent: no bound")
    days_of_week: Names | None = Field(
        default=None, max_length=7, description='"mon" .. "sun", in the tenant\'s zone; empty: every day'
    )
    stores: Names | None = Field(default=None, max_length=LIST_MAX)
    tiers: Names | None = Field(default=None, max_length=LIST_MAX, description="Tiers on the ladder")
    brands: Names | None = Field(default=None, max_length=LIST_MAX)
    categories: Names | None = Field(default=None, max_length=LIST_MAX)
    skus: Names | None = Field(default=None, max_length=LIST_MAX)
    multiplier: int | None = _int32("The matching lines' base points count this many times (2: double)")
    bonus_points: int | None = _int64("Fixed points once per purchase (instead of a multiplier)")
    first_purchase_in_store: bool | None = Field(
        default=None, description="Only the member's first purchase in the store"
    )
    cap_per_member: int | None = _int64("The most points this rule gives one member; absent: no cap")
    active: bool | None = Field(default=None, description="Absent: true")
    expected_version: int | None = Field(
        default=None,
        ge=0,
        le=INT64,
        description="Change only if this is still the current version (else 409); 0 or absent: no check",
    )

    def rule(self) -> dict[str, Any]:
        """The rule's fields the client sent, as JSON values (moments as ISO 8601)."""
        return self.model_dump(
            mode="json", exclude_unset=True, exclude_none=True, exclude={"expected_version"}
        )


# --- The programme as it is --------------------------------------------------------------------


class TierOut(BaseModel):
    name: str
    min_trailing_spend: int


class LadderOut(BaseModel):
    tiers: list[TierOut]
    window_months: int
    may_go_down: bool
    grace_days: int


class PointsSettingsOut(BaseModel):
    points_per_unit: int
    unit_minor: int
    rounding: str
    earning_payment_types: list[str]
    basis: str


class BirthdayOut(BaseModel):
    multiplier: int
    window: str


class ExpiryOut(BaseModel):
    kind: str
    months: int | None = Field(description="For a rolling expiry")
    month: int | None = Field(description="For a yearly expiry")
    day: int | None
    years: int | None


class ProgrammeSettingsOut(BaseModel):
    ladder: LadderOut
    points: PointsSettingsOut
    birthday: BirthdayOut
    expiry: ExpiryOut
    dormant_days: list[int]
    time_zone: str


class EarningRuleOut(BaseModel):
    id: str
    name: str
    valid_from: datetime | None
    valid_until: datetime | None
    days_of_week: list[str]
    stores: list[str]
    tiers: list[str]
    brands: list[str]
    categories: list[str]
    skus: list[str]
    multiplier: int | None
    bonus_points: int | None
    first_purchase_in_store: bool
    cap_per_member: int | None
    active: bool


class ProgrammeVersionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_VERSION]})

    version: int = Field(description="0: the defaults, for a tenant that never changed its programme")
    settings: ProgrammeSettingsOut
    earning_rules: list[EarningRuleOut]
    changed_by: str | None = Field(description="The API key or staff that made this version")
    changed_at: datetime | None


class ProgrammeVersionList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_VERSION]}]})

    items: list[ProgrammeVersionOut] = Field(description="Newest first")


# --- What a cart would earn --------------------------------------------------------------------


class EarningPreviewBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "member_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAE",
                    "store_id": "sh-01",
                    "lines": [
                        {
                            "sku": "LIP-01",
                            "brand": "Rouge Co",
                            "category": "Lipstick",
                            "quantity": 1,
                            "list_price": 32000,
                            "paid_price": 28800,
                        }
                    ],
                    "payments": [{"type": "wechat_pay", "amount": 28800}],
                    "at": "2026-11-28T10:00:00+08:00",
                }
            ]
        },
    )

    member_id: str = Field(min_length=1, max_length=64)
    store_id: str = Field(max_length=64)
    lines: list[PurchaseLineBody] = Field(max_length=200)
    payments: list[PaymentBody] = Field(default_factory=list, max_length=20)
    at: UtcTimestamp | None = Field(default=None, description="When the purchase would be; absent: now")


class EarningPreviewOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "programme_version": 3,
                    "points": 576,
                    "shares": [
                        {"source": "base", "rule_id": None, "points": 288},
                        {"source": "rule", "rule_id": "weekend-rouge", "points": 288},
                    ],
                    "tier": "silver",
                }
            ]
        }
    )

    programme_version: int
    points: int
    shares: list[PointsShareOut]
    tier: str = Field(description="The tier the member would be scored at")
