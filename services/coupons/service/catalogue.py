"""Templates: create, edit, change state. Editing an active template never touches coupons out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ulid import ULID

from chassis.errors import FailedPrecondition, InvalidArgument, NotFound
from services.coupons.domain import templates as tpl
from services.coupons.domain.templates import StoredTemplate, Template, TemplateState
from services.coupons.service.housekeeping import Report, template_report
from services.coupons.service.ports import CouponRepository, TemplateRepository


@dataclass(frozen=True)
class TemplateView:
    template: Template
    stays_spent_on_refund: bool
    issued: int
    budget_used: int
    audience_ready: bool


class Catalogue:
    def __init__(
        self,
        templates: TemplateRepository,
        coupons: CouponRepository,
        audience_needed: Callable[[Template], Awaitable[None]],
    ) -> None:
        self._templates = templates
        self._coupons = coupons
        self._audience_needed = audience_needed  # starts copying a segment audience in

    async def create(
        self, tenant_id: str, fields: dict[str, Any], stays_spent_on_refund: bool
    ) -> TemplateView:
        template = Template.parse(id=str(ULID()), tenant_id=tenant_id, created_at=datetime.now(UTC), **fields)
        await self._templates.add(template, stays_spent_on_refund)
        return await self.view(tenant_id, template.id)

    async def view(self, tenant_id: str, template_id: str) -> TemplateView:
        found = await self._templates.get(tenant_id, template_id)
        if found is None:
            raise NotFound(f"template {template_id} not found")
        return _view(found, await self._coupons.count_issued(tenant_id, template_id))

    async def of_tenant(self, tenant_id: str, state: str) -> list[TemplateView]:
        if state:
            state = _state(state).value
        return [_view(stored, -1) for stored in await self._templates.of_tenant(tenant_id, state)]

    async def update(
        self, tenant_id: str, template_id: str, changes: dict[str, Any], stays_spent_on_refund: bool | None
    ) -> TemplateView:
        current = await self.view(tenant_id, template_id)
        edited = tpl.edit(current.template, already_issued=current.issued, **changes)
        keep = current.stays_spent_on_refund if stays_spent_on_refund is None else stays_spent_on_refund
        if edited is current.template and keep == current.stays_spent_on_refund:
            return current
        if edited is current.template:
            edited = replace(edited, version=edited.version + 1)
        if not await self._templates.save(edited, keep, current.template.version):
            raise FailedPrecondition("the template was changed meanwhile; read it again and retry")
        return await self.view(tenant_id, template_id)

    async def report(self, tenant_id: str, template_id: str) -> Report:
        await self.view(tenant_id, template_id)  # NOT_FOUND for a foreign or missing template
        return await template_report(self._coupons, tenant_id, template_id)

    async def set_state(self, tenant_id: str, template_id: str, state: str) -> TemplateView:
        wanted = _state(state)
        current = await self.view(tenant_id, template_id)
        target = tpl.transition(current.template.state, wanted)
        moved = replace(current.template, state=target)
        if not await self._templates.set_state(moved, current.template.state.value):
            raise FailedPrecondition("the template was changed meanwhile; read it again and retry")
        if target is TemplateState.ACTIVE and not current.audience_ready:
            await self._audience_needed(moved)
        return await self.view(tenant_id, template_id)


def _view(stored: StoredTemplate, issued: int) -> TemplateView:
    """What a reader sees of a stored template; `issued` -1 when not counted (lists)."""
    return TemplateView(
        stored.template, stored.stays_spent_on_refund, issued, stored.budget_used, stored.audience_known
    )


def _state(raw: str) -> TemplateState:
    try:
        return TemplateState(raw)
    except ValueError:
        names = ", ".join(s.value for s in TemplateState)
        raise InvalidArgument("state", f"state must be one of {names}") from None
