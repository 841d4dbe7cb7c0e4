"""Request and response bodies of the members routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class BirthdayBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)
    year: int | None = Field(default=None, ge=1900, le=2100, description="Optional")


class EnrollMemberBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"phone": "+8613800138000", "name": "Li", "surname": "Wang", "store_id": "sh-01"}]
        },
    )

    phone: str = Field(
        default="",
        max_length=32,
        description=(
            "As typed; without a leading + it is read in the tenant's default region. Required "
            "unless `openid` is given"
        ),
    )
    name: str = Field(max_length=64, description="Given name")
    surname: str = Field(default="", max_length=64, description='For greetings such as "Ms Wang"')
    store_id: str = Field(default="", max_length=64, description="The store enrolling the member")
    staff_code: str = Field(
        default="",
        max_length=32,
        description="Badge code of the assistant enrolling them: they become the owner",
    )
    gender: Literal["female", "male", "unknown"] = "unknown"
    birthday: BirthdayBody | None = Field(default=None, description="For the birthday gift and double points")
    tags: list[str] = Field(default_factory=list, max_length=50)
    notes: str = Field(default="", max_length=1000, description="Temperament, preferences; never logged")
    openid: str = Field(
        default="",
        max_length=64,
        description="A mini-program sign-up: the user's WeChat openid; enrolling it again gives that member",
    )
    unionid: str = Field(default="", max_length=64, description="The user's WeChat unionid, if known")
    referral_code: str = Field(
        default="",
        max_length=32,
        description=(
            "From a referral link: a member's referral code or an assistant's badge code (the "
            "assistant becomes the owner). The referrer is thanked on the first purchase"
        ),
    )


class MemberOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "01JD6Q3Z8M4W1T5X9C2B7N0KAE",
                    "phone": "+8613800138000",
                    "name": "Li",
                    "surname": "Wang",
                    "home_store_id": "sh-01",
                    "owner_staff_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAF",
                    "registered_at": "2026-11-23T10:00:00Z",
                }
            ]
        }
    )

    id: str
    phone: str = Field(description="E.164")
    name: str
    surname: str
    home_store_id: str
    owner_staff_id: str | None = Field(description="The assistant who looks after the member")
    gender: str = "unknown"
    birthday: BirthdayBody | None = None
    tags: list[str] = Field(default_factory=list)
    registered_at: datetime
    tier: str = Field(default="", description="Membership tier, e.g. normal, silver, gold, diamond")
    referred_by: ReferrerOut | None = Field(default=None, description="Who brought the member in")


class ReferrerOut(BaseModel):
    kind: Literal["member", "staff"]
    id: str


class ReferralCodeOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"member_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAE", "code": "R7K2M9QX"}]}
    )

    member_id: str
    code: str = Field(description="Put it in a share link or QR code; a friend enrols with `referral_code`")


class InboxMessageOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "01JINB8X3R6V7Q2M4N5P6Q7R8S",
                    "kind": "order-ready",
                    "title": "Your order is ready",
                    "body": "Ms Wang, come and collect it.",
                    "created_at": "2026-12-02T02:00:00Z",
                    "read_at": "2026-12-02T02:05:00Z",
                    "message_id": "01JMSG8X3R6V7Q2M4N5P6Q7R8S",
                }
            ]
        }
    )

    id: str
    kind: str = Field(description='"welcome", or the template the message was rendered from')
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None = Field(default=None, description="When the member opened it")
    message_id: str = Field(default="", description="The message it delivers (empty for the welcome)")


class InboxPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": "01JD6Q3Z9A0000000000000000",
                            "kind": "welcome",
                            "title": "Welcome to our membership",
                            "body": "Hello Li Wang, you are now a member.",
                            "created_at": "2026-11-23T10:00:00Z",
                        }
                    ],
                    "next_page_token": None,
                }
            ]
        }
    )

    items: list[InboxMessageOut]
    next_page_token: str | None = Field(description="Pass as page_token for the next page; null on the last")
