"""The tenant's messaging policy: caps, quiet hours, time zone, fallback, attribution window.

A tenant that never saved one runs `defaults`: at most 1 marketing message a day and 3 a week,
2 care-or-marketing contacts a day; quiet from 21:00 to 09:00 in Asia/Shanghai; fallback by the
member's preferred channel (WeChat, else SMS, else the assistant's task, …); a purchase within
72 hours of a message is credited to it; 3 tries a channel. `validate` names the field of any
mistake ("caps[1].period", "fallback.wechat"); `merge` applies a change of some fields only.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import time
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chassis.errors import InvalidArgument
from services.messaging.domain.channels import Channel

CAP_CLASSES = ("care", "marketing", "contact")
CAP_PERIODS = ("day", "week")
CAP_LIMIT_MAX = 1000
CAPS_MAX = 20
PREFERENCES = ("", "wechat", "sms", "phone", "app")  # the member's preferred channel, "" for none
ATTRIBUTION_HOURS = (1, 720)
MAX_ATTEMPTS = (1, 10)
URL_MAX = 2048
ZONE_NAME_MAX = 64
SECRET_PREFIX = "whsec_"
SECRET_MIN_BYTES = 24
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


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
    webhook_secret: str = ""  # Standard Webhooks signing secret; never shown back (write-only)
    version: int = 0
    updated_by: str = ""


# What a change may set; the rest (tenant, version, who) the service keeps.
SETTINGS: frozenset[str] = frozenset(
    f.name for f in fields(MessagingPolicy) if f.name not in ("tenant_id", "version", "updated_by")
)


def defaults(tenant_id: str) -> MessagingPolicy:
    return MessagingPolicy(tenant_id=tenant_id)


def parse_hhmm(value: str, field_name: str) -> time | None:
    """ "21:00" -> 21:00; "" -> None (no quiet hours); anything else names the field."""
    if not value:
        return None
    match = _HHMM.fullmatch(value)
    if match is None:
        raise InvalidArgument(field_name, f"{field_name} must be HH:MM, e.g. 21:00")
    return time(int(match.group(1)), int(match.group(2)))


def format_hhmm(at: time | None) -> str:
    return "" if at is None else f"{at.hour:02d}:{at.minute:02d}"


def parse_channels(names: Iterable[str], field_name: str) -> tuple[Channel, ...]:
    """Channel names as channels; an unknown one names the field."""
    try:
        return tuple(Channel(name) for name in names)
    except ValueError:
        options = ", ".join(c.value for c in Channel)
        raise InvalidArgument(
            field_name, f"{field_name} lists an unknown channel; one of {options}"
        ) from None


def fallback_field(key: str) -> str:
    """The field of one fallback order: fallback.wechat; fallback."" for no preference."""
    return f"fallback.{key}" if key else 'fallback.""'


def merge(current: MessagingPolicy, change: MessagingPolicy, names: Iterable[str]) -> MessagingPolicy:
    """`current` with the fields `names` (of SETTINGS) taken from `change`."""
    chosen = set(names)
    unknown = sorted(chosen - SETTINGS)
    if unknown:
        raise InvalidArgument(
            "fields", f"cannot change {', '.join(unknown)}; the fields are {', '.join(sorted(SETTINGS))}"
        )
    return replace(current, **{name: getattr(change, name) for name in chosen})


def validate(policy: MessagingPolicy) -> MessagingPolicy:
    """The policy as given, or InvalidArgument naming the first field at fault."""
    if not policy.tenant_id:
        raise InvalidArgument("tenant_id", "tenant_id is required")
    _check_caps(policy.caps)
    if (policy.quiet_start is None) != (policy.quiet_end is None):
        missing = "quiet_end" if policy.quiet_end is None else "quiet_start"
        raise InvalidArgument(missing, "give both quiet_start and quiet_end, or neither")
    if policy.quiet_start is not None and policy.quiet_start == policy.quiet_end:
        raise InvalidArgument("quiet_end", "quiet_end must differ from quiet_start (or give neither)")
    _check_zone(policy.time_zone)
    _check_fallback(policy)
    for name, (low, high) in (("attribution_hours", ATTRIBUTION_HOURS), ("max_attempts", MAX_ATTEMPTS)):
        if not low <= getattr(policy, name) <= high:
            raise InvalidArgument(name, f"{name} must be between {low} and {high}")
    _check_webhook(policy.webhook_url, policy.webhook_secret)
    return policy


def _check_caps(caps: tuple[CapRule, ...]) -> None:
    if len(caps) > CAPS_MAX:
        raise InvalidArgument("caps", f"at most {CAPS_MAX} caps")
    seen: set[tuple[str, str]] = set()
    for i, cap in enumerate(caps):
        where = f"caps[{i}]"
        if cap.message_class not in CAP_CLASSES:
            raise InvalidArgument(
                f"{where}.message_class", f"{where}.message_class must be care, marketing or contact"
            )
        if cap.period not in CAP_PERIODS:
            raise InvalidArgument(f"{where}.period", f"{where}.period must be day or week")
        if not 0 <= cap.limit <= CAP_LIMIT_MAX:
            raise InvalidArgument(f"{where}.limit", f"{where}.limit must be between 0 and {CAP_LIMIT_MAX}")
        if (cap.message_class, cap.period) in seen:
            raise InvalidArgument(where, f"a second cap of {cap.message_class} per {cap.period}")
        seen.add((cap.message_class, cap.period))


def _check_zone(name: str) -> None:
    try:
        if not name or len(name) > ZONE_NAME_MAX:
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidArgument(
            "time_zone", "time_zone must be an IANA time zone, e.g. Asia/Shanghai"
        ) from None


def _check_fallback(policy: MessagingPolicy) -> None:
    for key, channels in policy.fallback.items():
        where = fallback_field(key)
        if key not in PREFERENCES:
            raise InvalidArgument(
                where, 'a fallback is keyed by "" (no preference), wechat, sms, phone or app'
            )
        if not channels:
            raise InvalidArgument(where, f"{where} lists no channel")
        if len(set(channels)) != len(channels):
            raise InvalidArgument(where, f"{where} lists a channel twice")
        if not all(isinstance(c, Channel) for c in channels):
            parse_channels(channels, where)
        if Channel.WEBHOOK in channels and not policy.webhook_url:
            raise InvalidArgument(where, f"{where} lists webhook but no webhook_url is set")


def _check_webhook(url: str, secret: str) -> None:
    if url:
        if not _is_url(url):
            raise InvalidArgument("webhook_url", "webhook_url must be an http(s) URL")
        if not secret:
            raise InvalidArgument("webhook_secret", "a webhook needs its signing secret (whsec_…)")
    if secret and not _is_secret(secret):
        raise InvalidArgument(
            "webhook_secret",
            f"webhook_secret must be whsec_ and the base64 of at least {SECRET_MIN_BYTES} bytes",
        )


def _is_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    printable = url.isprintable() and not any(c.isspace() for c in url)
    return len(url) <= URL_MAX and parts.scheme in ("http", "https") and bool(parts.hostname) and printable


def _is_secret(secret: str) -> bool:
    if not secret.startswith(SECRET_PREFIX):
        return False
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) >= SECRET_MIN_BYTES
