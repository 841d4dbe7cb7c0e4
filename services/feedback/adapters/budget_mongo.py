"""The stores' monthly compensation budgets in MongoDB: one document per tenant, store and month
(`_id` = "<tenant>:<store>:<month>"), holding what was spent and the cases charged to it.

A charge is ONE atomic conditional write: `find_one_and_update` on the month's document, only
while what is spent still leaves room for the amount and the case is not charged yet, with
`$inc` of the spent and `$set` of the case's mark in the same update. Two cases therefore never
both take the last of a budget, and a case is charged once however often (or however
concurrently) it is asked. No upsert (concurrent upserts are not one document on every store):
the month's document is first inserted once with nothing spent, the `_id` index letting one
insert win. When the update matches nothing the document is read: the case's mark there means
it was charged before (True), else the budget cannot cover it (False, nothing charged).

The marks are bounded by the compensations of one store in one month. A mark's key is the case
id when that is a safe field name, else a hash of it ("~" + sha256, and ids starting with "~"
are hashed too, so the two kinds never meet).
"""

from __future__ import annotations

import hashlib

from pymongo import IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from chassis.mongo import Document, insert_once, retry_busy

BUDGETS = "compensation_budgets"
INDEXES: dict[str, list[IndexModel]] = {}  # point reads and writes by `_id` only
_HASHED = "~"


def budget_id(tenant_id: str, store_id: str, month: str) -> str:
    """ "<tenant>:<store>:<month>", each part with '%' and ':' escaped, so no two keys meet."""
    return ":".join(p.replace("%", "%25").replace(":", "%3A") for p in (tenant_id, store_id, month))


def case_key(case_id: str) -> str:
    """The case id as a field name: itself when safe, else "~" and its sha256."""
    safe = bool(case_id) and "." not in case_id and "\x00" not in case_id and case_id[0] not in "$" + _HASHED
    if safe:
        return case_id
    return _HASHED + hashlib.sha256(case_id.encode("utf-8")).hexdigest()


class MongoBudgets:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._budgets = db[BUDGETS]

    async def charge(
        self, tenant_id: str, store_id: str, month: str, case_id: str, amount: int, limit: int
    ) -> bool:
        if amount < 0:
            raise ValueError("a charge is never negative")
        doc_id = budget_id(tenant_id, store_id, month)
        mark = f"cases.{case_key(case_id)}"
        await insert_once(
            self._budgets,
            {
                "_id": doc_id,
                "tenant_id": tenant_id,
                "store_id": store_id,
                "month": month,
                "spent": 0,
                "cases": {},
            },
        )
        charged = await retry_busy(
            lambda: self._budgets.find_one_and_update(
                {
                    "_id": doc_id,
                    "tenant_id": tenant_id,
                    "spent": {"$lte": limit - amount},
                    mark: {"$exists": False},
                },
                {"$inc": {"spent": amount}, "$set": {mark: amount}},
            )
        )
        if charged is not None:
            return True
        doc = await self._budgets.find_one({"_id": doc_id, "tenant_id": tenant_id}, {"cases": 1})
        return doc is not None and case_key(case_id) in (doc.get("cases") or {})
