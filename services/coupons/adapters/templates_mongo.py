"""Coupon templates in MongoDB, and the budget of discount each may give.

The budget used is a total on the template (`budget_used`); what each redemption cost is kept
by its coupon (adapters/coupons_mongo.py). The template holds a mark only while a change is
between the two documents (domain/budget.py), so its size is bounded by what is in flight:
- `charging.<k>`: set by the charge in the same update as the `$inc` (conditional on the
  budget and on no charge in flight under k: CHARGED / CHARGED_BEFORE / REFUSED), removed by
  the till once the coupon took it over, or given back by the settle (`$inc -amount` and
  `$unset` in one update conditional on the mark's charge_id: settled once by any number of
  sweepers).
- `returning.<k>`: set by a refund's give-back in the same update as its `$inc -amount`
  (conditional on the mark absent: paid once), forgotten by the sweeper GRACE after the coupon
  recorded the payment.
- `marks_since` (indexed) is at most the time of the oldest mark (`$min` with every mark set),
  and `marks_v` counts marks set, so the sweeper finds the templates with marks due by a range
  on an index and moves `marks_since` on only if no mark was set since it read them.
- `budget_marks.<k>`: what older versions kept for ever, one per redemption; only read and
  dropped when such a redemption is refunded.
Each write is one conditional update, atomic in the store, so replicas need no lock to agree.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from chassis.mongo import Document, find_for_tenant, insert_once
from services.coupons.adapters.documents import template_doc, template_from
from services.coupons.domain.budget import Charging, InFlight, Returning
from services.coupons.domain.templates import StoredTemplate, Template
from services.coupons.service.ports import Charge, Charged

TEMPLATES = "templates"
INDEXES = {
    TEMPLATES: [
        IndexModel([("tenant_id", ASCENDING), ("state", ASCENDING)], name="tenant_state"),
        IndexModel([("marks_since", ASCENDING)], name="budget_in_flight"),
    ]
}
_IN_FLIGHT_BATCH = 500


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

    async def charge_budget(self, tenant_id: str, template_id: str, budget: int, mark: Charging) -> Charged:
        k = field_key(mark.key)
        charged = await self._templates.update_one(
            {
                "_id": template_id,
                "tenant_id": tenant_id,
                f"charging.{k}": {"$exists": False},
                "budget_used": {"$lte": budget - mark.amount},
            },
            {
                "$inc": {"budget_used": mark.amount, "marks_v": 1},
                "$set": {f"charging.{k}": _charging_doc(mark)},
                "$min": {"marks_since": mark.at},
            },
        )
        if charged.modified_count == 1:
            return Charged(Charge.CHARGED, mark)
        again = await find_for_tenant(self._templates, tenant_id, template_id, {f"charging.{k}": 1})
        found = ((again or {}).get("charging") or {}).get(k)
        if found:  # a retry, or a call racing this one with the same key
            return Charged(Charge.CHARGED_BEFORE, _charging_from(found))
        return Charged(Charge.REFUSED, None)

    async def charge_taken(self, tenant_id: str, template_id: str, mark: Charging) -> None:
        k = field_key(mark.key)
        await self._templates.update_one(
            {"_id": template_id, "tenant_id": tenant_id, f"charging.{k}.charge_id": mark.charge_id},
            {"$unset": {f"charging.{k}": ""}},
        )

    async def settle_charge(self, tenant_id: str, template_id: str, mark: Charging) -> bool:
        k = field_key(mark.key)
        settled = await self._templates.update_one(
            {"_id": template_id, "tenant_id": tenant_id, f"charging.{k}.charge_id": mark.charge_id},
            {"$inc": {"budget_used": -mark.amount}, "$unset": {f"charging.{k}": ""}},
        )
        return settled.modified_count == 1

    async def give_back(
        self, tenant_id: str, template_id: str, paid: Returning, charge_key: str, charge_id: str
    ) -> bool:
        r = f"returning.{field_key(paid.key)}"
        change: dict[str, Any] = {
            "$inc": {"budget_used": -paid.amount, "marks_v": 1},
            "$set": {r: _returning_doc(paid)},
            "$min": {"marks_since": paid.at},
        }
        guard = {"_id": template_id, "tenant_id": tenant_id, r: {"$exists": False}}
        if charge_id:  # the charge's mark if the coupon write crashed before dropping it
            c = f"charging.{field_key(charge_key)}"
            with_mark = await self._templates.update_one(
                guard | {f"{c}.charge_id": charge_id}, change | {"$unset": {c: ""}}
            )
            if with_mark.modified_count == 1:
                return True
        # A charge's mark once gone never comes back (its charge_id is unique), so either the
        # update above found it or this one is right; both need `r` absent: paid once.
        paid_now = await self._templates.update_one(guard, change)
        return paid_now.modified_count == 1

    async def forget_given_back(self, tenant_id: str, template_id: str, key: str) -> None:
        await self._templates.update_one(
            {"_id": template_id, "tenant_id": tenant_id}, {"$unset": {f"returning.{field_key(key)}": ""}}
        )

    async def legacy_charge(self, tenant_id: str, template_id: str, key: str) -> int:
        doc = await find_for_tenant(self._templates, tenant_id, template_id, {f"budget_marks.{key}": 1})
        return int(((doc or {}).get("budget_marks") or {}).get(key) or 0)

    async def give_back_legacy(self, tenant_id: str, template_id: str, key: str, amount: int) -> bool:
        given = await self._templates.update_one(
            {"_id": template_id, "tenant_id": tenant_id, f"budget_marks.{key}": amount},
            {"$inc": {"budget_used": -amount}, "$unset": {f"budget_marks.{key}": ""}},
        )
        return given.modified_count == 1

    async def in_flight(self, before: datetime) -> list[InFlight]:
        """Across tenants on purpose: the sweeper is infrastructure, not a tenant's query."""
        docs = (
            await self._templates.find(
                {"marks_since": {"$lte": before}}, {"tenant_id": 1, "charging": 1, "returning": 1}
            )
            .sort("marks_since", ASCENDING)
            .limit(_IN_FLIGHT_BATCH)
            .to_list()
        )
        return [
            InFlight(
                d["tenant_id"],
                d["_id"],
                tuple(_charging_from(m) for m in (d.get("charging") or {}).values()),
                tuple(_returning_from(m) for m in (d.get("returning") or {}).values()),
            )
            for d in docs
        ]

    async def tidy_marks(self, tenant_id: str, template_id: str) -> None:
        doc = await find_for_tenant(
            self._templates, tenant_id, template_id, {"charging": 1, "returning": 1, "marks_v": 1}
        )
        if doc is None:
            return
        times = [m["at"] for part in ("charging", "returning") for m in (doc.get(part) or {}).values()]
        change: Document = {"$set": {"marks_since": min(times)}} if times else {"$unset": {"marks_since": ""}}
        seen = {"marks_v": doc["marks_v"]} if "marks_v" in doc else {"marks_v": {"$exists": False}}
        # Only if no mark was set since the read: a newer one keeps the older `marks_since`.
        await self._templates.update_one({"_id": template_id, "tenant_id": tenant_id, **seen}, change)


def field_key(key: str) -> str:
    """A mark's field name under `charging` / `returning`: the key, or a hash of it when the key
    could not be one (a dot would split the field path, a `$` start an operator)."""
    if "." in key or key.startswith("$") or "\0" in key:
        return "h" + hashlib.sha256(key.encode()).hexdigest()[:24]
    return key


def _charging_doc(m: Charging) -> Document:
    return {
        "coupon_id": m.coupon_id,
        "receipt_no": m.receipt_no,
        "amount": m.amount,
        "at": m.at,
        "charge_id": m.charge_id,
    }


def _charging_from(d: Document) -> Charging:
    return Charging(d["coupon_id"], d["receipt_no"], int(d["amount"]), d["at"], d["charge_id"])


def _returning_doc(m: Returning) -> Document:
    return {"key": m.key, "coupon_id": m.coupon_id, "amount": m.amount, "at": m.at}


def _returning_from(d: Document) -> Returning:
    return Returning(d["key"], d["coupon_id"], int(d["amount"]), d["at"])


def _stored(doc: Document) -> StoredTemplate:
    return StoredTemplate(
        template_from(doc),
        stays_spent_on_refund=bool(doc.get("stays_spent_on_refund")),
        budget_used=int(doc.get("budget_used", 0)),
        audience_ready=bool(doc.get("audience_ready")),
    )
