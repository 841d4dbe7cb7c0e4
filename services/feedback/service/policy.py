"""The tenant's feedback policy: read it (the defaults until it sets one) and change it.

Every change is a new version, saved only if the version the caller read is still current
(ports.PolicyRepository.save): two managers editing at once cannot overwrite each other — the
second is told to read it again. A change that changes nothing makes no version. Cases keep
the SLA due times the policy gave them when they opened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from chassis.errors import FailedPrecondition, InvalidArgument
from services.feedback.domain import policy as model
from services.feedback.domain.policy import FeedbackPolicy
from services.feedback.service.cases import Clock, utc_now
from services.feedback.service.ports import PolicyRepository


class Policies:
    def __init__(self, store: PolicyRepository, clock: Clock = utc_now) -> None:
        self._store = store
        self._clock = clock

    async def get(self, tenant_id: str) -> FeedbackPolicy:
        return await self._store.current(tenant_id)

    async def update(
        self, tenant_id: str, settings: Mapping[str, object], expected_version: int, changed_by: str
    ) -> FeedbackPolicy:
        """The next version with `settings` (the dict form, domain.policy.parse_policy), made
        only on top of `expected_version`, the version the caller read (0: the defaults)."""
        if expected_version < 0:
            raise InvalidArgument("version", "version must not be negative")
        parsed = model.parse_policy(settings, tenant_id)
        current = await self._store.current(tenant_id)
        if current.version != expected_version:
            raise FailedPrecondition(
                f"the policy is at version {current.version}, not {expected_version}: read it again"
            )
        if model.settings_to_dict(parsed) == model.settings_to_dict(current):
            return current
        made = replace(parsed, version=current.version + 1, changed_by=changed_by, changed_at=self._clock())
        if not await self._store.save(made):
            raise FailedPrecondition(f"the policy changed after version {expected_version}: read it again")
        return made
