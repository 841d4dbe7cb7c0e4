"""Coupons in MongoDB: one document per coupon, its events embedded (outbox), its code unique.

Every change of state is one conditional update whose filter is the state it leaves, made
while holding the coupon's lock (shared with the outbox relay: FerretDB updates without
isolation, so one writer per document in this process; on MongoDB the filters alone decide
between replicas). The code's uniqueness in the tenant is a `coupon_codes` document keyed
`<tenant>:<code>`, which is also how a till finds the coupon by an indexed `_id` read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.cloudevents import Envelope
from chassis.mongo import Document, find_for_tenant, insert_once
from services.coupons.adapters import events
from services.coupons.adapters.documents import coupon_doc, coupon_from, redemption_doc
from services.coupons.domain.codes import new_code
from services.coupons.domain.coupons import Coupon, CouponState, Redemption

COUPONS = "coupons"
CODES = "coupon_codes"
INDEXES = {
    COUPONS: [
        IndexModel(
            [("tenant_id", ASCENDING), ("member_id", ASCENDING), ("issued_at", DESCENDING)], name="wallet"
        ),
    ],
}


class MongoCoupons:
    def __init__(self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox) -> None:
        self._coupons = db[COUPONS]
        self._codes = db[CODES]
        self._topic = topic
        self._outbox = out

    def hold(self, coupon_id: str) -> AbstractAsyncContextManager[None]:
        return self._outbox.locks.hold(outbox.lock_key(COUPONS, coupon_id))

    async def reserve_code(self, tenant_id: str, coupon_id: str) -> str:
        """A fresh code, unique in the tenant, pointing at the coupon."""
        while True:
            code = new_code()
            doc = {"_id": f"{tenant_id}:{code}", "tenant_id": tenant_id, "coupon_id": coupon_id}
            if await insert_once(self._codes, doc):
                return code

    async def add(self, coupon: Coupon, slots: list[str]) -> bool:
        """Store it with coupon_issued; False when a coupon with this id exists (a replay)."""
        doc = coupon_doc(coupon, slots) | outbox.embed(self._topic, events.coupon_issued(coupon))
        if not await insert_once(self._coupons, doc):
            await self._codes.delete_one({"_id": f"{coupon.tenant_id}:{coupon.code}"})
            return False
        await self._outbox.track(COUPONS, coupon.id)
        return True

    async def get(self, tenant_id: str, coupon_id: str) -> Coupon | None:
        doc = await find_for_tenant(self._coupons, tenant_id, coupon_id)
        return coupon_from(doc) if doc else None

    async def slots_of(self, coupon_id: str) -> list[str]:
        doc = await self._coupons.find_one({"_id": coupon_id}, {"slots": 1})
        return list(doc.get("slots", [])) if doc else []

    async def by_code(self, tenant_id: str, code: str) -> Coupon | None:
        link = await find_for_tenant(self._codes, tenant_id, f"{tenant_id}:{code}")
        return await self.get(tenant_id, link["coupon_id"]) if link else None

    async def of_member(self, tenant_id: str, member_id: str, states: list[str]) -> list[Coupon]:
        query: dict[str, Any] = {"tenant_id": tenant_id, "member_id": member_id}
        if states:
            query["state"] = {"$in": states}
        docs = await self._coupons.find(query).sort("issued_at", DESCENDING).limit(500).to_list()
        return [coupon_from(d) for d in docs]

    async def of_template(self, template_id: str) -> AsyncIterator[Coupon]:
        """Every coupon of the template, read in batches (a big campaign never sits in memory)."""
        async for d in self._coupons.find({"template_id": template_id}):
            yield coupon_from(d)

    async def count_issued(self, template_id: str) -> int:
        return await self._coupons.count_documents({"template_id": template_id, "source": {"$ne": "share"}})

    async def due_to_expire(self, before: datetime, warned: bool | None = None) -> list[Coupon]:
        """Available or locked coupons whose validity ends before `before` (oldest first)."""
        query: dict[str, Any] = {"state": {"$in": ["available", "locked"]}, "valid_until": {"$lte": before}}
        if warned is False:
            query["expiring_warned"] = {"$exists": False}
        docs = await self._coupons.find(query).sort("valid_until", ASCENDING).limit(1000).to_list()
        return [coupon_from(d) for d in docs]

    async def lock(self, c: Coupon, checkout_id: str, until: datetime, now: datetime) -> Coupon | None:
        return await self._change(
            c.id,
            {"$or": _free_for(checkout_id, now)},
            {
                "$set": {
                    "state": CouponState.LOCKED.value,
                    "lock": {"checkout_id": checkout_id, "until": until},
                }
            },
        )

    async def redeem(self, c: Coupon, r: Redemption, checkout_id: str, now: datetime) -> Coupon | None:
        redeemed = Coupon(**{**c.__dict__, "state": CouponState.REDEEMED, "redemption": r})
        return await self._change(
            c.id,
            {"$or": _free_for(checkout_id, now)},
            {
                "$set": {"state": CouponState.REDEEMED.value, "redemption": redemption_doc(r)},
                "$unset": {"lock": ""},
            },
            events.coupon_redeemed(redeemed),
        )

    async def attach_purchase(self, c: Coupon, purchase_id: str) -> Coupon | None:
        """Name the purchase of a redemption the till made before members recorded the receipt."""
        return await self._change(
            c.id,
            {"state": CouponState.REDEEMED.value, "redemption.purchase_id": ""},
            {"$set": {"redemption.purchase_id": purchase_id}},
        )

    async def reassign(self, c: Coupon, member_id: str) -> Coupon | None:
        """Move an unspent coupon to another member (the survivor of a merge)."""
        return await self._change(
            c.id,
            {"member_id": c.member_id, "state": {"$in": ["available", "locked"]}},
            {"$set": {"member_id": member_id}},
        )

    async def release(self, c: Coupon, checkout_id: str, at: datetime) -> Coupon | None:
        return await self._change(
            c.id,
            {"state": CouponState.LOCKED.value, "lock.checkout_id": checkout_id},
            {"$set": {"state": CouponState.AVAILABLE.value}, "$unset": {"lock": ""}},
            events.coupon_released(c, at),
        )

    async def restore(
        self, c: Coupon, purchase_id: str, refund_id: str, usable_again: bool, at: datetime
    ) -> Coupon | None:
        """Undo the redemption of `purchase_id` once: usable again, or spent but marked refunded."""
        change: dict[str, Any] = {"$set": {"redemption.refunded_by": refund_id}}
        announced: list[Envelope] = []
        if usable_again:
            change["$set"]["state"] = CouponState.AVAILABLE.value
            announced.append(events.coupon_released(c, at, refund_id))
        return await self._change(
            c.id,
            {
                "state": CouponState.REDEEMED.value,
                "redemption.purchase_id": purchase_id,
                "redemption.refunded_by": "",
            },
            change,
            *announced,
        )

    async def mark_shared(self, c: Coupon, to_coupon_id: str) -> Coupon | None:
        return await self._change(
            c.id,
            {"state": CouponState.AVAILABLE.value, "member_id": c.member_id},
            {"$set": {"state": CouponState.SHARED.value, "shared_to": to_coupon_id}},
        )

    async def expire(self, c: Coupon, at: datetime) -> Coupon | None:
        return await self._change(
            c.id,
            {"state": {"$in": ["available", "locked"]}, "valid_until": {"$lte": at}},
            {"$set": {"state": CouponState.EXPIRED.value}, "$unset": {"lock": ""}},
            events.coupon_expired(c, at),
        )

    async def warn_expiring(self, c: Coupon, days_left: int, at: datetime) -> Coupon | None:
        return await self._change(
            c.id,
            {"state": {"$in": ["available", "locked"]}, "expiring_warned": {"$exists": False}},
            {"$set": {"expiring_warned": at}},
            events.coupon_expiring(c, days_left, at),
        )

    async def _change(
        self, coupon_id: str, guard: dict[str, Any], change: dict[str, Any], *announced: Envelope
    ) -> Coupon | None:
        """One conditional update (the caller holds the coupon's lock); None when the guard failed."""
        if announced:
            change.setdefault("$set", {}).update(outbox.embed_set(self._topic, *announced))
        doc = await self._coupons.find_one_and_update(
            {"_id": coupon_id, **guard}, change, return_document=ReturnDocument.AFTER
        )
        if doc is None:
            return None
        if announced:
            await self._outbox.track(COUPONS, coupon_id)
        return coupon_from(doc)


def _free_for(checkout_id: str, now: datetime) -> list[dict[str, Any]]:
    """States a checkout may take the coupon from: available, its own lock, or a timed-out lock."""
    free: list[dict[str, Any]] = [
        {"state": CouponState.AVAILABLE.value},
        {"state": CouponState.LOCKED.value, "lock.until": {"$lte": now}},
    ]
    if checkout_id:
        free.append({"state": CouponState.LOCKED.value, "lock.checkout_id": checkout_id})
    return free
