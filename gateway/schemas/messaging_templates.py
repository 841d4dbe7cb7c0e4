"""Bodies of the message template and messaging policy routes.

The messaging service judges what a template says (services/messaging/domain/templates.py: the
variables, the syntax, an SMS's length) and a policy's values (a time zone, an "HH:MM"), naming
the field at fault ("texts.sms.body", "time_zone", "caps[0].limit") in a 400. The bodies here
bound what they carry: sizes, numbers by what protobuf carries, fixed words as enums (a
misspelled channel or period is a 422). Response bodies carry no bounds: they say what is stored.

The webhook secret is write-only: sent in a change, never shown back; a policy says only
whether one is set (`webhook_secret_set`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

INT32 = 2**31 - 1
INT64 = 2**63 - 1
TEXT_MAX = 4000  # the service's own limits are lower: it says which, naming the field
NAME_MAX = 256
REF_MAX = 256

ChannelName = Literal["inbox", "sms", "wechat", "push", "webhook", "staff_task"]
MessageClassName = Literal["transactional", "care", "marketing"]
CapClassName = Literal["care", "marketing", "contact"]
PeriodName = Literal["day", "week"]
PreferenceName = Literal["", "wechat", "sms", "phone", "app"]
Int32 = Annotated[int, Field(ge=-INT32, le=INT32)]

_SMS = (
    "{{ title }} {{ surname }}, happy birthday month! Your gift is waiting at {{ store }}: "
    "{{ link('https://shop.example/birthday') }}"
)
_WECHAT = "thing1: {{ name }}, your birthday gift is ready\nthing2: {{ store }}\ntime3: {{ coupon_expiry }}"
_TEXTS: dict[str, JsonValue] = {
    "sms": {"title": "", "body": _SMS, "provider_template_id": "SMS_204417001"},
    "wechat": {"title": "", "body": _WECHAT, "provider_template_id": "k3Jb8vZ0Qm2WcXo-birthday"},
    "inbox": {
        "title": "Happy birthday month, {{ name }}",
        "body": "Your gift is ready at {{ store }}{% if coupon_code %}, code {{ coupon_code }}{% endif %}.",
        "provider_template_id": "",
    },
}
_TEMPLATE: dict[str, JsonValue] = {
    "name": "Birthday month: the gift is ready",
    "message_class": "care",
    "texts": _TEXTS,
    "script": "Call {{ title }} {{ surname }}: wish a happy birthday month and invite them to pick the gift.",
    "task_due_hours": 24,
}
_TEMPLATE_OUT: dict[str, JsonValue] = {
    "id": "birthday-month",
    **_TEMPLATE,
    "version": 2,
    "updated_at": "2026-11-23T10:00:00Z",
    "updated_by": "api_key:01jd6q3z8m4w1t5x9c2b7n0kae",
}
_CAPS: list[JsonValue] = [
    {"message_class": "marketing", "period": "day", "limit": 1},
    {"message_class": "marketing", "period": "week", "limit": 3},
    {"message_class": "contact", "period": "day", "limit": 2},
]
_FALLBACK: dict[str, JsonValue] = {
    "": ["wechat", "sms", "inbox"],
    "wechat": ["wechat", "sms", "staff_task"],
    "sms": ["sms", "wechat", "staff_task"],
    "phone": ["staff_task", "sms"],
    "app": ["push", "inbox", "sms"],
}
_POLICY_OUT: dict[str, JsonValue] = {
    "caps": _CAPS,
    "quiet_start": "21:00",
    "quiet_end": "09:00",
    "time_zone": "Asia/Shanghai",
    "fallback": _FALLBACK,
    "attribution_hours": 72,
    "max_attempts": 3,
    "webhook_url": "https://crm.shop.example/regulars/messages",
    "webhook_secret_set": True,
    "version": 4,
    "updated_by": "api_key:01jd6q3z8m4w1t5x9c2b7n0kae",
}


# --- Templates ---------------------------------------------------------------------------------


class ChannelTextBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(
        default="", max_length=TEXT_MAX, description="The inbox's and push's title; may hold variables"
    )
    body: str = Field(
        max_length=TEXT_MAX,
        description=(
            "The text, with `{{ variable }}`, `{{ link('https://…') }}` (a tracked link), filters "
            "(`{{ name | default('friend') }}`) and `{% if … %}…{% endif %}`. WeChat: one data field a "
            "line, `thing1: {{ name }}, your gift is ready`"
        ),
    )
    provider_template_id: str = Field(
        default="",
        max_length=REF_MAX,
        description="The template registered with the provider: required for sms and wechat",
    )


class TemplateBody(BaseModel):
    """A whole template: saving replaces the one with this id (a new version)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_TEMPLATE]})

    name: str = Field(max_length=NAME_MAX, description="For people: what the template is for")
    message_class: MessageClassName = Field(
        description="transactional (receipts: no caps), care or marketing (capped, quiet hours)"
    )
    texts: dict[ChannelName, ChannelTextBody] = Field(
        description="Channel -> its text; a channel without text is never chosen for this template"
    )
    script: str = Field(
        default="", max_length=TEXT_MAX, description="For a staff task: what the assistant could say"
    )
    task_due_hours: Int32 = Field(
        default=24, description="A staff task is due this long after the send (1-720)"
    )


class ChannelTextOut(BaseModel):
    title: str
    body: str
    provider_template_id: str


class TemplateOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_TEMPLATE_OUT]})

    id: str
    name: str
    message_class: str
    texts: dict[str, ChannelTextOut]
    script: str
    task_due_hours: int
    version: int = Field(description="1 when first saved, one more at every save")
    updated_at: datetime | None
    updated_by: str | None = Field(description="The API key or staff session that saved it")


class TemplateList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_TEMPLATE_OUT]}]})

    items: list[TemplateOut] = Field(description="By id")


# --- The messaging policy ----------------------------------------------------------------------


class CapBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_class: CapClassName = Field(description="care, marketing, or contact (the two together)")
    period: PeriodName = Field(description="A calendar day or week in the member's time zone")
    limit: Int32 = Field(description="At most this many messages a member gets in the period (0-1000)")


class PolicyChangeBody(BaseModel):
    """The fields sent change; those left out (or null) stay as they are."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "caps": [{"message_class": "marketing", "period": "week", "limit": 2}],
                    "quiet_start": "22:00",
                    "quiet_end": "08:30",
                    "time_zone": "Asia/Shanghai",
                },
                {
                    "webhook_url": "https://crm.shop.example/regulars/messages",
                    "webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                    "expected_version": 4,
                },
            ]
        },
    )

    caps: list[CapBody] | None = Field(
        default=None, max_length=100, description="Replaces every cap; an empty list: no caps"
    )
    quiet_start: str | None = Field(
        default=None,
        max_length=16,
        description='"HH:MM" in the member\'s time zone; "" with quiet_end "": no quiet hours',
    )
    quiet_end: str | None = Field(
        default=None, max_length=16, description='"HH:MM"; before quiet_start spans midnight (21:00-09:00)'
    )
    time_zone: str | None = Field(default=None, max_length=128, description="IANA name, e.g. Asia/Shanghai")
    fallback: dict[PreferenceName, list[ChannelName]] | None = Field(
        default=None,
        max_length=5,
        description=(
            'The member\'s preferred channel ("" for none) -> the channels to try in order; replaces '
            "the whole fallback"
        ),
    )
    attribution_hours: Int32 | None = Field(
        default=None, description="A purchase this long after a message is credited to it (1-720)"
    )
    max_attempts: Int32 | None = Field(default=None, description="Tries per channel before the next (1-10)")
    webhook_url: str | None = Field(
        default=None,
        max_length=4096,
        description='The tenant\'s endpoint of the webhook channel; "" for none',
    )
    webhook_secret: str | None = Field(
        default=None,
        max_length=512,
        description=(
            "Write-only: the Standard Webhooks signing secret, `whsec_` and the base64 of 24 bytes or "
            'more; never shown back; "" removes it'
        ),
    )
    expected_version: int | None = Field(
        default=None, ge=0, le=INT64, description="Only if this is still the current version (409 if not)"
    )


class CapOut(BaseModel):
    message_class: str
    period: str
    limit: int


class PolicyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_POLICY_OUT]})

    caps: list[CapOut]
    quiet_start: str | None = Field(description='"HH:MM"; null: no quiet hours')
    quiet_end: str | None
    time_zone: str
    fallback: dict[str, list[str]]
    attribution_hours: int
    max_attempts: int
    webhook_url: str | None
    webhook_secret_set: bool = Field(
        description="Whether a webhook signing secret is stored (it is never shown)"
    )
    version: int = Field(description="0: the defaults, never changed")
    updated_by: str | None
