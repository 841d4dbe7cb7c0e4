"""Bodies of the survey and thread routes: satisfaction surveys and their answers, questions and
suggestions.

The feedback service judges what a body says (services/feedback/domain) and names the field at
fault ("csat", "nps", "kind"), so the bodies here only bound what they carry: numbers by what
protobuf carries, strings by size, fixed words (categories, kinds) as enums. A CSAT of 9 is the
service's to refuse (400). Response bodies carry no bounds: they say what is stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

INT32 = 2**31 - 1
TEXT_MAX = 2000  # an answer's text, a message, a note: the service's own limit
REF_MAX = 128  # store ids, staff ids, request ids
TOKEN_MAX = 64

CategoryName = Literal[
    "product_counterfeit",
    "product_price_dispute",
    "product_labelling",
    "product_quality",
    "service_attitude",
    "service_discount_not_honoured",
    "service_delivery",
    "service_other",
]
SurveyStateName = Literal["scheduled", "due", "answered"]
ThreadKindName = Literal["question", "suggestion"]
ThreadStateName = Literal["open", "answered", "closed"]

Ref = Annotated[str, Field(max_length=REF_MAX)]
Text = Annotated[str, Field(max_length=TEXT_MAX)]
Int32 = Annotated[int, Field(ge=-INT32, le=INT32)]

_MEMBER = "01JD6Q3Z8M4W1T5X9C2B7N0KAE"
_SURVEY = "ADD6BH6JN346M3BCQ3BX3AIB4A"
_THREAD = "CAZ47SX243N7D3DXQSLBZ4ECZO"
_TOKEN = "q8Zr0m1Jc5oYb3Vt2Lw9Xh7Kd4Fs6Ngp"
SURVEY_EXAMPLE: dict[str, JsonValue] = {
    "id": _SURVEY,
    "member_id": _MEMBER,
    "store_id": "sh-01",
    "purchase_id": "01JD6Q3Z8M4W1T5X9C2B7N0P01",
    "receipt_no": "R-1001",
    "staff_id": "01JD6Q3Z8M4W1T5X9C2B7N0S01",
    "purchased_at": "2026-11-20T10:00:00Z",
    "token": _TOKEN,
    "state": "answered",
    "scheduled_at": "2026-11-20T10:00:02Z",
    "due_at": "2026-11-23T10:00:00Z",
    "closes_at": "2026-12-23T10:00:00Z",
    "answer": {
        "csat": 2,
        "nps": 4,
        "text": "Nobody helped me choose.",
        "wants_call_back": True,
        "category": "service_attitude",
        "answered_at": "2026-11-23T12:00:00Z",
    },
    "case_id": "R6TYZ2M4XW3N5B7C2D3E4F5G6H",
    "points": 50,
}
THREAD_EXAMPLE: dict[str, JsonValue] = {
    "id": _THREAD,
    "member_id": _MEMBER,
    "kind": "suggestion",
    "store_id": "sh-01",
    "state": "answered",
    "messages": [
        {
            "id": "M1",
            "author": "member",
            "by": _MEMBER,
            "text": "Could you open at 9 on Sundays?",
            "at": "2026-11-23T10:00:00Z",
        },
        {
            "id": "M2",
            "author": "staff",
            "by": "staff:01JD6Q3Z8M4W1T5X9C2B7N0S01",
            "text": "Thank you: from December we open at 9.",
            "at": "2026-11-23T15:00:00Z",
        },
    ],
    "assigned_store_id": "sh-01",
    "assigned_staff_id": None,
    "opened_at": "2026-11-23T10:00:00Z",
    "first_response_due": "2026-11-27T14:00:00Z",
    "first_responded_at": "2026-11-23T15:00:00Z",
    "sla_breaches": [],
    "adopted_at": "2026-11-23T15:00:00Z",
    "adopted_by": "staff:01JD6Q3Z8M4W1T5X9C2B7N0S01",
    "closed_at": None,
    "closed_by": None,
}


# --- Surveys -----------------------------------------------------------------------------------


class AnswerSurveyBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "csat": 2,
                    "nps": 4,
                    "text": "Nobody helped me choose.",
                    "wants_call_back": True,
                    "category": "service_attitude",
                }
            ]
        },
    )

    csat: Int32 = Field(description="How satisfied, 1 to 5")
    nps: Int32 | None = Field(
        default=None, description="How likely to recommend us, 0 to 10; absent: not asked"
    )
    text: Text = Field(default="", description="Anything the member wants to say")
    wants_call_back: bool = Field(default=False, description="The member would like a call back")
    category: CategoryName | None = Field(default=None, description="What went wrong, if the member says")


class SurveyAnswerOut(BaseModel):
    csat: int
    nps: int | None
    text: str
    wants_call_back: bool
    category: str | None
    answered_at: datetime | None


class SurveyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SURVEY_EXAMPLE]})

    id: str
    member_id: str
    store_id: str = Field(description="The store of the purchase it asks about")
    purchase_id: str
    receipt_no: str | None
    staff_id: str | None = Field(description="The assistant credited with the purchase")
    purchased_at: datetime | None
    token: str = Field(description="The token of the survey's link (what messaging sends the member)")
    state: str = Field(description="scheduled (not due yet), due (the link went out) or answered")
    scheduled_at: datetime | None
    due_at: datetime | None
    closes_at: datetime | None = Field(description="No answer is taken after this")
    answer: SurveyAnswerOut | None
    case_id: str | None = Field(description="The complaint case its answer opened")
    points: int = Field(description="The points its answer earned")
    erased_at: datetime | None = Field(
        default=None, description="The member was erased: the answer's text is gone; it takes no answer"
    )


class SurveyList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [SURVEY_EXAMPLE]}]})

    items: list[SurveyOut] = Field(description="Newest purchase first")


# --- Threads -----------------------------------------------------------------------------------


class OpenThreadBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "member_id": _MEMBER,
                    "kind": "suggestion",
                    "text": "Could you open at 9 on Sundays?",
                    "store_id": "sh-01",
                    "request_id": "mp-20261123-0001",
                }
            ]
        },
    )

    member_id: str = Field(
        default="", max_length=64, description="Whose question or suggestion; a member session: its own"
    )
    kind: ThreadKindName
    text: Text = Field(description="The question or the suggestion")
    store_id: Ref = Field(
        default="", description="The store it is about, if any; a store's credential: its own"
    )
    request_id: Ref = Field(
        default="", description="The client's id: a retry with it returns the same thread"
    )


class ThreadMessageBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "From December we open at 9.", "request_id": "reply-1"}]},
    )

    text: Text
    request_id: Ref = Field(default="", description="The client's id: a retry with it posts nothing more")


class AssignThreadBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"store_id": "sh-01", "staff_id": "01JD6Q3Z8M4W1T5X9C2B7N0S01"}]},
    )

    store_id: Ref = Field(default="", description="The store that answers it")
    staff_id: Ref = Field(default="", description="The assistant who answers it")


class ThreadNoteBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "Thank you: from December we open at 9."}]}
    )

    note: Text = Field(
        default="", description="Adopting: the thanks (a default one if empty); closing: a last word"
    )


class ThreadMessageOut(BaseModel):
    id: str
    author: str = Field(description="member or staff")
    by: str = Field(description="The member, or the staff session or API key that wrote for the shop")
    text: str
    at: datetime | None


class ThreadOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [THREAD_EXAMPLE]})

    id: str
    member_id: str
    kind: str = Field(description="question or suggestion")
    store_id: str | None
    state: str = Field(description="open (waiting for the shop), answered (the shop replied last) or closed")
    messages: list[ThreadMessageOut] = Field(description="Oldest first")
    assigned_store_id: str | None
    assigned_staff_id: str | None
    opened_at: datetime | None
    first_response_due: datetime | None = Field(description="The shop's first answer is due by then")
    first_responded_at: datetime | None
    sla_breaches: list[str] = Field(description='"first_response" once it was missed')
    adopted_at: datetime | None = Field(description="A suggestion: when it was adopted")
    adopted_by: str | None
    closed_at: datetime | None
    closed_by: str | None
    erased_at: datetime | None = Field(
        default=None, description="The member was erased: every message's text is gone"
    )


class ThreadList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [THREAD_EXAMPLE]}]})

    items: list[ThreadOut] = Field(description="Newest first")
