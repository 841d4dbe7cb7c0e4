"""Integration events in the CloudEvents Kafka binding, binary mode.

The record value is the protobuf event; its metadata travels in `ce_*` headers, so any
subscriber can route and deduplicate without decoding the payload. See
proto/regulars/common/v1/event.proto for the mapping.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.descriptor import FileDescriptor
from google.protobuf.message import Message
from ulid import ULID

from chassis import tracing

_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")

CONTENT_TYPE = "application/protobuf"
SPEC_VERSION = "1.0"


class MalformedEvent(ValueError):
    """A record that is not a valid Regulars CloudEvent; it can never be processed."""


@dataclass(frozen=True)
class Envelope:
    id: str
    type: str
    source: str
    time: datetime
    subject: str
    tenant_id: str
    data: bytes
    traceparent: str = ""

    def headers(self) -> list[tuple[str, bytes]]:
        headers = [
            ("ce_specversion", SPEC_VERSION.encode()),
            ("ce_id", self.id.encode()),
            ("ce_type", self.type.encode()),
            ("ce_source", self.source.encode()),
            ("ce_time", self.time.isoformat().replace("+00:00", "Z").encode()),
            ("ce_subject", self.subject.encode()),
            ("ce_tenantid", self.tenant_id.encode()),
            ("content-type", CONTENT_TYPE.encode()),
        ]
        if self.traceparent:
            headers.append(("ce_traceparent", self.traceparent.encode()))
        return headers

    @classmethod
    def from_record(cls, headers: Sequence[tuple[str, bytes]], value: bytes | None) -> Envelope:
        """Parse a Kafka record; raise MalformedEvent naming what is missing or wrong."""
        h = {k: v.decode("utf-8", "replace") for k, v in headers}
        missing = [k for k in ("ce_id", "ce_type", "ce_source", "ce_time", "ce_tenantid") if not h.get(k)]
        if missing:
            raise MalformedEvent(f"missing headers: {', '.join(missing)}")
        if h.get("content-type") != CONTENT_TYPE:
            raise MalformedEvent(f"unsupported content-type {h.get('content-type')!r}")
        try:
            time = datetime.fromisoformat(h["ce_time"].replace("Z", "+00:00"))
        except ValueError as exc:
            raise MalformedEvent(f"bad ce_time {h['ce_time']!r}") from exc
        return cls(
            id=h["ce_id"],
            type=h["ce_type"],
            source=h["ce_source"],
            time=time,
            subject=h.get("ce_subject", ""),
            tenant_id=h["ce_tenantid"],
            data=value or b"",
            traceparent=h.get("ce_traceparent", ""),
        )


def event_type(payload: type[Message] | Message) -> str:
    """An event's type, from its payload message: `regulars.members.v1.MemberRegistered` is
    `regulars.members.v1.member_registered`. Producers and consumers both derive it, so the
    strings are never typed twice."""
    return _type_of(payload.DESCRIPTOR.full_name)


@functools.cache
def _type_of(full_name: str) -> str:
    """Worked out once per message type: every event written asks (a claim's coupon_issued)."""
    package, _, name = full_name.rpartition(".")
    return f"{package}.{_SNAKE.sub('_', name).lower()}"


def topic_of(events: FileDescriptor) -> str:
    """The topic of the domain whose events this proto file holds: its package."""
    return str(events.package)


def new_event(
    *,
    source: str,
    type: str = "",
    tenant_id: str,
    subject: str,
    payload: Message,
    time: datetime | None = None,
) -> Envelope:
    """A fresh event with a ULID id (sortable by creation time), in the current trace; its
    type is the payload's (`event_type`) unless given."""
    return Envelope(
        id=str(ULID()),
        type=type or event_type(payload),
        source=source,
        time=time or datetime.now(UTC),
        subject=subject,
        tenant_id=tenant_id,
        data=payload.SerializeToString(),
        traceparent=tracing.current_traceparent(),
    )
