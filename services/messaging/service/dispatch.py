"""The dispatcher: takes a message that is due and moves it one step on — deferred by quiet
hours, capped, skipped past channels it cannot use, handed to a provider, retried later, or
done — and records that step in one guarded write with the event it announces.

Order of the checks, so a message spends nothing it does not use: quiet hours (care and
marketing wait for the morning, nothing counted); then per channel, in the message's order,
what needs no writes (the template has text for it, consent, an address, a WeChat subscription
left); then, once, the member's frequency caps (a slot taken once per message); then the
WeChat send quota; then render, record the tracked links, and hand over. A provider failure is
retried on the same channel with back-off (a later pass); spent tries move on to the next
channel at once.

`run(now)` is the pass the service's worker makes every few seconds (and RunDispatcher):
messages due by `now`, each claimed (a lease) so replicas never send one twice at once. A
request's own new message is sent inline, under the lease its insert took. A crash at any point
leaves the message pending with a lease that runs out: the next pass sends it, giving providers
the message id as their idempotency key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ulid import ULID

from chassis import logs
from services.messaging.domain import messages, quiet_hours, routing, templates
from services.messaging.domain.channels import Channel
from services.messaging.domain.contacts import Contact
from services.messaging.domain.events import outcome_facts
from services.messaging.domain.messages import Message, State
from services.messaging.domain.model import InboxMessage
from services.messaging.domain.policy import MessagingPolicy
from services.messaging.domain.templates import Template
from services.messaging.service.ports import (
    Address,
    ContactStore,
    InboxRepository,
    LinkBook,
    MessageStore,
    Outgoing,
    PhoneBook,
    PolicyStore,
    PressureStore,
    Provider,
    ProviderResult,
    TaskDesk,
    TemplateStore,
    WechatQuotas,
)

log = logs.get(__name__)
BATCH = 200


@dataclass
class DispatchSummary:
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    capped: int = 0
    skipped: int = 0
    retried: int = 0
    lost: dict[str, str] = field(default_factory=dict)  # message id -> why this pass left it

    def count(self, before: Message, after: Message) -> None:
        if after.state is State.SENT:
            self.sent += 1
        elif after.state is State.FAILED:
            self.failed += 1
        elif after.state is State.CAPPED:
            self.capped += 1
        elif after.state is State.SKIPPED:
            self.skipped += 1
        elif after.due_at > before.due_at and after.deferred and not before.deferred:
            self.deferred += 1
        elif after.attempts > before.attempts or after.position > before.position:
            self.retried += 1


@dataclass(frozen=True)
class Read:
    """What a step reads before it decides anything."""

    template: Template
    contact: Contact
    policy: MessagingPolicy


@dataclass(frozen=True)
class Pipeline:
    """What the dispatcher reads and where it sends: stores, providers per channel, and the
    internal channels (inbox, staff tasks)."""

    messages: MessageStore
    contacts: ContactStore
    templates: TemplateStore
    policies: PolicyStore
    pressure: PressureStore
    providers: Mapping[Channel, Provider]
    quotas: WechatQuotas
    tasks: TaskDesk
    links: LinkBook
    inbox: InboxRepository
    members: PhoneBook


class Dispatcher:
    def __init__(self, p: Pipeline) -> None:
        self._p = p

    async def run(self, now: datetime, limit: int = BATCH) -> DispatchSummary:
        summary = DispatchSummary()
        for due in await self._p.messages.due(now, limit):
            try:
                held = await self._p.messages.claim(due, now)
                if held is None:
                    continue  # another replica has it
                after = await self.dispatch_held(held, now)
            except Exception as exc:  # the store, members: the lease runs out, next pass
                summary.lost[due.id] = str(exc) or type(exc).__name__
                continue
            summary.count(held, after)
        if summary.lost:
            log.warning("dispatcher left messages for the next pass", left=len(summary.lost))
        return summary

    async def dispatch_held(self, m: Message, now: datetime, read: Read | None = None) -> Message:
        """One step of a message this caller holds (claimed, or just inserted), recorded.
        `read`: its template, member and policy when the caller has just read them."""
        after = await self._step(m, now, read)
        if not await self._p.messages.save(after, m.version, outcome_facts(m, after)):
            stored = await self._p.messages.get(m.tenant_id, m.id)
            return stored or after  # the lease ran out and another pass took it over
        return after

    async def contact(self, tenant_id: str, member_id: str) -> Contact | None:
        """Messaging's view of the member; filled from members the first time it is needed."""
        known = await self._p.contacts.get(tenant_id, member_id)
        if known is not None:
            return known
        fetched = await self._p.members.contact(tenant_id, member_id)
        return await self._p.contacts.put_if_absent(fetched) if fetched is not None else None

    async def _step(self, m: Message, now: datetime, read: Read | None) -> Message:
        p = self._p
        if read is None:
            template = await p.templates.get(m.tenant_id, m.template_id)
            if template is None:
                return messages.give_up(m, f"template {m.template_id} no longer exists", now)
            contact = await self.contact(m.tenant_id, m.member_id)
            if contact is None:
                return messages.give_up(m, "the member is gone", now)
            read = Read(template, contact, await p.policies.current(m.tenant_id))
        template, contact, policy = read.template, read.contact, read.policy
        if contact.erased:
            return messages.give_up(m, "the member is gone", now)
        zone = ZoneInfo(contact.time_zone or policy.time_zone)
        if m.message_class.capped:
            allowed = quiet_hours.next_allowed(now, policy.quiet_start, policy.quiet_end, zone)
            if allowed > now:
                return messages.defer(m, allowed, now, "quiet hours")
        counted = False
        while m.state is State.PENDING and m.channel is not None:
            channel = m.channel
            why = routing.unusable(
                channel, m.message_class, template, contact, policy, m.store_id, m.staff_id
            )
            address = Address()
            if why is None:
                address, why = await self._address(m, channel, template, policy)
            if why is not None:
                m = messages.skip(m, why, now)
                continue
            if m.message_class.capped and not counted:
                rule = await p.pressure.take(
                    m.tenant_id, m.member_id, m.id, m.message_class, policy.caps, zone, now, contact
                )
                if rule is not None:
                    return messages.cap(m, str(rule), now)
                counted = True
            if channel is Channel.WECHAT:
                text = template.texts[channel]
                openid = await p.quotas.take(m.tenant_id, m.member_id, text.provider_template_id, m.id)
                if openid is None:
                    m = messages.skip(m, "no WeChat subscription left", now)
                    continue
                address = Address(openid=openid)
            m = await self._deliver(m, channel, template, contact, address, policy, now)
            if m.state is State.PENDING and m.due_at > now:
                return m  # a provider failed: this channel again after back-off
        return m

    async def _address(
        self, m: Message, channel: Channel, template: Template, policy: MessagingPolicy
    ) -> tuple[Address, str | None]:
        """Where the channel sends for this member, or why it has nowhere to send."""
        if channel is Channel.SMS:
            phone = await self._p.members.phone(m.tenant_id, m.member_id)
            return Address(phone=phone), None if phone else "no phone number"
        if channel is Channel.WEBHOOK:
            return Address(webhook_url=policy.webhook_url, webhook_secret=policy.webhook_secret), None
        if channel is Channel.WECHAT:
            left = await self._p.quotas.remaining(
                m.tenant_id, m.member_id, template.texts[channel].provider_template_id
            )
            return Address(), None if left > 0 else "no WeChat subscription left"
        return Address(), None

    async def _assistant(self, m: Message) -> str:
        """Who a staff task goes to: the one the message names, else the member's owner as the
        members service has them now (messaging's view may not have heard of a new member's
        assistant yet), else nobody (the store's task)."""
        if m.staff_id or m.for_store:
            return m.staff_id
        fresh = await self._p.members.contact(m.tenant_id, m.member_id)
        return fresh.owner_staff_id if fresh else ""

    async def _variables(self, m: Message, contact: Contact, template: Template) -> dict[str, str]:
        """The member's own values, then the caller's (coupon, survey link...) on top."""
        values = {
            "name": contact.name,
            "surname": contact.surname,
            "title": contact.title,
            "full_name": " ".join(p for p in (contact.surname, contact.name) if p),
            "points_balance": str(contact.points_balance),
            "tier": contact.tier,
        }
        used = templates.variables_used(template)
        staff_id = m.staff_id or contact.owner_staff_id
        if "assistant" in used and staff_id:
            values["assistant"] = await self._p.members.staff_name(m.tenant_id, staff_id)
        store_id = m.store_id or contact.home_store_id
        if "store" in used and store_id:
            values["store"] = await self._p.members.store_name(m.tenant_id, store_id)
        return values | dict(m.variables)

    async def _deliver(
        self,
        m: Message,
        channel: Channel,
        template: Template,
        contact: Contact,
        address: Address,
        policy: MessagingPolicy,
        now: datetime,
    ) -> Message:
        p = self._p
        links: list[tuple[str, str]] = []

        def link(url: str) -> str:
            token, short = p.links.tracked_url(m, url)
            links.append((token, url))
            return short

        rendered = templates.render(template, channel, await self._variables(m, contact, template), link)
        if links:
            await p.links.save(m, links)
        if channel is Channel.INBOX:
            await p.inbox.know_member(m.tenant_id, m.member_id)  # its inbox exists from now
            await p.inbox.add_once(
                InboxMessage(
                    id=str(ULID()),
                    tenant_id=m.tenant_id,
                    member_id=m.member_id,
                    kind=m.template_id,
                    title=rendered.title,
                    body=rendered.body,
                    source_event_id=m.id,
                    created_at=now,
                    message_id=m.id,
                )
            )
            return messages.sent(m, now, "inbox")
        if channel is Channel.STAFF_TASK:
            task_id = await p.tasks.open_for(
                m,
                await self._assistant(m),
                m.store_id or contact.home_store_id,
                rendered.title or template.name,
                rendered.body or template.script,
                now + timedelta(hours=template.task_due_hours),
                now,
            )
            return messages.sent(m, now, "staff_task", task_id=task_id)
        provider = p.providers[channel]
        out = Outgoing(
            message_id=m.id,
            tenant_id=m.tenant_id,
            member_id=m.member_id,
            channel=channel,
            message_class=m.message_class,
            template_id=m.template_id,
            title=rendered.title,
            body=rendered.body,
            to=address,
            attempt=m.attempts + 1,
            provider_template_id=template.texts[channel].provider_template_id,
            data=dict(rendered.data),
        )
        try:
            result = await provider.send(out)
        except Exception as exc:  # a provider's bug or a transport error: a failed try, retried
            result = ProviderResult(ok=False, provider=provider.name, reason=repr(exc), retryable=True)
        if result.ok:
            return messages.sent(m, now, result.provider, result.provider_message_id)
        return messages.failed_try(
            m, now, result.provider, result.reason, result.retryable, policy.max_attempts
        )
