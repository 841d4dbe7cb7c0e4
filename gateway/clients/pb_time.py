"""Moments between protobuf `Timestamp`s and the schemas' timezone-aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp


def timestamp(at: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(at.astimezone(UTC))
    return ts


def optional_timestamp(at: datetime | None) -> Timestamp | None:
    return None if at is None else timestamp(at)


def moment(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


def optional_moment(message: Message, field: str) -> datetime | None:
    """The moment in `message.field`, or None when the field is not set."""
    return moment(getattr(message, field)) if message.HasField(field) else None
