"""What the messaging use cases need from the outside world: stores, providers, the staff task
desk, WeChat's subscription quotas and the tracked-link book. Adapters implement these."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from services.messaging.domain.channels import Channel, MessageClass
from services.messaging.domain.contacts import Contact
from services.messaging.domain.events import MessageFact
from services.messaging.domain.messages import Message
from services.messaging.domain.model import InboxMessage
from services.messaging.domain.policy import CapRule, MessagingPolicy
from services.messaging.domain.templates import Template


class InboxRepository(Protocol):
    async def know_member(self, tenant_id: str, member_id: str) -> None:
        """Remember that the member exists (idempotent): messaging's own view of members."""

    async def member_known(self, tenant_id: str, member_id: str) -> bool: ...

    async def forget_member(self, tenant_id: str, member_id: str) -> None:
        """Delete the member's messages (they greet by name): an erasure request."""

    async def add_once(self, message: InboxMessage) -> bool:
        """Store unless a message from the same source event exists; True when stored."""

    async def list_for_member(
        self, tenant_id: str, member_id: str, limit: int, before_id: str | None
    ) -> list[InboxMessage]:
        """Newest first, ids strictly below `before_id` when given."""

    async def mark_read(
        self, tenant_id: str, member_id: str, inbox_id: str, now: datetime
    ) -> tuple[InboxMessage, bool] | None:
        """Marks it read once; (the message, whether this call did), None when it is not theirs."""


@dataclass(frozen=True)
class Address:
    """Where a provider sends: what the channel needs, filled in by the dispatcher."""

    phone: str = ""  # E.164, for SMS
    openid: str = ""  # for WeChat
    webhook_url: str = ""
    webhook_secret: str = ""


@dataclass(frozen=True)
class Outgoing:
    """One try of one message on one channel, as a provider is handed it."""

    message_id: str  # also the provider's idempotency key where it has one (webhook-id)
    tenant_id: str
    member_id: str
    channel: Channel
    message_class: MessageClass
    template_id: str
    title: str
    body: str
    to: Address
    attempt: int = 1
    provider_template_id: str = ""  # WeChat's template id
    data: dict[str, str] = field(default_factory=dict)  # the variables (WeChat's data fields)


@dataclass(frozen=True)
class ProviderResult:
    ok: bool
    provider: str
    provider_message_id: str = ""
    reason: str = ""  # why it failed
    retryable: bool = True  # False: trying again cannot help (bad number, rejected content)


class Provider(Protocol):
    """A channel's way out (SMS API, WeChat, push, webhook, log). A raised exception counts as
    a retryable failure with the exception as the reason."""

    name: str

    async def send(self, out: Outgoing) -> ProviderResult: ...


class PhoneBook(Protocol):
    async def phone(self, tenant_id: str, member_id: str) -> str:
        """The member's phone number (E.164), "" when they have none."""

    async def contact(self, tenant_id: str, member_id: str) -> Contact | None:
        """The member as the members service has them now; None when there is no such member."""

    async def staff_name(self, tenant_id: str, staff_id: str) -> str: ...

    async def store_name(self, tenant_id: str, store_id: str) -> str: ...


class WechatQuotas(Protocol):
    """One-time subscribe messages: each acceptance the member gave allows one send."""

    async def grant(
        self, tenant_id: str, member_id: str, provider_template_id: str, openid: str, grant_id: str
    ) -> int:
        """Records an acceptance once per grant id; the sends still allowed."""

    async def take(
        self, tenant_id: str, member_id: str, provider_template_id: str, message_id: str
    ) -> str | None:
        """Uses one send for `message_id` (again for the same id: the same answer, no second
        use) and returns the openid to send to; None when no quota is left."""

    async def remaining(self, tenant_id: str, member_id: str, provider_template_id: str) -> int: ...


class TaskDesk(Protocol):
    """The staff-task channel: a message that goes by staff_task becomes a to-do."""

    async def open_for(
        self,
        message: Message,
        staff_id: str,
        store_id: str,
        title: str,
        script: str,
        due_at: datetime,
        now: datetime,
    ) -> str:
        """Opens the task once per message (again: the same task) and returns its id;
        announces staff_task_created with it."""


class LinkBook(Protocol):
    """Tracked links: the dispatcher renders `link(url)` as the gateway's /r/{token}."""

    def tracked_url(self, message: Message, url: str) -> tuple[str, str]:
        """(token, short url) for the message's link to `url`: the same for the same pair."""

    async def save(self, message: Message, links: Sequence[tuple[str, str]]) -> None:
        """Records (token, url) pairs of the message once each, before it is sent."""


class TemplateStore(Protocol):
    async def get(self, tenant_id: str, template_id: str) -> Template | None: ...


class PolicyStore(Protocol):
    async def current(self, tenant_id: str) -> MessagingPolicy:
        """The tenant's policy; the defaults when it never saved one."""


class ContactStore(Protocol):
    async def get(self, tenant_id: str, member_id: str) -> Contact | None: ...

    async def put_if_absent(self, contact: Contact) -> Contact:
        """Stores a contact filled from the members service unless events made one first."""

    async def registered(self, contact: Contact) -> None: ...

    async def consent_changed(
        self, tenant_id: str, member_id: str, channel: str, granted: bool, at: datetime
    ) -> None: ...

    async def profile_changed(
        self, tenant_id: str, member_id: str, fields: dict[str, str], at: datetime
    ) -> None: ...

    async def owner_changed(self, tenant_id: str, member_id: str, staff_id: str) -> None: ...

    async def points_changed(self, tenant_id: str, member_id: str, balance: int, at: datetime) -> None: ...

    async def tier_changed(self, tenant_id: str, member_id: str, tier: str) -> None: ...

    async def erase(self, tenant_id: str, member_id: str) -> None: ...


class MessageStore(Protocol):
    async def insert(self, m: Message, leased_until: datetime | None) -> tuple[Message, bool]:
        """Once per (tenant, key); the stored message and False when the key was used."""

    async def get(self, tenant_id: str, message_id: str) -> Message | None: ...

    async def by_key(self, tenant_id: str, key: str) -> Message | None: ...

    async def due(self, now: datetime, limit: int) -> list[Message]: ...

    async def claim(self, m: Message, now: datetime) -> Message | None:
        """Holds the message (a lease); None when another dispatcher holds it."""

    async def save(self, m: Message, expected_version: int, facts: Sequence[MessageFact] = ()) -> bool:
        """Writes `m` if still at `expected_version` (releasing the lease), with its events."""

    async def find(
        self, tenant_id: str, member_id: str, template_id: str, limit: int, before_id: str | None
    ) -> list[Message]: ...


class PressureStore(Protocol):
    async def take(
        self,
        tenant_id: str,
        member_id: str,
        message_id: str,
        message_class: MessageClass,
        rules: Sequence[CapRule],
        zone: ZoneInfo,
        now: datetime,
        seen: Contact | None = None,
    ) -> CapRule | None:
        """Counts the message once against the member's caps; the rule that stops it, or None.
        `seen`: the member as the caller just read them (their recent contacts with it)."""
