"""Bodies of the personal-information routes: export a member's data, erase a member."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErasureBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "PIPL request 2026-118"}]}
    )

    reason: str = Field(min_length=1, max_length=200, description="For the audit trail")


class ErasureOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"member_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAE", "erased_now": True}]}
    )

    member_id: str
    erased_now: bool = Field(description="False when the member had already been erased")


class ExportOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"member_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAE", "data": {"member": {}, "purchases": []}}]
        }
    )

    member_id: str
    data: dict[str, Any] = Field(description="The member record, purchases, points ledger, consent history")
