"""Messaging rules: what a message is and what the welcome says. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class InboxMessage:
    """One message in a member's in-app inbox.

    `source_event_id` is the event that caused it: unique per (tenant, kind), so a
    redelivered event can never put a second copy in the inbox.
    """

    id: str
    tenant_id: str
    member_id: str
    kind: str
    title: str
    body: str
    source_event_id: str
    created_at: datetime
    read_at: datetime | None = None
    message_id: str = ""  # the message it delivers; empty for the welcome note


def welcome_text(name: str, surname: str) -> tuple[str, str]:
    """Title and body of the welcome message; greets by the name the till recorded."""
    who = " ".join(p for p in (name, surname) if p).strip() or "there"
    return (
        "Welcome to our membership",
        f"Hello {who}, you are now a member. Your benefits and coupons will appear here.",
    )
