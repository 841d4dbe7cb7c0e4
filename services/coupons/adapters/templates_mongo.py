"""Coupon templates in MongoDB, and the budget of discount each may give.

The budget is charged per redemption with a conditional update that also records the charge
under a key of (coupon, receipt): a retried redemption is charged once, a refund gives back
exactly that charge once, and the used total never passes the budget. Each write is one
conditional update, atomic in the store, so replicas need no lock to agree.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from chassis.mongo import Document, find_for_tenant, insert_once
from services.coupons.adapters.documents import template_doc, template_from
from services.coupons.domain.templates import StoredTemplate, Template
from services.coupons.service.ports import Charge

TEMPLATES = "templates"
INDEXES = {TEMPLATES: [IndexModel([("tenant_id", ASCENDING), ("state", ASCENDING)], name="tenant_state")]}


class MongoTemplates:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._templates = db[TEMPLATES]

    async def add(self, t: Template, stays_spent_on_refund: bool) -> None:
        doc = template_doc(t, stays_spent_on_refund) | {"budget_used": 0, "audience_ready": False}
        await insert_once(self._templates, doc)

    async def get(self, tenant_id: str, template_id: str) -> StoredTemplate | None:
        doc = await find_for_tenant(self._templates, tenant_id, template_id)
        return _stored(doc) if doc else None

    async def of_tenant(self, tenant_id: str, state: str = "") -> list[StoredTemplate]:
        query: dict[str, Any] = {"tenant_id": tenant_id} | ({"state": state} if state else {})
        docs = await self._templates.find(query).sort("created_at", -1).limit(500).to_list()
        return [_stored(d) for d in docs]

    async def save(self, t: Template, stays_spent_on_refund: bool, expected_version: int) -> bool:
        """Write an edited template unless someone else edited it first (version check)."""
        fields = template_doc(t, stays_spent_on_refund)
        del fields["_id"]
        result = await self._templates.update_one(
            {"_id": t.id, "tenant_id": t.tenant_id, "version": expected_version, "state": {"$ne": "ended"}},
            {"$set": fields},
        )
        return result.modified_count == 1

    async def set_state(self, t: Template, expected: str) -> bool:
        result = await self._templates.update_one(
            {"_id": t.id, "tenant_id": t.tenant_id, "state": expected}, {"$set": {"state": t.state.value}}
        )
        return result.modified_count == 1

    async def set_audience_ready(self, tenant_id: str, template_id: str) -> None:
        await self._templates.update_one(
            {"_id": template_id, "tenant_id": tenant_id}, {"$set": {"audience_ready": True}}
        )

    async def charge_budget(
        self, tenant_id: str, template_id: str, budget: int, key: str, amount: int
    ) -> Charge:
        """Record `amount` of discount under `key`, unless it would pass the budget."""
        doc = await self._templates.find_one_and_update(
            {
                "_id": template_id,
                "tenant_id": tenant_id,
                f"budget_marks.{key}": {"$exists": False},
                "budget_used": {"$lte": budget - amount},
            },
            {"$inc": {"budget_used": amount}, "$set": {f"budget_marks.{key}": amount}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is not None:
            return Charge.CHARGED
        again = await find_for_tenant(self._templates, tenant_id, template_id, {f"budget_marks.{key}": 1})
        if again and key in again.get("budget_marks", {}):
            return Charge.CHARGED_BEFORE  # a retry, or a call racing this one with the same key
        return Charge.REFUSED

    async def refund_budget(self, tenant_id: str, template_id: str, key: str) -> None:
        """Give back the discount charged under `key`, once."""
        doc = await find_for_tenant(self._templates, tenant_id, template_id, {f"budget_marks.{key}": 1})
        amount = (doc or {}).get("budget_marks", {}).get(key)
        if amount is None:
            return
        await self._templates.update_one(
            {"_id": template_id, "tenant_id": tenant_id, f"budget_marks.{key}": {"$exists": True}},
            {"$inc": {"budget_used": -amount}, "$unset": {f"budget_marks.{key}": ""}},
        )


def _stored(doc: Document) -> StoredTemplate:
    return StoredTemplate(
        template_from(doc),
        stays_spent_on_refund=bool(doc.get("stays_spent_on_refund")),
        budget_used=int(doc.get("budget_used", 0)),
        audience_ready=bool(doc.get("audience_ready")),
    )
