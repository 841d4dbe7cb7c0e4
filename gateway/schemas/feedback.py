"""Bodies of the feedback routes: reviews, complaint cases, the evidence pack, the feedback policy.

The feedback service judges what a body says (services/feedback/domain) and names the field at
fault ("rating", "remedy.value", "slas[1].resolution_hours"), so the bodies here only bound what
they carry: numbers by what protobuf carries, strings and lists by size, and the fixed words
(categories, severities, states, remedy kinds) as enums. A rating of 9 or a satisfaction of 0
is the service's to refuse (400). Response bodies carry no bounds: they say what is stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from gateway.schemas.surveys import SURVEY_EXAMPLE, THREAD_EXAMPLE, SurveyOut, ThreadOut

INT32 = 2**31 - 1
INT64 = 2**63 - 1
TEXT_MAX = 2000  # a review's text, a description, a note: the service's own limit
REF_MAX = 128  # store ids, receipt numbers, skus, request ids
URL_MAX = 2048
LIST_MAX = 200

RatingClassName = Literal["good", "medium", "bad"]
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
SeverityName = Literal["low", "medium", "high"]
CaseStateName = Literal["open", "acknowledged", "in_progress", "resolved", "follow_up", "closed", "rejected"]
RemedyKindName = Literal["coupon", "points", "exchange", "repair", "refund", "apology_only"]
DecisionName = Literal["approve", "confirm_extortion"]

Ref = Annotated[str, Field(max_length=REF_MAX)]
City = Annotated[str, Field(max_length=64)]
Text = Annotated[str, Field(max_length=TEXT_MAX)]
Int32 = Annotated[int, Field(ge=-INT32, le=INT32)]
Int64 = Annotated[int, Field(ge=-INT64, le=INT64)]
ImageUrls = Annotated[
    list[Annotated[str, Field(max_length=URL_MAX)]],
    Field(max_length=100, description="https:// links to the photos (the service takes up to 9)"),
]

_MEMBER = "01JD6Q3Z8M4W1T5X9C2B7N0KAE"
_REVIEW = "KQ4ZB7N2XW3M5T6Y7C2D3E4F5G"
_CASE = "R6TYZ2M4XW3N5B7C2D3E4F5G6H"
_TEMPLATE = "01JD6Q3Z8M4W1T5X9C2B7N0T01"
_TEXT = "The clasp broke the day after I bought it."
_POSTED = "2026-11-23T10:00:00Z"
_SENT_OUT: dict[str, JsonValue] = {
    "id": "01JD6Q3Z8M4W1T5X9C2B7N0M01",
    "template_id": "complaint-follow-up",
    "message_class": "care",
    "channel": "sms",
    "state": "delivered",
    "source": "feedback",
    "store_id": "sh-01",
    "staff_id": None,
    "created_at": "2026-11-30T10:00:00Z",
    "sent_at": "2026-11-30T10:00:01Z",
    "reason": None,
}
_REVIEW_OUT: dict[str, JsonValue] = {
    "id": _REVIEW,
    "member_id": _MEMBER,
    "store_id": "sh-01",
    "receipt_no": "R-1001",
    "sku": None,
    "rating": 1,
    "rating_class": "bad",
    "text": _TEXT,
    "image_urls": ["https://img.example.com/clasp.jpg"],
    "channel": "mini_program",
    "posted_at": _POSTED,
    "history": [],
    "reply": {
        "text": "We are so sorry. Our Jing'an team will call you today.",
        "quoted_text": _TEXT,
        "quoted_rating": 1,
        "by": "staff:01JD6Q3Z8M4W1T5X9C2B7N0S01",
        "at": "2026-11-23T11:00:00Z",
    },
    "earlier_replies": [],
    "case_id": _CASE,
    "verified_purchase": True,
}
_TIMELINE: list[JsonValue] = [
    {"action": "opened", "by": "review", "at": _POSTED, "note": ""},
    {
        "action": "acknowledged",
        "by": "staff:01JD6Q3Z8M4W1T5X9C2B7N0S01",
        "at": "2026-11-23T10:30:00Z",
        "note": "We are sorry; we will repair or replace it.",
    },
    {"action": "started", "by": "staff:01JD6Q3Z8M4W1T5X9C2B7N0S01", "at": "2026-11-23T10:31:00Z", "note": ""},
    {
        "action": "resolved",
        "by": "staff:01JD6Q3Z8M4W1T5X9C2B7N0S01",
        "at": "2026-11-23T15:00:00Z",
        "note": "coupon",
    },
]
_CASE_OUT: dict[str, JsonValue] = {
    "id": _CASE,
    "member_id": _MEMBER,
    "store_id": "sh-01",
    "category": "product_quality",
    "severity": "high",
    "description": _TEXT,
    "state": "resolved",
    "source": "review",
    "review_id": _REVIEW,
    "receipt_no": "R-1001",
    "assigned_store_id": None,
    "assigned_staff_id": None,
    "opened_at": _POSTED,
    "first_response_due": "2026-11-23T14:00:00Z",
    "resolution_due": "2026-11-24T20:00:00Z",
    "timeline": _TIMELINE,
    "remedy": {
        "kind": "coupon",
        "note": "",
        "template_id": _TEMPLATE,
        "value": 1000,
        "coupon_code": "K7Q2M9XW",
        "points": 0,
    },
    "risk": {"score": 10, "reasons": [], "needs_manager": False, "decision": None, "decided_by": None},
    "satisfaction": None,
    "follow_up_at": "2026-11-30T15:00:00Z",
    "sla_breaches": [],
}
_DAYS: list[JsonValue] = [{"weekday": d, "opens": "10:00", "closes": "22:00"} for d in range(1, 8)]
_POLICY: dict[str, JsonValue] = {
    "slas": [
        {"severity": "low", "first_response_hours": 48, "resolution_hours": 120},
        {"severity": "medium", "first_response_hours": 24, "resolution_hours": 72},
        {"severity": "high", "first_response_hours": 4, "resolution_hours": 24},
    ],
    "business_hours": _DAYS,
    "store_hours": [
        {"store_id": "sh-airport", "days": [{"weekday": 1, "opens": "06:00", "closes": "23:00"}]}
    ],
    "time_zone": "Asia/Shanghai",
    "presets": [
        {"rating_class": "medium", "template_id": _TEMPLATE, "value": 500},
        {"rating_class": "bad", "template_id": _TEMPLATE, "value": 1000},
    ],
    "store_monthly_budget": 50000,
    "open_case_for_medium": False,
    "follow_up_days": 7,
    "risk_threshold": 60,
    "survey_delay_days": 3,
    "survey_points": 50,
    "survey_case_csat_max": 2,
    "survey_case_nps_max": 6,
}


# --- Reviews -----------------------------------------------------------------------------------


class PostReviewBody(BaseModel):
    """A member's review of a purchase (the receipt's store and number), a store or a product."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "member_id": _MEMBER,
                    "store_id": "sh-01",
                    "receipt_no": "R-1001",
                    "rating": 1,
                    "text": _TEXT,
                    "image_urls": ["https://img.example.com/clasp.jpg"],
                    "channel": "mini_program",
                    "request_id": "mp-7f3a91",
                },
                {"store_id": "sh-01", "sku": "RING-22", "rating": 5, "text": "Lovely ring, kind staff."},
            ]
        },
    )

    member_id: str = Field(
        default="", max_length=64, description="Whose review; a member session may leave it out (its own)"
    )
    store_id: Ref = Field(default="", description="The store reviewed; a store's credential: its own")
    receipt_no: Ref = Field(default="", description="The receipt reviewed (with its store_id)")
    sku: Ref = Field(default="", description="The product reviewed")
    rating: Int32 = Field(description="1 to 5: 4-5 good, 3 medium, 1-2 bad (a bad one opens a case)")
    text: Text = ""
    image_urls: ImageUrls = Field(default_factory=list)
    channel: str | None = Field(
        default=None,
        max_length=32,
        description='"mini_program" or "store_app"; absent: "mini_program" for a member session, '
        'else "store_app"',
    )
    request_id: Ref = Field(
        default="", description="The client's id for this review: a retry with it returns the first (200)"
    )
    delivery_city: City = Field(
        default="",
        description="Optional: the city the goods were delivered to; a city where the chain has no store "
        "counts towards the reviewer risk of the case a bad review opens",
    )


class AmendReviewBody(BaseModel):
    """The member's new version of their review: rating, text and images all replace the current
    ones; the version before stays in the history."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "member_id": _MEMBER,
                    "rating": 4,
                    "text": "They repaired the clasp the same week. Thank you!",
                    "image_urls": [],
                }
            ]
        },
    )

    member_id: str = Field(
        default="",
        max_length=64,
        description="The review's member; a member session may leave it out (its own)",
    )
    rating: Int32 = Field(description="1 to 5")
    text: Text = ""
    image_urls: ImageUrls = Field(default_factory=list)


class ReplyBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "We are so sorry. Our Jing'an team will call you today."}]},
    )

    text: Text = Field(description="The shop's public reply; it quotes the review as it stands")


class ReviewVersionOut(BaseModel):
    rating: int
    text: str
    image_urls: list[str]
    at: datetime | None = Field(description="When the member wrote this version")


class ReplyOut(BaseModel):
    text: str
    quoted_text: str = Field(description="The review's text when the shop replied")
    quoted_rating: int
    by: str = Field(description="The staff or API key that replied")
    at: datetime | None


class ReviewOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_REVIEW_OUT]})

    id: str
    member_id: str
    store_id: str | None
    receipt_no: str | None
    sku: str | None
    rating: int
    rating_class: str = Field(description="good (4-5), medium (3) or bad (1-2)")
    text: str
    image_urls: list[str]
    channel: str
    posted_at: datetime | None
    history: list[ReviewVersionOut] = Field(description="Earlier versions, oldest first, if amended")
    reply: ReplyOut | None = Field(description="The shop's public reply")
    earlier_replies: list[ReplyOut] = Field(description="Replies the current one replaced, oldest first")
    case_id: str | None = Field(description="The complaint case this review opened")
    verified_purchase: bool = Field(description="The member bought at that store")
    erased_at: datetime | None = Field(
        default=None, description="The member was erased: their text, images and the replies' text are gone"
    )


class ReviewList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_REVIEW_OUT]}]})

    items: list[ReviewOut] = Field(description="Newest first")


# --- Cases -------------------------------------------------------------------------------------


class OpenCaseBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "member_id": _MEMBER,
                    "store_id": "sh-01",
                    "category": "service_discount_not_honoured",
                    "severity": "medium",
                    "description": "The 20% member discount was not applied at the till.",
                    "receipt_no": "R-1002",
                    "request_id": "case-2026-11-23-01",
                }
            ]
        },
    )

    member_id: str = Field(
        default="", max_length=64, description="Whose complaint; a member session may leave it out"
    )
    store_id: Ref = Field(default="", description="Where it happened; a store's credential: its own")
    category: CategoryName
    severity: SeverityName | None = Field(default=None, description="Absent: medium")
    description: Text = Field(description="What happened")
    receipt_no: Ref = ""
    request_id: Ref = Field(default="", description="The client's id: a retry with it returns the same case")
    delivery_city: City = Field(
        default="", description="Optional: the city the goods were delivered to (reviewer risk)"
    )


class CaseNoteBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"note": "We are sorry; we will repair or replace it."}]},
    )

    note: Text = Field(default="", description="The apology and first response, or the reason")


class StartCaseBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "note": "The store manager takes it.",
                    "assign_store_id": "sh-01",
                    "assign_staff_id": "01JD6Q3Z8M4W1T5X9C2B7N0S01",
                }
            ]
        },
    )

    note: Text = ""
    assign_store_id: Ref = Field(default="", description="The store that handles it")
    assign_staff_id: Ref = Field(default="", description="The assistant who handles it")


class RemedyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: RemedyKindName
    note: Text = Field(default="", description="E.g. what was exchanged or repaired")
    template_id: Ref = Field(
        default="", description="A coupon: this template instead of the policy's preset for the review"
    )
    value: Int64 = Field(default=0, description="A coupon of `template_id`: what it is worth (minor units)")
    points: Int64 = Field(default=0, description="Points: how many")


class ResolveCaseBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"remedy": {"kind": "coupon"}},
                {"remedy": {"kind": "repair", "note": "New clasp fitted, free of charge."}},
                {"remedy": {"kind": "points", "points": 500}},
            ]
        },
    )

    remedy: RemedyBody


class CloseCaseBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"satisfaction": 5, "note": "Called back: happy with the repair."}]},
    )

    satisfaction: Int32 = Field(description="The customer's satisfaction at the follow-up, 1 to 5")
    note: Text = ""


class RiskDecisionBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"decision": "approve", "note": "Regular customer, genuine defect."},
                {
                    "decision": "confirm_extortion",
                    "note": "Demanded cash off the platform.",
                    "blacklist": True,
                },
            ]
        },
    )

    decision: DecisionName
    note: Text = ""
    blacklist: bool = Field(default=False, description="With confirm_extortion: blacklist the member")


class TimelineEntryOut(BaseModel):
    action: str = Field(
        description="opened, acknowledged, started, resolved, follow_up_due, closed, rejected, "
        "sla_breached, risk_approved, extortion_confirmed, compensation_issued, note"
    )
    by: str = Field(description="Who: a staff session, an API key, the member, or the service")
    at: datetime | None
    note: str


class RemedyOut(BaseModel):
    kind: str
    note: str
    template_id: str | None
    value: int = Field(description="What a coupon is worth, charged to the store's monthly budget")
    coupon_code: str | None = Field(description="The compensation coupon issued")
    points: int


class RiskOut(BaseModel):
    score: int = Field(description="0-100")
    reasons: list[str] = Field(description='Each signal that counted, e.g. "joined 2 days ago"')
    needs_manager: bool = Field(description="At or above the policy's threshold: a manager decides first")
    decision: str | None = Field(description="approved or extortion_confirmed, once decided")
    decided_by: str | None


class CaseOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_CASE_OUT]})

    id: str
    member_id: str
    store_id: str
    category: str
    severity: str
    description: str
    state: str = Field(description="open, acknowledged, in_progress, resolved, follow_up, closed or rejected")
    source: str = Field(description="review, survey, customer or assistant")
    review_id: str | None = Field(description="The review that opened it")
    survey_id: str | None = Field(default=None, description="The survey whose answer opened it")
    receipt_no: str | None
    assigned_store_id: str | None
    assigned_staff_id: str | None
    opened_at: datetime | None
    first_response_due: datetime | None
    resolution_due: datetime | None
    timeline: list[TimelineEntryOut] = Field(description="Every action, oldest first, with who and when")
    remedy: RemedyOut | None
    risk: RiskOut | None = Field(description="The reviewer's risk; not shown to the member")
    satisfaction: int | None = Field(description="1-5, given at closing")
    follow_up_at: datetime | None = Field(description="When a resolved case comes up for its follow-up")
    sla_breaches: list[str] = Field(description="first_response, resolution: the SLAs missed")
    delivery_city: str | None = Field(
        default=None, description="Where the goods went, if the complainant said"
    )
    erased_at: datetime | None = Field(
        default=None, description="The member was erased: description, notes and risk reasons are gone"
    )


class CaseList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_CASE_OUT]}]})

    items: list[CaseOut] = Field(description="Newest first")


class EvidenceOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "member_id": _MEMBER,
                    "reviews": [_REVIEW_OUT],
                    "cases": [_CASE_OUT],
                    "threads": [THREAD_EXAMPLE],
                    "surveys": [SURVEY_EXAMPLE],
                    "messages": [_SENT_OUT],
                    "messages_status": "complete",
                    "messages_note": None,
                    "exported_at": "2026-11-24T09:00:00Z",
                }
            ]
        }
    )

    member_id: str
    reviews: list[ReviewOut]
    cases: list[CaseOut] = Field(description="Each with its whole timeline")
    threads: list[ThreadOut] = Field(
        default_factory=list, description="Questions and suggestions, oldest first"
    )
    surveys: list[SurveyOut] = Field(default_factory=list, description="Satisfaction surveys, oldest first")
    messages: list[SentMessageOut] = Field(
        default_factory=list, description="What the platform sent the member (messaging), oldest first"
    )
    messages_status: str = Field(
        description="complete; unavailable (messaging did not answer: no messages are in the pack, "
        "`messages_note` says why; export again later); truncated (only the newest 5,000)"
    )
    messages_note: str | None = None
    exported_at: datetime | None


class SentMessageOut(BaseModel):
    id: str
    template_id: str
    message_class: str = Field(description="transactional, care or marketing")
    channel: str | None
    state: str = Field(description="pending, sending, sent, delivered, failed, capped or skipped")
    source: str | None
    store_id: str | None
    staff_id: str | None
    created_at: datetime | None
    sent_at: datetime | None
    reason: str | None = Field(description="Why it was capped, skipped or failed")


# --- The feedback policy -----------------------------------------------------------------------


class SlaHoursBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: SeverityName
    first_response_hours: Int32 = Field(description="Business hours to the first response")
    resolution_hours: Int32 = Field(description="Business hours to the resolution")


class BusinessDayBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekday: Int32 = Field(description="1 = Monday .. 7 = Sunday; a closed day is not listed")
    opens: str = Field(max_length=16, description='"HH:MM", local time')
    closes: str = Field(max_length=16, description='"HH:MM" (up to "24:00")')


class StoreHoursBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_id: Ref
    days: list[BusinessDayBody] = Field(max_length=20)


class PresetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating_class: RatingClassName = Field(description="The class of review whose case this compensates")
    template_id: Ref = Field(default="", description="The coupon template; empty: no coupon")
    value: Int64 = Field(description="What the coupon is worth, minor units (charged to the budget)")


class FeedbackPolicyBody(BaseModel):
    """The whole policy: it replaces the current one. `version` is the version read (0: the
    defaults); another change since is a 409."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{**_POLICY, "version": 0}]})

    slas: list[SlaHoursBody] = Field(max_length=10, description="By severity; one left out keeps its default")
    business_hours: list[BusinessDayBody] = Field(max_length=20, description="The chain's opening hours")
    store_hours: list[StoreHoursBody] = Field(
        default_factory=list, max_length=2000, description="Stores that keep other hours"
    )
    time_zone: str = Field(max_length=64, description="IANA name: business hours and months are local")
    presets: list[PresetBody] = Field(
        max_length=10, description="The compensation coupon per class of review"
    )
    store_monthly_budget: Int64 = Field(
        description="Per store and calendar month, minor units; 0: no coupons"
    )
    open_case_for_medium: bool = Field(description="A medium (3-star) review opens a case too")
    follow_up_days: Int32 = Field(description="Days after resolution that a case comes up for follow-up")
    risk_threshold: Int32 = Field(description="A case whose reviewer risk is this or more needs a manager")
    version: int = Field(ge=0, le=INT32, description="The version read: only on top of it (else 409)")
    survey_delay_days: Int32 | None = Field(
        default=None, description="Days after a purchase its satisfaction survey is due; 0: none; absent: 3"
    )
    survey_points: Int64 | None = Field(default=None, description="Points a survey answer earns; absent: 0")
    survey_case_csat_max: Int32 | None = Field(
        default=None, description="An answer's CSAT at or below this opens a case; 0: never; absent: 2"
    )
    survey_case_nps_max: Int32 | None = Field(
        default=None, description="An answer's NPS at or below this opens a case; -1: never; absent: 6"
    )


class SlaHoursOut(BaseModel):
    severity: str
    first_response_hours: int
    resolution_hours: int


class BusinessDayOut(BaseModel):
    weekday: int
    opens: str
    closes: str


class StoreHoursOut(BaseModel):
    store_id: str
    days: list[BusinessDayOut]


class PresetOut(BaseModel):
    rating_class: str
    template_id: str = Field(description="Empty: no coupon until the tenant chooses a template")
    value: int


class FeedbackPolicyOut(BaseModel):
    """The policy as it stands; sent back as it is (changed), it is a valid PUT."""

    model_config = ConfigDict(json_schema_extra={"examples": [{**_POLICY, "version": 3}]})

    slas: list[SlaHoursOut]
    business_hours: list[BusinessDayOut]
    store_hours: list[StoreHoursOut]
    time_zone: str
    presets: list[PresetOut]
    store_monthly_budget: int
    open_case_for_medium: bool
    follow_up_days: int
    risk_threshold: int
    survey_delay_days: int
    survey_points: int
    survey_case_csat_max: int
    survey_case_nps_max: int
    version: int = Field(description="0: the defaults, for a tenant that never set its policy")
