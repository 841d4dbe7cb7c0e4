"""Quiet hours: care and marketing wait until the member's morning rather than wake them.

The window is [start, end) in the member's local time; start after end spans midnight
(21:00-09:00). A message due inside it is deferred to the window's end — the next allowed
moment — never dropped.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def _inside(t: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= t < end
    return t >= start or t < end


def next_allowed(now: datetime, start: time | None, end: time | None, zone: ZoneInfo) -> datetime:
    """`now` when outside quiet hours, else the end of the quiet window (in `now`'s zone)."""
    if start is None or end is None:
        return now
    local = now.astimezone(zone)
    if not _inside(local.time().replace(tzinfo=None), start, end):
        return now
    day = local.date()
    if start > end and local.time().replace(tzinfo=None) >= start:
        day = day + timedelta(days=1)  # past start in the evening: the end is tomorrow morning
    allowed = datetime.combine(day, end, tzinfo=zone)
    # A wall-clock time DST skipped: zoneinfo resolves it forward, still after `now`.
    return allowed.astimezone(now.tzinfo)
