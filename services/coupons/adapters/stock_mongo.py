"""Which stock numbers of a template may still be free, learnt from the coupons themselves.

The coupon's unique (template, stock number) index is the judge; this is only how a process
avoids trying numbers that are taken. It reads the numbers held once and hands out the free
ones in random order (so replicas rarely pick the same one). A number handed out stays "in
flight" until its claim settles: kept by the coupon written, or dropped (the insert lost a
race, or the claim was stopped). When no free number is left, a claim waits for the claims in
flight in this process to settle, then reads again; it answers "sold out" only after a read
that found every number held, so a number a stopped claim left unused is found and issued.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from dataclasses import dataclass, field

from pymongo.asynchronous.database import AsyncDatabase

from chassis.mongo import Document
from services.coupons.adapters.coupons_mongo import COUPONS


@dataclass
class _Numbers:
    free: list[int] = field(default_factory=list)
    in_flight: set[int] = field(default_factory=set)
    settled: asyncio.Condition = field(default_factory=asyncio.Condition)
    sold_out_at: int = 0  # the stock all of whose numbers a read found held


class MongoStockNumbers:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._coupons = db[COUPONS]
        self._templates: dict[str, _Numbers] = defaultdict(_Numbers)

    async def take(self, tenant_id: str, template_id: str, stock: int) -> int | None:
        t = self._templates[template_id]
        async with t.settled:
            while True:
                if t.sold_out_at == stock:
                    return None
                while t.free:
                    n = t.free.pop()
                    if n <= stock and n not in t.in_flight:
                        t.in_flight.add(n)
                        return n
                if t.in_flight:  # they may leave numbers unused: wait for them, not the store
                    await t.settled.wait()
                    continue
                await self._read_free(t, tenant_id, template_id, stock)

    async def settle(self, template_id: str, n: int) -> None:
        """The claim holding `n` is over (kept by its coupon or not): claims waiting may go on.

        A number not kept is not offered again at once (another replica may hold it); the next
        read finds it if it is free.
        """
        t = self._templates[template_id]
        async with t.settled:
            t.in_flight.discard(n)
            t.settled.notify_all()

    async def offer_again(self, template_id: str, n: int) -> None:
        """Back among the free: a claim proved `n` was not what the store refused it for."""
        t = self._templates[template_id]
        async with t.settled:
            if n not in t.in_flight:
                t.free.append(n)
                t.settled.notify_all()

    async def _read_free(self, t: _Numbers, tenant_id: str, template_id: str, stock: int) -> None:
        held = {
            d["stock_no"]
            async for d in self._coupons.find(
                {"tenant_id": tenant_id, "template_id": template_id, "stock_no": {"$gte": 1, "$lte": stock}},
                {"stock_no": 1},
            )
        }
        t.free = [n for n in range(1, stock + 1) if n not in held and n not in t.in_flight]
        random.shuffle(t.free)
        if not t.free and not t.in_flight:
            t.sold_out_at = stock
