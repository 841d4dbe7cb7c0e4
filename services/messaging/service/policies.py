"""The tenant's messaging policy: read it (the defaults until it saves one) and change some of
its fields.

A change names the fields it sets (`fields`, of domain.policy.SETTINGS) and is applied to the policy as
read now, so two admins changing different fields at once both land: a save that lost the race
(the stored version moved) reads again and applies its fields to the newer version. A caller
that read a version and wants its change only on top of it says so (`expected_version`): a
policy changed since is FailedPrecondition. The merged policy is checked whole; a change that
changes nothing makes no version. Who changed it (`updated_by`) comes from the request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Protocol

from chassis.errors import FailedPrecondition, InvalidArgument, Unavailable
from services.messaging.domain import policy as rules
from services.messaging.domain.policy import MessagingPolicy

SAVE_ATTEMPTS = 10


class PolicyRepository(Protocol):
    async def current(self, tenant_id: str) -> MessagingPolicy:
        """The tenant's policy; the defaults (version 0) when it never saved one."""

    async def save(self, policy: MessagingPolicy) -> bool:
        """Stores `policy` if the stored version is still `policy.version - 1`."""


def _same(a: MessagingPolicy, b: MessagingPolicy) -> bool:
    return all(getattr(a, name) == getattr(b, name) for name in rules.SETTINGS)


class Policies:
    def __init__(self, store: PolicyRepository) -> None:
        self._store = store

    async def get(self, tenant_id: str) -> MessagingPolicy:
        return await self._store.current(tenant_id)

    async def update(
        self, change: MessagingPolicy, fields: Iterable[str], updated_by: str, expected_version: int = 0
    ) -> MessagingPolicy:
        """The policy with `change`'s `fields` made current (no fields: no change); with
        `expected_version` (> 0) only if that is still the current version."""
        if expected_version < 0:
            raise InvalidArgument("version", "version must not be negative")
        names = frozenset(fields)
        for _ in range(SAVE_ATTEMPTS):
            current = await self._store.current(change.tenant_id)
            if expected_version and current.version != expected_version:
                raise FailedPrecondition(
                    f"the policy is at version {current.version}, not {expected_version}: read it again"
                )
            merged = rules.validate(rules.merge(current, change, names))
            if _same(merged, current):
                return current
            made = replace(merged, version=current.version + 1, updated_by=updated_by)
            if await self._store.save(made):
                return made
        raise Unavailable("the policy is being changed by others right now; try again")
