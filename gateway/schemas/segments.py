"""Bodies of the segment routes. Criteria mirror services/members/domain/segments.py."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from gateway.schemas.members import MemberOut

_CRITERIA_EXAMPLE: dict[str, JsonValue] = {
    "tiers": ["gold"],
    "bought_brand": "Rouge Co",
    "bought_brand_within_days": 90,
    "consent_channel": "wechat",
}
Names = list[str]


class SegmentCriteria(BaseModel):
    """All given criteria must hold. Blacklisted, erased and merged members never match."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_CRITERIA_EXAMPLE]})

    tiers: Names | None = Field(default=None, max_length=100)
    tags_any: Names | None = Field(default=None, max_length=100)
    tags_all: Names | None = Field(default=None, max_length=100)
    tags_none: Names | None = Field(default=None, max_length=100)
    home_store_ids: Names | None = Field(default=None, max_length=100)
    owner_staff_ids: Names | None = Field(
        default=None, max_length=100, description="Includes the members of those they succeeded"
    )
    bought_brand: str | None = Field(default=None, max_length=64)
    bought_brand_within_days: int | None = Field(default=None, ge=1, le=3650)
    bought_category: str | None = Field(default=None, max_length=64)
    bought_category_within_days: int | None = Field(default=None, ge=1, le=3650)
    total_spend_min: int | None = Field(default=None, ge=0, le=2**62, description="Minor units")
    total_spend_max: int | None = Field(default=None, ge=0, le=2**62)
    trailing_spend_min: int | None = Field(
        default=None, ge=0, le=2**62, description="Last 12 months, minor units"
    )
    trailing_spend_max: int | None = Field(default=None, ge=0, le=2**62)
    discount_share_min: float | None = Field(
        default=None, ge=0, le=1, description="Share of purchases with a discount or coupon"
    )
    not_seen_for_days: int | None = Field(
        default=None, ge=1, le=3650, description="Last purchase at least N days ago"
    )
    birthday_month: int | None = Field(default=None, ge=1, le=12)
    joined_within_days: int | None = Field(default=None, ge=1, le=3650)
    consent_channel: Literal["sms", "wechat", "app", "phone"] | None = None

    def given(self) -> dict[str, object]:
        return self.model_dump(exclude_none=True)


class CreateSegmentBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Gold wechat Rouge buyers", "criteria": _CRITERIA_EXAMPLE}]},
    )

    name: str = Field(max_length=100)
    criteria: SegmentCriteria


class PreviewBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"criteria": _CRITERIA_EXAMPLE, "sample_size": 10}]}
    )

    criteria: SegmentCriteria
    sample_size: int = Field(default=10, ge=1, le=100)


class SegmentOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "01JD6Q3Z8M4W1T5X9C2B7N0KAE",
                    "name": "Gold wechat Rouge buyers",
                    "criteria": _CRITERIA_EXAMPLE,
                    "created_at": "2026-11-23T10:00:00Z",
                }
            ]
        }
    )

    id: str
    name: str
    criteria: dict[str, object]
    created_at: datetime


class PreviewOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"count": 1280, "sample": []}]})

    count: int
    sample: list[MemberOut]
