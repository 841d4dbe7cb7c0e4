"""Types shared by the request bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _in_range_utc(value: datetime) -> datetime:
    """A moment with a time zone, converted to UTC, between 2000 and 2100 (the fuzzer found that
    year 1 with an offset cannot even be converted)."""
    if value.tzinfo is None:
        raise ValueError("give a time zone, e.g. 2026-11-23T10:00:00+08:00")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("date out of range") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError("date must be between 2000 and 2100")
    return utc


UtcTimestamp = Annotated[datetime, AfterValidator(_in_range_utc)]
