"""Answer of the messaging report route: per template and channel what was asked and what came
of it, and per assistant the tasks done and the revenue attributed."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_ROW: dict[str, Any] = {
    "template_id": "birthday-greeting",
    "channel": "sms",
    "requested": 120,
    "sent": 112,
    "deferred": 30,
    "capped": 5,
    "failed": 2,
    "skipped": 1,
    "clicked": 41,
    "converted": 9,
    "revenue": 356000,
    "currency": "CNY",
}
_STAFF: dict[str, Any] = {
    "staff_id": "staff-01",
    "open": 4,
    "overdue": 1,
    "done": 20,
    "done_on_time": 18,
    "on_time_rate": 0.9,
    "conversions": 6,
    "attributed_revenue": 128800,
    "currency": "CNY",
}


class TemplateChannelRowOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ROW]})

    template_id: str
    channel: str = Field(description='The channel it went by or was last trying; "" when none was chosen')
    requested: int = Field(description="Messages asked for in the period (every figure is of these)")
    sent: int = Field(description="Sent or delivered")
    deferred: int = Field(description="Moved later by quiet hours or a not-before, whatever came after")
    capped: int = Field(description="Stopped by a cap (don't harass)")
    failed: int
    skipped: int = Field(description="No channel could be used (consent, quota, address)")
    clicked: int = Field(description="With a tap on a tracked link or an inbox read")
    converted: int = Field(description="With a purchase or a claimed coupon attributed to them")
    revenue: int = Field(description="The attributed purchases' amounts, minor units of `currency`")
    currency: str = Field(description='ISO 4217; "" when there was no revenue')


class StaffStatOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_STAFF]})

    staff_id: str
    open: int
    overdue: int
    done: int
    done_on_time: int
    on_time_rate: float = Field(description="done_on_time / done; 0 when nothing is done")
    conversions: int = Field(description="Conversions attributed to messages that spoke for the assistant")
    attributed_revenue: int = Field(description="Minor units of `currency`")
    currency: str


class MessagingReportOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"rows": [_ROW], "staff": [_STAFF]}]})

    rows: list[TemplateChannelRowOut]
    staff: list[StaffStatOut]
