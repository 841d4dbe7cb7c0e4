"""The messaging report: per template and channel, what was asked and what came of it. No I/O.

Every figure is of the messages requested in the period (a cohort, by `created_at`): a
message asked for on the 30th and clicked on the 2nd counts in the period of the 30th.
- requested: every message; sent: sent or delivered; deferred: moved later by quiet hours
  (or a not-before) whatever came of it after; capped, failed, skipped: how they ended.
- clicked: messages with at least one tap on a tracked link or an inbox read.
- converted: messages with at least one attributed conversion (a purchase or a claimed
  coupon); revenue: the purchases' amounts (domain/attribution.py on currencies).
The channel is the one the message went by or was last trying ("" when none was chosen).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from chassis.errors import InvalidArgument
from services.messaging.domain.attribution import SENT_STATES, one_currency


@dataclass(frozen=True)
class ReportedMessage:
    """What the report reads of a message."""

    id: str
    template_id: str
    channel: str
    state: str
    deferred: bool


@dataclass(frozen=True)
class MessageOutcome:
    """What came of one message: conversions and their revenue per currency."""

    conversions: int
    revenue: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    template_id: str
    channel: str
    requested: int = 0
    sent: int = 0
    deferred: int = 0
    capped: int = 0
    failed: int = 0
    skipped: int = 0
    clicked: int = 0
    converted: int = 0
    revenue_minor: int = 0
    currency: str = ""


def checked_period(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and until <= since:
        raise InvalidArgument("until", "until must be after since")


def report(
    messages: Iterable[ReportedMessage],
    clicked: set[str],
    outcomes: Mapping[str, MessageOutcome],
) -> list[Row]:
    """One row per (template, channel), in that order; `clicked` and `outcomes` by message id
    (others' ids are ignored: only the messages given are counted)."""
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    revenue: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for m in messages:
        c = counts[(m.template_id, m.channel)]
        c["requested"] += 1
        if m.state in SENT_STATES:
            c["sent"] += 1
        elif m.state in ("capped", "failed", "skipped"):
            c[m.state] += 1
        c["deferred"] += m.deferred
        c["clicked"] += m.id in clicked
        outcome = outcomes.get(m.id)
        if outcome is not None and outcome.conversions > 0:
            c["converted"] += 1
            for currency, amount in outcome.revenue.items():
                revenue[(m.template_id, m.channel)][currency] += amount
    rows = []
    for (template_id, channel), c in sorted(counts.items()):
        amount, currency = one_currency(revenue[(template_id, channel)])
        rows.append(
            Row(
                template_id,
                channel,
                requested=c["requested"],
                sent=c["sent"],
                deferred=c["deferred"],
                capped=c["capped"],
                failed=c["failed"],
                skipped=c["skipped"],
                clicked=c["clicked"],
                converted=c["converted"],
                revenue_minor=amount,
                currency=currency,
            )
        )
    return rows
