"""Automatic rules in MongoDB (a handful per tenant; read on every triggering event)."""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from chassis.mongo import Document, find_for_tenant
from services.coupons.domain.rules import Rule, Trigger

RULES = "rules"
INDEXES = {RULES: [IndexModel([("tenant_id", ASCENDING), ("trigger", ASCENDING)], name="tenant_trigger")]}


def _doc(r: Rule) -> Document:
    return {
        "_id": r.id,
        "tenant_id": r.tenant_id,
        "name": r.name,
        "trigger": r.trigger.value,
        "template_id": r.template_id,
        "min_spend": r.min_spend,
        "tiers": list(r.tiers),
        "day_of_month": r.day_of_month,
        "segment_id": r.segment_id,
        "active": r.active,
        "created_at": r.created_at,
    }


def _rule(d: Document) -> Rule:
    return Rule(
        id=d["_id"],
        tenant_id=d["tenant_id"],
        name=d["name"],
        trigger=Trigger(d["trigger"]),
        template_id=d["template_id"],
        min_spend=d.get("min_spend", 0),
        tiers=tuple(d.get("tiers", ())),
        day_of_month=d.get("day_of_month", 0),
        segment_id=d.get("segment_id", ""),
        active=d.get("active", True),
        created_at=d["created_at"],
    )


class MongoRules:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._rules = db[RULES]

    async def add(self, rule: Rule) -> None:
        await self._rules.insert_one(_doc(rule))

    async def of_tenant(self, tenant_id: str) -> list[Rule]:
        return [
            _rule(d) for d in await self._rules.find({"tenant_id": tenant_id}).sort("created_at", 1).to_list()
        ]

    async def active(self, tenant_id: str, trigger: str) -> list[Rule]:
        query = {"tenant_id": tenant_id, "trigger": trigger, "active": True}
        return [_rule(d) for d in await self._rules.find(query).to_list()]

    async def scheduled(self, day_of_month: int) -> list[Rule]:
        query = {"trigger": Trigger.SCHEDULE.value, "day_of_month": day_of_month, "active": True}
        return [_rule(d) for d in await self._rules.find(query).to_list()]

    async def set_active(self, tenant_id: str, rule_id: str, active: bool) -> Rule | None:
        if await find_for_tenant(self._rules, tenant_id, rule_id, {"_id": 1}) is None:
            return None
        doc = await self._rules.find_one_and_update(
            {"_id": rule_id}, {"$set": {"active": active}}, return_document=ReturnDocument.AFTER
        )
        return _rule(doc) if doc else None
