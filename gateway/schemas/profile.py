"""Bodies of the profile, consent and blacklist routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.schemas.members import BirthdayBody

Channel = Literal["sms", "wechat", "app", "phone"]


class UpdateProfileBody(BaseModel):
    """Only the fields sent change."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"surname": "Wang", "tags": ["vip", "likes red"], "preferred_channel": "wechat"}]
        },
    )

    name: str | None = Field(default=None, max_length=64)
    surname: str | None = Field(default=None, max_length=64)
    gender: Literal["female", "male", "unknown"] | None = None
    birthday: BirthdayBody | None = None
    tags: list[str] | None = Field(default=None, max_length=50, description="Replaces the tags")
    notes: str | None = Field(default=None, max_length=1000)
    preferred_channel: Channel | Literal[""] | None = None


class ConsentBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"granted": False, "source": "mini_program"}]}
    )

    granted: bool
    source: str = Field(default="", max_length=64, description="Where the change came from")


class SmsReplyBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"phone": "+8613800138000", "text": "T"}]}
    )

    phone: str = Field(min_length=1, max_length=32)
    text: str = Field(max_length=500)


class SmsReplyOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"unsubscribed": True, "member_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAE"}]}
    )

    unsubscribed: bool = Field(description="True when the reply withdrew SMS consent")
    member_id: str | None


class BlacklistBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "confirmed extortionist"}]}
    )

    reason: str = Field(min_length=1, max_length=200)


class ProfileOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "01JD6Q3Z8M4W1T5X9C2B7N0KAE",
                    "name": "Li",
                    "surname": "Wang",
                    "gender": "female",
                    "birthday": {"month": 3, "day": 8, "year": None},
                    "tags": ["vip"],
                    "notes": "prefers calls",
                    "preferred_channel": "wechat",
                    "consent": {"sms": False, "wechat": True, "app": False, "phone": True},
                    "blacklisted": False,
                }
            ]
        }
    )

    id: str
    name: str
    surname: str
    gender: str
    birthday: BirthdayBody | None
    tags: list[str]
    notes: str
    preferred_channel: str
    consent: dict[str, bool]
    blacklisted: bool


class MergeBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"duplicate_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAF"}]}
    )

    duplicate_id: str = Field(min_length=1, max_length=64, description="The other record of the same person")
