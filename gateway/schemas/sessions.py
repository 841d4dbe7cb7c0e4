"""Bodies of the session routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator


class MemberSessionBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"phone": "+8613800138000"}, {"openid": "oWx1d5Kq2Lp3Mn4Bv5Cx6Zz7Yy8"}]
        },
    )

    phone: str = Field(
        default="", max_length=32, description="The member's phone, as the mini-program knows it"
    )
    openid: str = Field(default="", max_length=64, description="Or the user's WeChat openid")

    @model_validator(mode="after")
    def _one_of(self) -> MemberSessionBody:
        if bool(self.phone) == bool(self.openid):
            raise ValueError("give exactly one of phone or openid")
        return self


class MemberSessionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "token": "eyJhbGciOiJIUzI1NiJ9.e30.signature",
                    "token_type": "Bearer",
                    "member_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAE",
                    "expires_at": "2026-11-23T10:15:00Z",
                }
            ]
        }
    )

    token: str = Field(description="Send as `Authorization: Bearer <token>`; acts only for this member")
    token_type: str = "Bearer"
    member_id: str
    expires_at: datetime


class StaffSessionBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"staff_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAF"}]}
    )

    staff_id: str = Field(min_length=1, max_length=64, description="The signed-in assistant or manager")


class StaffSessionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "token": "eyJhbGciOiJIUzI1NiJ9.e30.signature",
                    "token_type": "Bearer",
                    "staff_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAF",
                    "role": "assistant",
                    "store_code": "sh-01",
                    "expires_at": "2026-11-23T10:15:00Z",
                }
            ]
        }
    )

    token: str = Field(description="An assistant sees their own members, a manager their store's")
    token_type: str = "Bearer"
    staff_id: str
    role: str
    store_code: str
    expires_at: datetime
