"""Message templates: save (checked, versioned), read and list a tenant's.

A save is checked whole (domain.templates.validate: a misspelled variable, a syntax error, an
SMS too long is refused here, naming the field, and nothing is stored) and becomes the next
version of the template: version 1 when new, else the version read + 1, stored only while that
version is still current. Two admins saving at once both land, one after the other, each
reading the version the other made: a save is never lost and never applied to a version its
saver did not read. Who saved (`updated_by`) comes from the request: the gateway says who called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from chassis.errors import NotFound, Unavailable
from services.messaging.domain.templates import Template, validate

SAVE_ATTEMPTS = 10

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Now to the millisecond, as the store keeps it: a saved template reads back equal."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class TemplateRepository(Protocol):
    async def get(self, tenant_id: str, template_id: str) -> Template | None: ...

    async def for_tenant(self, tenant_id: str) -> list[Template]:
        """The tenant's templates, by id."""

    async def insert(self, template: Template) -> bool:
        """Stores version 1 unless the template exists; True when this call stored it."""

    async def replace(self, template: Template) -> bool:
        """Stores `template` if the stored version is still `template.version - 1`."""


class Templates:
    def __init__(self, store: TemplateRepository, clock: Clock = utc_now) -> None:
        self._store = store
        self._clock = clock

    async def save(self, template: Template, updated_by: str) -> Template:
        """The template as saved: the next version (the version it carries is not a condition)."""
        checked = validate(template)
        for _ in range(SAVE_ATTEMPTS):
            current = await self._store.get(checked.tenant_id, checked.id)
            made = replace(
                checked,
                version=1 if current is None else current.version + 1,
                updated_at=self._clock(),
                updated_by=updated_by,
            )
            stored = await (self._store.insert(made) if current is None else self._store.replace(made))
            if stored:
                return made
        raise Unavailable(f"template {checked.id} is being saved by others right now; try again")

    async def get(self, tenant_id: str, template_id: str) -> Template:
        found = await self._store.get(tenant_id, template_id)
        if found is None:
            raise NotFound(f"template {template_id} not found")
        return found

    async def list_templates(self, tenant_id: str) -> list[Template]:
        return await self._store.for_tenant(tenant_id)
