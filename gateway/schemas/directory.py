"""Bodies of the directory routes: stores, staff, handovers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue


class CreateStoreBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"code": "sh-01", "name": "Shanghai Jing'an", "city": "Shanghai"}]},
    )

    code: str = Field(
        min_length=1, max_length=32, description="The chain's own store code; a-z, 0-9, '-', '_'"
    )
    name: str = Field(max_length=64)
    city: str = Field(default="", max_length=64)


class StoreOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "sh-01",
                    "name": "Shanghai Jing'an",
                    "city": "Shanghai",
                    "created_at": "2026-11-23T10:00:00Z",
                }
            ]
        }
    )

    code: str
    name: str
    city: str
    created_at: datetime


class StoreList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "code": "sh-01",
                            "name": "Shanghai Jing'an",
                            "city": "Shanghai",
                            "created_at": "2026-11-23T10:00:00Z",
                        }
                    ]
                }
            ]
        }
    )

    items: list[StoreOut]


class AddStaffBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Wang Fang", "role": "assistant"}]}
    )

    name: str = Field(max_length=64)
    role: Literal["assistant", "manager"] = "assistant"


_STAFF_EXAMPLE: dict[str, JsonValue] = {
    "id": "01JD6Q3Z8M4W1T5X9C2B7N0KAE",
    "store_code": "sh-01",
    "name": "Wang Fang",
    "role": "assistant",
    "status": "active",
    "referral_codes": ["K7P3M9QX"],
    "successor_id": None,
}


class StaffOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_STAFF_EXAMPLE]})

    id: str
    store_code: str
    name: str
    role: Literal["assistant", "manager"]
    status: Literal["active", "left"]
    referral_codes: list[str] = Field(
        description="Badge QR codes; a customer enrolled with one is owned by this assistant"
    )
    successor_id: str | None = Field(description="Who took over, once the assistant has left")


class StaffList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_STAFF_EXAMPLE]}]})

    items: list[StaffOut]


class StartHandoverBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"to_staff_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAF"}]}
    )

    to_staff_id: str = Field(min_length=1, max_length=64, description="The successor, an active assistant")


class HandoverOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5f0c9a1e2b3d4c5e6f7a8b9c0d",
                    "from_staff_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAE",
                    "to_staff_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAF",
                    "state": "running",
                    "members_moved": 0,
                    "requested_by": "rg-key 01jd6q3z",
                    "started_at": "2026-11-23T10:00:00Z",
                    "finished_at": None,
                }
            ]
        }
    )

    id: str
    from_staff_id: str
    to_staff_id: str
    state: Literal["running", "done"]
    members_moved: int = Field(description="Members announced to the successor so far (final once done)")
    requested_by: str
    started_at: datetime
    finished_at: datetime | None
