"""A message to one member: its lifecycle from request to sent, delivered, failed, capped or
skipped, as pure transitions. No I/O here.

A message is requested once per (tenant, key). It is `pending` until it goes: due at `due_at`
(quiet hours move that later, never drop it), tried on its channels in order. A provider
failure is retried on the same channel with back-off; when a channel's tries are spent, or it
cannot be used (no consent, no quota, no address), the next channel is tried; when none is left
the message ends `failed` (a provider said no) or `skipped` (no channel could be used), with
the reason. A cap stops it as `capped` with the rule that did. Every step is in `history`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from services.messaging.domain.channels import Channel, MessageClass

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
LEASE = timedelta(seconds=60)  # how long a dispatcher holds a message it is sending


class State(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    CAPPED = "capped"
    SKIPPED = "skipped"

    @property
    def final(self) -> bool:
        return self is not State.PENDING


class Outcome(StrEnum):
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"
    DEFERRED = "deferred"
    CAPPED = "capped"


@dataclass(frozen=True)
class Attempt:
    channel: str  # empty for a step about the whole message (deferred, capped)
    outcome: Outcome
    at: datetime
    reason: str = ""
    provider: str = ""
    provider_message_id: str = ""


@dataclass(frozen=True)
class Message:
    id: str
    tenant_id: str
    member_id: str
    key: str
    template_id: str
    message_class: MessageClass
    channels: tuple[Channel, ...]  # in the order to try
    due_at: datetime
    created_at: datetime
    variables: dict[str, str] = field(default_factory=dict)
    source: str = ""
    store_id: str = ""
    staff_id: str = ""  # the assistant it speaks for (a staff task goes to them)
    for_store: bool = False  # a staff task for the store as a whole (its manager), no assistant
    state: State = State.PENDING
    position: int = 0  # the channel now being tried: channels[position]
    attempts: int = 0  # failed tries on that channel
    reason: str = ""
    history: tuple[Attempt, ...] = ()
    sent_at: datetime | None = None
    deferred: bool = False
    staff_task_id: str = ""
    provider_message_id: str = ""
    version: int = 0

    @property
    def channel(self) -> Channel | None:
        """The channel it went by (once sent) or is being tried on."""
        return self.channels[self.position] if self.position < len(self.channels) else None

    def due(self, now: datetime) -> bool:
        return self.state is State.PENDING and self.due_at <= now


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed try: 30 s, 1 min, 2 min, ... at most an hour."""
    return min(BACKOFF_BASE * (1 << min(max(attempts - 1, 0), 16)), BACKOFF_MAX)


def defer(m: Message, until: datetime, now: datetime, reason: str) -> Message:
    """Not now (quiet hours): due again at `until`."""
    return replace(
        m,
        due_at=until,
        deferred=True,
        history=(*m.history, Attempt("", Outcome.DEFERRED, now, reason)),
    )


def cap(m: Message, rule: str, now: datetime) -> Message:
    return replace(
        m, state=State.CAPPED, reason=rule, history=(*m.history, Attempt("", Outcome.CAPPED, now, rule))
    )


def _next_channel(m: Message, now: datetime) -> Message:
    """On to the next channel, due now; or the end: failed if any provider said no, else skipped."""
    position = m.position + 1
    if position < len(m.channels):
        return replace(m, position=position, attempts=0, due_at=now)
    failures = [a for a in m.history if a.outcome is Outcome.FAILED]
    skips = [a for a in m.history if a.outcome is Outcome.SKIPPED]
    if failures:
        last = failures[-1]
        return replace(m, position=position, state=State.FAILED, reason=f"{last.channel}: {last.reason}")
    why = "; ".join(f"{a.channel}: {a.reason}" for a in skips) or "no channel to try"
    return replace(m, position=position, state=State.SKIPPED, reason=f"no usable channel ({why})")


def skip(m: Message, reason: str, now: datetime) -> Message:
    """The current channel cannot be used for this member (consent, quota, address, no text)."""
    channel = m.channel.value if m.channel else ""
    step = replace(m, history=(*m.history, Attempt(channel, Outcome.SKIPPED, now, reason)))
    return _next_channel(step, now)


def sent(
    m: Message, now: datetime, provider: str, provider_message_id: str = "", task_id: str = ""
) -> Message:
    channel = m.channel.value if m.channel else ""
    return replace(
        m,
        state=State.SENT,
        sent_at=now,
        provider_message_id=provider_message_id,
        staff_task_id=task_id or m.staff_task_id,
        history=(*m.history, Attempt(channel, Outcome.SENT, now, "", provider, provider_message_id)),
    )


def failed_try(
    m: Message, now: datetime, provider: str, reason: str, retryable: bool, max_attempts: int
) -> Message:
    """A provider said no: again on this channel after back-off, or on to the next one."""
    channel = m.channel.value if m.channel else ""
    attempts = m.attempts + 1
    step = replace(
        m, attempts=attempts, history=(*m.history, Attempt(channel, Outcome.FAILED, now, reason, provider))
    )
    if retryable and attempts < max_attempts:
        return replace(step, due_at=now + backoff(attempts))
    return _next_channel(step, now)


def receipt(m: Message, delivered: bool, reason: str, now: datetime) -> Message:
    """A provider's delivery receipt for a sent message; a repeated or late one changes nothing."""
    if m.state is not State.SENT:
        return m
    channel = m.channel.value if m.channel else ""
    outcome = Outcome.DELIVERED if delivered else Outcome.FAILED
    return replace(
        m,
        state=State.DELIVERED if delivered else State.FAILED,
        reason="" if delivered else f"{channel}: {reason or 'not delivered'}",
        history=(
            *m.history,
            Attempt(channel, outcome, now, reason, m.history[-1].provider if m.history else ""),
        ),
    )


def give_up(m: Message, reason: str, now: datetime) -> Message:
    """Nothing can be sent at all (the member or the template is gone): skipped, with why."""
    return replace(
        m,
        state=State.SKIPPED,
        reason=reason,
        position=len(m.channels),
        history=(*m.history, Attempt("", Outcome.SKIPPED, now, reason)),
    )
