"""Channels a message can go by, the classes of messages, and which consent each channel needs.

Consent is the member's, per channel, as the members service keeps it ("sms", "wechat", "app",
"phone"), and it is opt-in there: nothing is sent before the member agrees. So care and
marketing need the channel granted; transactional messages (a receipt, a coupon issued) go
whatever the member chose for promotions: a member who replied T still gets their receipt. The
in-app inbox needs no consent: the member reads it when they open the mini-program.
"""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    INBOX = "inbox"  # the mini-program's in-app inbox: fully ours, no provider
    SMS = "sms"
    WECHAT = "wechat"  # WeChat subscribe message: one send per accepted subscription
    PUSH = "push"
    WEBHOOK = "webhook"  # the tenant's own endpoint (Standard Webhooks)
    STAFF_TASK = "staff_task"  # a to-do for the member's owning assistant


class MessageClass(StrEnum):
    TRANSACTIONAL = "transactional"
    CARE = "care"
    MARKETING = "marketing"

    @property
    def capped(self) -> bool:
        """Caps and quiet hours protect the customer from care and marketing, not receipts."""
        return self is not MessageClass.TRANSACTIONAL


# The members service's consent key of each channel; None: no consent of the member's applies
# (the inbox is read when the member opens it; the webhook is the tenant's own system).
CONSENT_KEY: dict[Channel, str | None] = {
    Channel.INBOX: None,
    Channel.SMS: "sms",
    Channel.WECHAT: "wechat",
    Channel.PUSH: "app",
    Channel.WEBHOOK: None,
    Channel.STAFF_TASK: "phone",
}


def consent_allows(channel: Channel, message_class: MessageClass, consent: dict[str, bool]) -> bool:
    """Whether the member's consent lets this class of message go by this channel."""
    key = CONSENT_KEY[channel]
    if key is None or message_class is MessageClass.TRANSACTIONAL:
        return True
    return consent.get(key) is True
