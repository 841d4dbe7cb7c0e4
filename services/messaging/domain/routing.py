"""Which channels a message tries, in which order, and whether one can be used for a member.

The caller may name the order (e.g. WeChat -> SMS -> staff task); otherwise the tenant's policy
gives one per preferred channel of the member (young customers on WeChat, older ones by phone or
SMS, DESIGN.md). A channel is usable when the template has text for it, the member's consent
allows this class of message on it, and the channel has somewhere to go; the dispatcher checks
the rest (a phone number, a WeChat subscription left) when it gets there.
"""

from __future__ import annotations

from collections.abc import Sequence

from chassis.errors import InvalidArgument
from services.messaging.domain.channels import Channel, MessageClass, consent_allows
from services.messaging.domain.contacts import Contact
from services.messaging.domain.policy import MessagingPolicy
from services.messaging.domain.templates import Template


def parse_channels(names: Sequence[str], field: str = "channels") -> tuple[Channel, ...]:
    known = {c.value for c in Channel}
    out: list[Channel] = []
    for i, name in enumerate(names):
        if name not in known:
            raise InvalidArgument(f"{field}[{i}]", f"unknown channel {name!r}; one of {sorted(known)}")
        if Channel(name) in out:
            raise InvalidArgument(f"{field}[{i}]", f"channel {name!r} is listed twice")
        out.append(Channel(name))
    return tuple(out)


def order(
    requested: Sequence[Channel], policy: MessagingPolicy, contact: Contact | None, template: Template
) -> tuple[Channel, ...]:
    """The channels to try: the caller's order; else the policy's for the member's preferred
    channel, keeping those the template has text for; else (a template written for channels
    the policy does not list, e.g. staff tasks only) the template's own channels."""
    if requested:
        return tuple(requested)
    preferred = contact.preferred_channel if contact else ""
    chain = policy.fallback.get(preferred) or policy.fallback.get("") or ()
    usable = tuple(c for c in chain if c in template.texts)
    return usable or tuple(c for c in Channel if c in template.texts)


def unusable(
    channel: Channel,
    message_class: MessageClass,
    template: Template,
    contact: Contact,
    policy: MessagingPolicy,
    store_id: str,
    staff_id: str = "",
) -> str | None:
    """Why the channel cannot carry this message to this member now, or None when it can."""
    if channel not in template.texts:
        return f"template {template.id} has no {channel.value} text"
    if not consent_allows(channel, message_class, contact.consent):
        return f"no {message_class.value} consent for {channel.value}"
    if channel is Channel.WEBHOOK and not policy.webhook_url:
        return "the tenant has no webhook"
    if channel is Channel.STAFF_TASK and not (
        staff_id or contact.owner_staff_id or store_id or contact.home_store_id
    ):
        return "no assistant or store to give the task to"
    return None
