"""In-memory fakes of the messaging template and policy stores, keeping their contracts (an
insert once, a write only on top of the version before) and able to slip someone else's save in
between a use case's read and its write, to prove a lost race is retried, not lost."""

from __future__ import annotations

from dataclasses import replace

from services.messaging.domain.policy import MessagingPolicy, defaults
from services.messaging.domain.templates import Template


class FakeTemplates:
    """The template store's contract in memory: insert once, replace on the version before."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Template] = {}
        self.before_write: list[Template] = []  # saved by "someone else" just before our write

    async def get(self, tenant_id: str, template_id: str) -> Template | None:
        return self.rows.get((tenant_id, template_id))

    async def for_tenant(self, tenant_id: str) -> list[Template]:
        return [t for (tenant, _), t in sorted(self.rows.items()) if tenant == tenant_id]

    async def insert(self, template: Template) -> bool:
        self._interfere()
        key = (template.tenant_id, template.id)
        if key in self.rows:
            return False
        self.rows[key] = template
        return True

    async def replace(self, template: Template) -> bool:
        self._interfere()
        key = (template.tenant_id, template.id)
        if key not in self.rows or self.rows[key].version != template.version - 1:
            return False
        self.rows[key] = template
        return True

    def _interfere(self) -> None:
        if self.before_write:
            other = self.before_write.pop(0)
            current = self.rows.get((other.tenant_id, other.id))
            self.rows[(other.tenant_id, other.id)] = replace(
                other, version=(current.version if current else 0) + 1
            )


class FakePolicies:
    """The policy store's contract in memory: version 1 inserted once, later ones on the one before."""

    def __init__(self) -> None:
        self.rows: dict[str, MessagingPolicy] = {}
        self.before_write: list[MessagingPolicy] = []  # someone else's save, just before ours

    async def current(self, tenant_id: str) -> MessagingPolicy:
        return self.rows.get(tenant_id) or defaults(tenant_id)

    async def save(self, policy: MessagingPolicy) -> bool:
        if self.before_write:
            other = self.before_write.pop(0)
            self.rows[other.tenant_id] = replace(
                other, version=(await self.current(other.tenant_id)).version + 1
            )
        stored = await self.current(policy.tenant_id)
        if stored.version != policy.version - 1:
            return False
        self.rows[policy.tenant_id] = policy
        return True
