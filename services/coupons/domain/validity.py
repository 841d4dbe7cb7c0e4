"""When a coupon can be used: a template's validity, turned into each coupon's window. No I/O.

A template says either "from A to B" (fixed) or "for N hours after it is issued" / "until the
end of the day (month) it is issued" (relative). Each coupon stores its own window, computed
once at issue by `window`, so later edits of the template never move a coupon's expiry.
Windows are half-open: [valid_from, valid_until).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import StrEnum

from chassis.errors import FailedPrecondition, InvalidArgument

MAX_DURATION = timedelta(days=3660)  # ten years: anything longer is a typo, not a promotion


class Until(StrEnum):
    NONE = ""
    DAY = "day"
    MONTH = "month"


@dataclass(frozen=True)
class Validity:
    """Exactly one mode is set: fixed (`starts_at`, `ends_at`), `duration`, or `until_end_of`."""

    starts_at: datetime | None = None
    ends_at: datetime | None = None
    duration: timedelta | None = None
    until_end_of: Until = Until.NONE

    @classmethod
    def parse(
        cls,
        *,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        duration: timedelta | None = None,
        until_end_of: str = "",
    ) -> Validity:
        fixed = starts_at is not None or ends_at is not None
        modes = [fixed, duration is not None, bool(until_end_of)]
        if sum(modes) == 0:
            raise InvalidArgument("validity", "validity needs a fixed window, a duration or until_end_of")
        if sum(modes) > 1:
            field = "validity.duration" if duration is not None else "validity.until_end_of"
            raise InvalidArgument(field, "give only one of: a fixed window, a duration, until_end_of")
        if fixed:
            start = _aware_field("validity.starts_at", starts_at)
            end = _aware_field("validity.ends_at", ends_at)
            if end <= start:
                raise InvalidArgument("validity.ends_at", "ends_at must be after starts_at")
            return cls(starts_at=start, ends_at=end)
        if duration is not None:
            if not timedelta(0) < duration <= MAX_DURATION:
                raise InvalidArgument(
                    "validity.duration", f"duration must be positive and at most {MAX_DURATION.days} days"
                )
            return cls(duration=duration)
        try:
            return cls(until_end_of=Until(until_end_of))
        except ValueError:
            raise InvalidArgument("validity.until_end_of", "until_end_of must be day or month") from None


def window(validity: Validity, issued_at: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """The coupon's [valid_from, valid_until) for one issued at `issued_at`; `tz` is the tenant's zone.

    A duration is elapsed time (computed in UTC), so "2 hours" is 2 hours even across a DST
    change; "end of day/month" is the next local midnight in `tz`. A fixed window is the
    template's own, even for a coupon issued before it opens (it is not yet valid then).
    """
    issued = _aware(issued_at)
    if validity.starts_at is not None and validity.ends_at is not None:
        if issued.astimezone(UTC) >= validity.ends_at.astimezone(UTC):
            raise FailedPrecondition("the template's validity has ended")
        return validity.starts_at, validity.ends_at
    if validity.duration is not None:
        return issued, (issued.astimezone(UTC) + validity.duration).astimezone(tz)
    local = issued.astimezone(tz).date()
    if validity.until_end_of is Until.DAY:
        end = local + timedelta(days=1)
    elif validity.until_end_of is Until.MONTH:
        end = (local.replace(day=28) + timedelta(days=4)).replace(day=1)
    else:
        raise ValueError("validity has no mode")
    # Through UTC and back, so a midnight that a DST change skips lands on a real instant.
    return issued, datetime.combine(end, time(0), tzinfo=tz).astimezone(UTC).astimezone(tz)


def is_valid_at(valid_from: datetime, valid_until: datetime, at: datetime) -> bool:
    """Whether `at` falls in the half-open window: usable from `valid_from`, gone at `valid_until`.

    Compared in UTC: Python compares datetimes sharing a tzinfo by wall clock, which is wrong
    in the hour a DST change repeats.
    """
    return _utc(valid_from) <= _utc(at) < _utc(valid_until)


def _aware_field(field: str, value: datetime | None) -> datetime:
    if value is None:
        raise InvalidArgument(field, f"{field.rsplit('.', 1)[-1]} is required for a fixed window")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidArgument(field, f"{field.rsplit('.', 1)[-1]} must carry a time zone")
    return value


def _utc(value: datetime) -> datetime:
    return _aware(value).astimezone(UTC)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware")
    return value
