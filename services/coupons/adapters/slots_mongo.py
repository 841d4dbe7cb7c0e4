"""Limits that never oversell: stock and per-member limits as unique slot documents.

FerretDB applies an update by reading and writing back without isolation, so a conditional
`$inc` on a counter can let two claims through; a unique `_id` insert it enforces reliably. So
every unit of stock is a slot `<template>:s:<n>` for n in 1..stock, and every coupon a member
may hold is a slot `<template>:m:<member>:<k>` (and `<template>:p:<member>:<period>:<k>` per
period). A coupon exists only after it has taken all its slots; two claims can never hold one
slot, so stock and limits hold under any concurrency, on any number of replicas.

Finding a free stock slot would cost one failed insert per slot already taken, so each process
keeps a hint of the next free number (counted once from the database) and hands numbers out in
memory; the unique insert stays the judge when replicas or restarts disagree with the hint.
"""

from __future__ import annotations

from collections.abc import Iterable

from pymongo.asynchronous.database import AsyncDatabase

from chassis.locks import KeyedLocks
from chassis.mongo import Document, insert_once, retry_busy

# the slot id scheme is the domain's (domain/keys.py); re-exported for existing importers
from services.coupons.domain.keys import is_limit_slot as is_limit_slot
from services.coupons.domain.keys import member_slot as member_slot
from services.coupons.domain.keys import period_slot as period_slot

SLOTS = "coupon_slots"


class MongoSlots:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._slots = db[SLOTS]
        self._next: dict[str, int] = {}
        self._freed: dict[str, list[int]] = {}
        self._counting = KeyedLocks()

    async def take_one_of(
        self, tenant_id: str, slot_ids: Iterable[str], coupon_id: str, replayable: bool
    ) -> str | None:
        """The first of `slot_ids` this coupon gets (or already holds, when `replayable`)."""
        for slot_id in slot_ids:
            if await self._take(tenant_id, slot_id, coupon_id, "limit", replayable):
                return slot_id
        return None

    async def take_stock(self, tenant_id: str, template_id: str, stock: int, coupon_id: str) -> str | None:
        """A stock slot for this coupon, or None when all `stock` are taken (sold out)."""
        if template_id not in self._next:
            async with self._counting.hold(template_id):
                if template_id not in self._next:
                    taken = await self._slots.count_documents({"template_id": template_id, "kind": "stock"})
                    self._next[template_id] = taken + 1
        while True:
            freed = self._freed.get(template_id)
            if freed:
                n = freed.pop()
            else:
                n = self._next[template_id]
                if n > stock:
                    return None
                self._next[template_id] = n + 1
            if n > stock:
                continue
            slot_id = f"{template_id}:s:{n:09d}"
            if await self._take(
                tenant_id, slot_id, coupon_id, "stock", replayable=False, template_id=template_id
            ):
                return slot_id

    async def free(self, slot_ids: Iterable[str]) -> None:
        """Give slots back: a claim that could not finish, or a refund that frees a member's limit."""
        for slot_id in slot_ids:
            await retry_busy(lambda: self._slots.delete_one({"_id": slot_id}))  # noqa: B023 (awaited here)
            template_id, kind, *rest = slot_id.split(":")
            if kind == "s":
                self._freed.setdefault(template_id, []).append(int(rest[0]))

    async def holder(self, slot_id: str) -> str | None:
        doc = await self._slots.find_one({"_id": slot_id}, {"coupon_id": 1})
        return doc["coupon_id"] if doc else None

    async def _take(
        self,
        tenant_id: str,
        slot_id: str,
        coupon_id: str,
        kind: str,
        replayable: bool,
        template_id: str = "",
    ) -> bool:
        doc = {"_id": slot_id, "tenant_id": tenant_id, "coupon_id": coupon_id, "kind": kind}
        if template_id:
            doc["template_id"] = template_id
        if await insert_once(self._slots, doc):
            return True
        return replayable and await self.holder(slot_id) == coupon_id
