"""The tenant's messaging policy: caps, quiet hours, time zone, fallback, attribution window.

(The shape is fixed here; validation and defaults are filled in by the policy work.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

from services.messaging.domain.channels import Channel


@dataclass(frozen=True)
class CapRule:
    message_class: str  # "care", "marketing", or "contact" (both)
    period: str  # "day" or "week": calendar, in the member's time zone
    limit: int

    def __str__(self) -> str:
        return f"cap {self.message_class} {self.limit} per {self.period}"


DEFAULT_FALLBACK: dict[str, tuple[Channel, ...]] = {
    "": (Channel.WECHAT, Channel.SMS, Channel.INBOX),
    "wechat": (Channel.WECHAT, Channel.SMS, Channel.STAFF_TASK),
    "sms": (Channel.SMS, Channel.WECHAT, Channel.STAFF_TASK),
    "phone": (Channel.STAFF_TASK, Channel.SMS),
    "app": (Channel.PUSH, Channel.INBOX, Channel.SMS),
}


@dataclass(frozen=True)
class MessagingPolicy:
    tenant_id: str
    caps: tuple[CapRule, ...] = (
        CapRule("marketing", "day", 1),
        CapRule("marketing", "week", 3),
        CapRule("contact", "day", 2),
    )
    quiet_start: time | None = time(21, 0)
    quiet_end: time | None = time(9, 0)
    time_zone: str = "Asia/Shanghai"
    fallback: dict[str, tuple[Channel, ...]] = field(default_factory=lambda: dict(DEFAULT_FALLBACK))
    attribution_hours: int = 72
    max_attempts: int = 3
    webhook_url: str = ""
    webhook_secret: str = ""
    version: int = 0
    updated_by: str = ""


def defaults(tenant_id: str) -> MessagingPolicy:
    return MessagingPolicy(tenant_id=tenant_id)
