"""Tenants' feedback policies in MongoDB: one document per tenant (`_id` = the tenant) holding
the current version (domain.policy.to_dict).

Making a version current is one conditional write: inserted for version 1 (the `_id` index
lets one of two first saves win), else updated only while the stored version is still the one
before it; so two admins changing the policy at once make one version each or are told no,
never a lost change. A tenant that never saved one runs the defaults (version 0).
"""

from __future__ import annotations

from pymongo import IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from chassis.mongo import Document, insert_once, retry_busy
from services.feedback.domain.policy import FeedbackPolicy, defaults, from_dict, to_dict

POLICIES = "feedback_policies"
INDEXES: dict[str, list[IndexModel]] = {}  # point reads and writes by `_id` only


class MongoPolicies:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._policies = db[POLICIES]

    async def current(self, tenant_id: str) -> FeedbackPolicy:
        doc = await self._policies.find_one({"_id": tenant_id, "tenant_id": tenant_id})
        if doc is None:
            return defaults(tenant_id)
        return from_dict({k: v for k, v in doc.items() if k != "_id"})

    async def save(self, policy: FeedbackPolicy) -> bool:
        tenant_id = policy.tenant_id
        doc = to_dict(policy)
        if policy.version < 1:
            return False  # version 0 is the defaults: never stored
        if policy.version == 1:
            return await insert_once(self._policies, {"_id": tenant_id, **doc})
        result = await retry_busy(
            lambda: self._policies.update_one(
                {"_id": tenant_id, "tenant_id": tenant_id, "version": policy.version - 1}, {"$set": doc}
            )
        )
        return result.matched_count == 1
