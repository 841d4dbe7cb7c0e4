"""Asking to send one message, reading messages back, and providers' delivery receipts.

`send` records the message once per (tenant, key) — the same key returns the message first
recorded, whatever else the request says, so a retried or redelivered request sends once —
and, when it is due now, takes its first step inline (dispatch.py) so the caller learns at once
whether it went, was deferred or capped. The inline step runs under the lease the insert took:
if the caller hangs up or the process dies, the lease runs out and the dispatcher's next pass
finishes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ulid import ULID

from chassis.errors import InvalidArgument, NotFound, Unavailable
from services.messaging.domain import messages, routing
from services.messaging.domain.events import outcome_facts
from services.messaging.domain.messages import LEASE, Message
from services.messaging.service.dispatch import Dispatcher, Read
from services.messaging.service.ports import MessageStore, PolicyStore, TemplateStore

KEY_MAX = 200
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
RECEIPT_ATTEMPTS = 5


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SendRequest:
    tenant_id: str
    member_id: str
    message_key: str
    template_id: str
    variables: Mapping[str, str] = field(default_factory=dict)
    channels: Sequence[str] = ()
    not_before: datetime | None = None
    source: str = ""
    store_id: str = ""
    staff_id: str = ""  # empty: the member's own assistant
    to_store: bool = False  # a task for the store (its manager), no assistant


def _required(value: str, name: str, longest: int = 64) -> str:
    if not value:
        raise InvalidArgument(name, f"{name} is required")
    if len(value) > longest:
        raise InvalidArgument(name, f"{name} is longer than {longest} characters")
    return value


class Sending:
    def __init__(
        self,
        messages_store: MessageStore,
        templates: TemplateStore,
        policies: PolicyStore,
        dispatcher: Dispatcher,
        clock: Callable[[], datetime] = utc_now,
        lease: timedelta = LEASE,
    ) -> None:
        self._messages = messages_store
        self._templates = templates
        self._policies = policies
        self._dispatcher = dispatcher
        self._clock = clock
        self._lease = lease  # how long a request holds its new message while it sends it

    async def send(self, req: SendRequest) -> tuple[Message, bool]:
        """The message for the request's key and whether this call recorded it. A key already
        used is found by the insert itself (the unique index), not by a read before it."""
        _required(req.tenant_id, "tenant_id")
        _required(req.member_id, "member_id")
        _required(req.message_key, "message_key", KEY_MAX)
        _required(req.template_id, "template_id")
        requested = routing.parse_channels(req.channels)
        for name, value in req.variables.items():
            if len(value) > 1000:
                raise InvalidArgument(f"variables.{name}", "a variable's value is at most 1000 characters")
        template = await self._templates.get(req.tenant_id, req.template_id)
        if template is None:
            raise InvalidArgument("template_id", f"no template {req.template_id!r}")
        contact = await self._dispatcher.contact(req.tenant_id, req.member_id)
        if contact is None:
            raise NotFound(f"member {req.member_id} not found")
        policy = await self._policies.current(req.tenant_id)
        now = self._clock()
        due = max(now, req.not_before) if req.not_before else now
        message = Message(
            id=str(ULID()),
            tenant_id=req.tenant_id,
            member_id=req.member_id,
            key=req.message_key,
            template_id=template.id,
            message_class=template.message_class,
            channels=routing.order(requested, policy, contact, template),
            due_at=due,
            created_at=now,
            variables=dict(req.variables),
            source=req.source,
            store_id=req.store_id or contact.home_store_id,
            staff_id="" if req.to_store else (req.staff_id or contact.owner_staff_id),
            for_store=req.to_store,
            deferred=due > now,
        )
        inline = due <= now
        stored, created = await self._messages.insert(message, now + self._lease if inline else None)
        if not created:
            return stored, False
        if inline:
            return await self._dispatcher.dispatch_held(stored, now, Read(template, contact, policy)), True
        return stored, True

    async def get(self, tenant_id: str, message_id: str) -> Message:
        _required(tenant_id, "tenant_id")
        _required(message_id, "message_id")
        found = await self._messages.get(tenant_id, message_id)
        if found is None:
            raise NotFound(f"message {message_id} not found")
        return found

    async def list(
        self, tenant_id: str, member_id: str, template_id: str, page_size: int, page_token: str
    ) -> tuple[list[Message], str]:
        _required(tenant_id, "tenant_id")
        if page_size < 0:
            raise InvalidArgument("page_size", "page_size must not be negative")
        size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        before = None
        if page_token:
            try:
                before = str(ULID.from_str(page_token))
            except ValueError:
                raise InvalidArgument("page_token", "page_token is not one this service issued") from None
        items = await self._messages.find(tenant_id, member_id, template_id, size + 1, before)
        if len(items) > size:
            return items[:size], items[size - 1].id
        return items, ""

    async def receipt(self, tenant_id: str, message_id: str, status: str, reason: str) -> Message:
        """A provider's word on a sent message: delivered, or failed (announced once)."""
        if status not in ("delivered", "failed"):
            raise InvalidArgument("status", "status is 'delivered' or 'failed'")
        for _ in range(RECEIPT_ATTEMPTS):
            m = await self.get(tenant_id, message_id)
            after = messages.receipt(m, status == "delivered", reason, self._clock())
            if after is m:
                return m
            if await self._messages.save(after, m.version, outcome_facts(m, after)):
                return after
        raise Unavailable("the message is changing; try again")
