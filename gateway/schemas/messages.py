"""Request and response bodies of sending messages, their records and delivery receipts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from gateway.schemas.common import UtcTimestamp

ChannelName = Literal["inbox", "sms", "wechat", "push", "webhook", "staff_task"]
VariableName = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class SendMessageBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "member_id": "01JD8X3R6V7Q2M4N5P6Q7R8S9T",
                    "message_key": "gift-ready:2026-12:01JD8X3R6V7Q2M4N5P6Q7R8S9T",
                    "template_id": "birthday-gift",
                    "variables": {"coupon_value": "¥50", "coupon_expiry": "2026-12-31"},
                    "channels": ["wechat", "sms", "staff_task"],
                }
            ]
        },
    )

    member_id: Id
    message_key: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="The logical message: sending the same key again returns the first message, sent once"
    )
    template_id: Id
    variables: dict[VariableName, Annotated[str, StringConstraints(max_length=1000)]] = Field(
        default_factory=dict,
        description="Values the caller knows (coupon, survey link); the member's own are filled in",
    )
    channels: list[ChannelName] = Field(
        default_factory=list,
        max_length=6,
        description=(
            "Channels in the order to try; empty: the policy's order for the member's preferred channel"
        ),
    )
    not_before: UtcTimestamp | None = Field(
        default=None, description="Not before this moment (quiet hours may defer further)"
    )
    store_id: Annotated[str, StringConstraints(max_length=64)] = ""
    staff_id: Annotated[str, StringConstraints(max_length=64)] = Field(
        default="",
        description="The assistant it speaks for (and a staff task goes to); empty: the member's own",
    )
    to_store: bool = Field(
        default=False, description="A staff task for the store's manager, not an assistant"
    )


class DeliveryAttemptOut(BaseModel):
    channel: str
    outcome: str = Field(description="sent, delivered, failed, skipped, deferred or capped")
    reason: str
    provider: str
    provider_message_id: str
    at: datetime


_MESSAGE_EXAMPLE: dict[str, Any] = {
    "id": "01JMSG8X3R6V7Q2M4N5P6Q7R8S",
    "member_id": "01JD8X3R6V7Q2M4N5P6Q7R8S9T",
    "message_key": "gift-ready:2026-12:01JD8X3R6V7Q2M4N5P6Q7R8S9T",
    "template_id": "birthday-gift",
    "message_class": "care",
    "state": "sent",
    "channel": "sms",
    "channels": ["wechat", "sms", "staff_task"],
    "due_at": "2026-12-02T02:00:00Z",
    "attempts": 0,
    "reason": "",
    "deferred": False,
    "history": [
        {
            "channel": "wechat",
            "outcome": "skipped",
            "reason": "no WeChat subscription left",
            "provider": "",
            "provider_message_id": "",
            "at": "2026-12-02T02:00:00Z",
        },
        {
            "channel": "sms",
            "outcome": "sent",
            "reason": "",
            "provider": "tencent_sms",
            "provider_message_id": "2645:3270151418616990300312345",
            "at": "2026-12-02T02:00:00Z",
        },
    ],
    "source": "api_key:01jd8x3r6v7q2m4n5p6q7r8s9t",
    "store_id": "sh-01",
    "staff_id": "01JD8X3R6V7Q2M4N5P6Q7R8S00",
    "staff_task_id": "",
    "created_at": "2026-12-02T02:00:00Z",
    "sent_at": "2026-12-02T02:00:00Z",
}


class MessageOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_MESSAGE_EXAMPLE]})

    id: str
    member_id: str
    message_key: str
    template_id: str
    message_class: str
    state: str = Field(description="pending, sent, delivered, failed, capped or skipped")
    channel: str
    channels: list[str]
    due_at: datetime
    attempts: int
    reason: str = Field(description="Why it is capped, skipped or failed")
    deferred: bool
    history: list[DeliveryAttemptOut]
    source: str
    store_id: str
    staff_id: str
    staff_task_id: str
    created_at: datetime
    sent_at: datetime | None


class MessagePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_MESSAGE_EXAMPLE], "next_page_token": None}]}
    )

    items: list[MessageOut]
    next_page_token: str | None


class ReceiptBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"status": "failed", "reason": "handset switched off"}]},
    )

    status: Literal["delivered", "failed"]
    reason: Annotated[str, StringConstraints(max_length=500)] = ""
    provider_message_id: Annotated[str, StringConstraints(max_length=128)] = ""


class WechatSubscriptionBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"provider_template_id": "TPL-gift-ready", "openid": "oAbC123", "grant_id": "g-20261202-01"}
            ]
        },
    )

    provider_template_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    openid: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    grant_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="The mini-program's id of this acceptance: recording it again changes nothing"
    )


class WechatQuotaOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "member_id": "01JD8X3R6V7Q2M4N5P6Q7R8S9T",
                    "provider_template_id": "TPL-gift-ready",
                    "remaining": 1,
                }
            ]
        }
    )

    member_id: str
    provider_template_id: str
    remaining: int = Field(description="Sends of this template the member's acceptances still allow")
