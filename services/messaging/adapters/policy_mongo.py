"""Tenants' messaging policies in MongoDB: one document per tenant (`_id` = the tenant).

`current` is a point read on every call, not a cache: with several replicas, an admin who
changed the policy must see the change from whichever replica answers next, and so must the
dispatcher. Saving is one conditional write: version 1 is an insert (the `_id` index lets one
of two first saves win), a later version an update only while the stored version is still the
one before it. The fallback is stored as a list of {preferred, channels}: "" (no preference) is
a key, and an empty field name is not one every store takes. The webhook secret is stored as
given: the webhook channel signs with it (it is never shown back: entrypoints/template_mapping).
"""

from __future__ import annotations

from pymongo import IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from chassis.mongo import Document, insert_once, retry_busy
from services.messaging.domain.channels import Channel
from services.messaging.domain.policy import CapRule, MessagingPolicy, defaults, format_hhmm, parse_hhmm

POLICIES = "messaging_policies"
INDEXES: dict[str, list[IndexModel]] = {}  # point reads and writes by `_id` only


def to_doc(p: MessagingPolicy) -> Document:
    return {
        "tenant_id": p.tenant_id,
        "caps": [{"message_class": c.message_class, "period": c.period, "limit": c.limit} for c in p.caps],
        "quiet_start": format_hhmm(p.quiet_start),
        "quiet_end": format_hhmm(p.quiet_end),
        "time_zone": p.time_zone,
        "fallback": [
            {"preferred": key, "channels": [c.value for c in channels]}
            for key, channels in p.fallback.items()
        ],
        "attribution_hours": p.attribution_hours,
        "max_attempts": p.max_attempts,
        "webhook_url": p.webhook_url,
        "webhook_secret": p.webhook_secret,
        "version": p.version,
        "updated_by": p.updated_by,
    }


def from_doc(doc: Document) -> MessagingPolicy:
    return MessagingPolicy(
        tenant_id=doc["tenant_id"],
        caps=tuple(CapRule(c["message_class"], c["period"], c["limit"]) for c in doc["caps"]),
        quiet_start=parse_hhmm(doc["quiet_start"], "quiet_start"),
        quiet_end=parse_hhmm(doc["quiet_end"], "quiet_end"),
        time_zone=doc["time_zone"],
        fallback={f["preferred"]: tuple(Channel(c) for c in f["channels"]) for f in doc["fallback"]},
        attribution_hours=doc["attribution_hours"],
        max_attempts=doc["max_attempts"],
        webhook_url=doc["webhook_url"],
        webhook_secret=doc["webhook_secret"],
        version=doc["version"],
        updated_by=doc["updated_by"],
    )


class MongoPolicies:
    """ports.PolicyStore for the pipeline, and service.policies.PolicyRepository."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._policies = db[POLICIES]

    async def current(self, tenant_id: str) -> MessagingPolicy:
        doc = await self._policies.find_one({"_id": tenant_id, "tenant_id": tenant_id})
        return defaults(tenant_id) if doc is None else from_doc(doc)

    async def save(self, policy: MessagingPolicy) -> bool:
        """Makes `policy` (version >= 1) current if the stored version is still the one before."""
        tenant_id = policy.tenant_id
        if policy.version < 1:
            return False  # version 0 is the defaults: never stored
        if policy.version == 1:
            return await insert_once(self._policies, {"_id": tenant_id, **to_doc(policy)})
        result = await retry_busy(
            lambda: self._policies.update_one(
                {"_id": tenant_id, "tenant_id": tenant_id, "version": policy.version - 1},
                {"$set": to_doc(policy)},
            )
        )
        return result.matched_count == 1
