"""Feedback's events, turned into messages through the pipeline: a satisfaction survey's link
when it falls due, a follow-up when a resolved complaint's follow-up day comes, an escalation
task for the store when a complaint or a question misses its deadline, thanks for an adopted
suggestion. Each message's key is derived from the event's subject, so a redelivered event
sends nothing twice. Templates are the tenant's when it saved one under the reaction's id,
else the built-in ones (domain/builtin_templates.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chassis import logs
from chassis.errors import NotFound
from services.messaging.domain import builtin_templates as builtin
from services.messaging.domain.templates import Template
from services.messaging.service.ports import TemplateStore
from services.messaging.service.sending import Sending, SendRequest

log = logs.get(__name__)


class WithBuiltins:
    """A template store that falls back to the built-in templates for the reactions' ids."""

    def __init__(self, store: TemplateStore) -> None:
        self._store = store

    async def get(self, tenant_id: str, template_id: str) -> Template | None:
        found = await self._store.get(tenant_id, template_id)
        if found is not None:
            return found
        default = builtin.BUILTIN.get(template_id)
        return replace(default, tenant_id=tenant_id) if default else None


class Reactions:
    def __init__(self, sending: Sending, survey_page_url: str) -> None:
        self._sending = sending
        self._survey_page_url = survey_page_url

    async def _send(self, tenant_id: str, member_id: str, key: str, template_id: str, **more: Any) -> None:
        """One message on feedback's behalf, its key derived from the event's subject."""
        req = SendRequest(tenant_id, member_id, key, template_id, source="feedback", **more)
        try:
            await self._sending.send(req)
        except NotFound:  # the member is gone (erased or merged away): nobody to tell
            log.info("reaction for a member messaging cannot find", template=template_id)

    async def survey_due(
        self, tenant_id: str, member_id: str, survey_id: str, token: str, store_id: str, staff_id: str
    ) -> None:
        link = self._survey_page_url.format(token=token)
        await self._send(
            tenant_id,
            member_id,
            f"survey_due:{survey_id}",
            builtin.SURVEY_DUE,
            variables={"survey_link": link},
            store_id=store_id,
            staff_id=staff_id,
        )

    async def complaint_follow_up(
        self, tenant_id: str, member_id: str, case_id: str, store_id: str, staff_id: str
    ) -> None:
        await self._send(
            tenant_id,
            member_id,
            f"complaint_follow_up:{case_id}",
            builtin.COMPLAINT_FOLLOW_UP,
            variables={"case_id": case_id},
            store_id=store_id,
            staff_id=staff_id,
        )

    async def complaint_sla_breached(
        self, tenant_id: str, member_id: str, case_id: str, sla: str, store_id: str
    ) -> None:
        """A task for the store (no assistant named: the manager takes it), once per case and SLA."""
        await self._send(
            tenant_id,
            member_id,
            f"complaint_sla_breached:{case_id}:{sla}",
            builtin.COMPLAINT_ESCALATION,
            variables={"case_id": case_id},
            channels=["staff_task"],
            store_id=store_id,
            to_store=True,
        )

    async def thread_sla_breached(
        self, tenant_id: str, member_id: str, thread_id: str, store_id: str, staff_id: str
    ) -> None:
        await self._send(
            tenant_id,
            member_id,
            f"thread_sla_breached:{thread_id}",
            builtin.THREAD_ESCALATION,
            channels=["staff_task"],
            store_id=store_id,
            staff_id=staff_id,
            to_store=not staff_id,
        )

    async def suggestion_adopted(self, tenant_id: str, member_id: str, thread_id: str, store_id: str) -> None:
        await self._send(
            tenant_id,
            member_id,
            f"suggestion_adopted:{thread_id}",
            builtin.SUGGESTION_THANKS,
            store_id=store_id,
        )
