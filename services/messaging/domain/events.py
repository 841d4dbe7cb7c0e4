"""What a step of a message announces (facts; adapters/events.py makes them CloudEvents):
message_sent once when it becomes sent, message_failed once when it ends failed or skipped
(a delivery receipt that fails a sent message announces failed too)."""

from __future__ import annotations

from dataclasses import dataclass

from services.messaging.domain.messages import Message, State


@dataclass(frozen=True)
class MessageSent:
    message: Message


@dataclass(frozen=True)
class MessageFailed:
    message: Message


MessageFact = MessageSent | MessageFailed


def outcome_facts(before: Message, after: Message) -> list[MessageFact]:
    if after.state is before.state:
        return []
    if after.state is State.SENT:
        return [MessageSent(after)]
    if after.state in (State.FAILED, State.SKIPPED):
        return [MessageFailed(after)]
    return []
