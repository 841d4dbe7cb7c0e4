"""The purchases members announced, counted for reports, in MongoDB: one marker document per
purchase (`_id` = "<tenant>:<store>:<receipt>", members' one purchase per receipt of a store;
"<tenant>::<purchase id>" for one without a receipt), holding its store, credited assistant,
local month, when it happened and what was paid (the value of the goods a complaint about that
receipt names: `paid`, for reviewer risk).

Counting is one insert-once of the marker (the `_id` index decides), so a redelivered
purchase_made counts nothing twice, and there is no second write for a crash to fall between.
The counts are the markers grouped in the store: one `$match` on the tenant and its months
(the `report_purchase_months` index) and one `$group` by store, assistant and month, which
FerretDB v1 runs over the matched markers (time grows with the tenant's purchases in the
period). A case's receipt finds its assistant by `_id` (point reads, `$in` on the `_id` index).
"""

from __future__ import annotations

from collections.abc import Sequence

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from chassis.mongo import Document, find_for_tenant, insert_once
from services.feedback.domain.reports import CountedPurchase, PurchaseCount, Receipt

PURCHASES = "report_purchases"
INDEXES = {
    PURCHASES: [
        IndexModel(
            [("tenant_id", ASCENDING), ("month", ASCENDING), ("store_id", ASCENDING)],
            name="report_purchase_months",
        ),
    ],
}
_IN_BATCH = 500


def marker_id(tenant_id: str, store_id: str, receipt_no: str, purchase_id: str = "") -> str:
    """The purchase's marker id, each part with '%' and ':' escaped, so no two keys meet."""
    parts = (tenant_id, store_id, receipt_no) if receipt_no else (tenant_id, "", purchase_id)
    return ":".join(p.replace("%", "%25").replace(":", "%3A") for p in parts)


class MongoPurchaseCounts:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._markers = db[PURCHASES]

    async def count(self, purchase: CountedPurchase) -> bool:
        p = purchase
        return await insert_once(
            self._markers,
            {
                "_id": marker_id(p.tenant_id, p.store_id, p.receipt_no, p.purchase_id),
                "tenant_id": p.tenant_id,
                "purchase_id": p.purchase_id,
                "store_id": p.store_id,
                "receipt_no": p.receipt_no,
                "assistant_id": p.assistant_id,
                "month": p.month,
                "occurred_at": p.occurred_at,
                "paid": p.paid,
            },
        )

    async def paid(self, tenant_id: str, store_id: str, receipt_no: str, purchase_id: str = "") -> int | None:
        if not receipt_no and not purchase_id:
            return None
        key = marker_id(tenant_id, store_id, receipt_no, purchase_id)
        found = await find_for_tenant(self._markers, tenant_id, key, {"paid": 1})
        value = found.get("paid") if found else None
        return int(value) if value is not None else None

    async def counts(
        self, tenant_id: str, first_month: str, last_month: str, store_id: str
    ) -> list[PurchaseCount]:
        match: Document = {"tenant_id": tenant_id, "month": {"$gte": first_month, "$lte": last_month}}
        if store_id:
            match["store_id"] = store_id
        cursor = await self._markers.aggregate(
            [
                {"$match": match},
                {
                    "$group": {
                        "_id": {"store": "$store_id", "assistant": "$assistant_id", "month": "$month"},
                        "purchases": {"$sum": 1},
                    }
                },
            ]
        )
        return [
            PurchaseCount(d["_id"]["store"], d["_id"]["assistant"], d["_id"]["month"], int(d["purchases"]))
            async for d in cursor
        ]

    async def credited(self, tenant_id: str, receipts: Sequence[Receipt]) -> dict[Receipt, str]:
        ids = [marker_id(tenant_id, store, receipt) for store, receipt in receipts if receipt]
        found: dict[Receipt, str] = {}
        for i in range(0, len(ids), _IN_BATCH):
            cursor = self._markers.find(
                {"_id": {"$in": ids[i : i + _IN_BATCH]}, "tenant_id": tenant_id},
                {"store_id": 1, "receipt_no": 1, "assistant_id": 1},
            )
            async for d in cursor:
                found[(d["store_id"], d["receipt_no"])] = d["assistant_id"]
        return found
