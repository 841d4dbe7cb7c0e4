"""Bodies of the staff-task routes: the assistant's to-dos (call or message a member 1-to-1, with
a script), their completion and each assistant's statistics.

The messaging service judges what a body says; the outcome is one of fixed words, so a bad one
is a 422 naming `outcome` before any call. Response bodies carry no bounds: they say what is
stored. Empty references (a task of the store, with no assistant yet) come back as null.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

NOTES_MAX = 2000  # the service's own limit
REF_MAX = 128

OutcomeName = Literal["contacted", "no_answer", "declined", "wrong_number"]
ListingName = Literal["due", "overdue", "open", "done"]
Ref = Annotated[str, Field(max_length=REF_MAX)]

_TASK_OUT: dict[str, JsonValue] = {
    "id": "V7G2M3QJ5XW4K6N2B7C3D4E5F6",
    "member_id": "01JD6Q3Z8M4W1T5X9C2B7N0KAE",
    "staff_id": "01JD6Q3Z8M4W1T5X9C2B7N0S01",
    "store_id": "sh-01",
    "message_id": "01JD6Q3Z8M4W1T5X9C2B7N0M01",
    "template_id": "day3-call",
    "title": "Day-3 call: Ms Li",
    "script": "Hello Ms Li, this is Wang from the Jing'an shop. How do you like the ring?",
    "due_at": "2026-11-23T18:00:00Z",
    "state": "done",
    "outcome": "contacted",
    "notes": "Happy; asked about cleaning.",
    "created_at": "2026-11-23T10:00:00Z",
    "completed_at": "2026-11-23T15:20:00Z",
    "on_time": True,
    "previous_staff_ids": [],
}


class StaffTaskOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_TASK_OUT]})

    id: str
    member_id: str
    staff_id: str | None = Field(description="The assistant who holds it; null while it is the store's")
    store_id: str
    message_id: str = Field(description="The message it came from")
    template_id: str
    title: str
    script: str = Field(description="What the assistant could say")
    due_at: datetime | None
    state: str = Field(description='"open", "overdue" (open, past due) or "done"')
    outcome: OutcomeName | None = Field(description="Once done")
    notes: str
    created_at: datetime | None
    completed_at: datetime | None
    on_time: bool = Field(description="Done by its due time")
    previous_staff_ids: list[str] = Field(description="Who held it before, oldest first (handovers)")


class StaffTaskPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_TASK_OUT], "next_page_token": None}]}
    )

    items: list[StaffTaskOut] = Field(description="Soonest due first")
    next_page_token: str | None = Field(description="Pass as page_token for the next page; null on the last")


class CompleteStaffTaskBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"outcome": "contacted", "notes": "Happy; asked about cleaning."}]},
    )

    outcome: OutcomeName
    notes: str = Field(default="", max_length=NOTES_MAX)
    staff_id: Ref = Field(
        default="", description="An API key: the assistant who did it (a staff session is itself)"
    )
    by_manager: bool = Field(
        default=False, description="An API key: complete it as a manager, whoever holds it"
    )


class StaffTaskStatOut(BaseModel):
    staff_id: str | None = Field(description="null: the store's tasks no assistant holds")
    open: int
    overdue: int
    done: int
    done_on_time: int
    on_time_rate: float = Field(description="done_on_time / done; 0 when nothing is done")
    conversions: int = Field(description="Purchases and claims attributed to the assistant's messages")
    revenue_minor: int = Field(description="Attributed revenue, minor units")
    currency: str


class StaffTaskStatsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "store_id": "sh-01",
                    "items": [
                        {
                            "staff_id": "01JD6Q3Z8M4W1T5X9C2B7N0S01",
                            "open": 3,
                            "overdue": 1,
                            "done": 8,
                            "done_on_time": 6,
                            "on_time_rate": 0.75,
                            "conversions": 2,
                            "revenue_minor": 129900,
                            "currency": "CNY",
                        }
                    ],
                }
            ]
        }
    )

    store_id: str
    items: list[StaffTaskStatOut] = Field(description="Per assistant, the store's tasks opened in the period")
