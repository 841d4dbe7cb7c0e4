"""Coupons in MongoDB: one document per coupon, its events embedded (outbox).

A coupon's code and its places in its template's limits (stock number, member slot, period
slot; see domain/keys.py) are fields of the coupon with unique indexes, so the one insert
that writes a coupon takes all of them or none. Every change of state is one conditional
update whose filter is the state it leaves: atomic in the store, so tills, loops and
replicas need no lock to agree on who won.

A redemption records what it cost its template's budget (`redemption.budget_charged`, and the
charge it took over); a restore records, in the same update, what the coupon then owes back
(`budget_to_return`, with `budget_to_return_at` indexed so the sweeper finds debts a crash left),
and a coupon owing one is not redeemed again until it is paid (`gave_back`, which also notes
`budget_returned_at`). See domain/budget.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from chassis import outbox
from chassis.cloudevents import Envelope
from chassis.mongo import Document, find_for_tenant, retry_busy
from services.coupons.adapters import events
from services.coupons.adapters.documents import coupon_doc, coupon_from, give_back_doc, redemption_doc
from services.coupons.domain.budget import GiveBack
from services.coupons.domain.coupons import Coupon, CouponState, Redemption
from services.coupons.domain.keys import Held, Places, given_back
from services.coupons.service.ports import Added

COUPONS = "coupons"
_T = [("tenant_id", ASCENDING), ("template_id", ASCENDING)]
INDEXES = {
    COUPONS: [
        IndexModel(
            [("tenant_id", ASCENDING), ("member_id", ASCENDING), ("issued_at", DESCENDING)], name="wallet"
        ),
        IndexModel([("tenant_id", ASCENDING), ("code", ASCENDING)], name="code", unique=True),
        IndexModel([*_T, ("stock_no", ASCENDING)], name="stock", unique=True),
        IndexModel(
            [*_T, ("member_id", ASCENDING), ("member_slot", ASCENDING)], name="member_limit", unique=True
        ),
        IndexModel(
            [*_T, ("member_id", ASCENDING), ("period_slot", ASCENDING)], name="period_limit", unique=True
        ),
        IndexModel([("state", ASCENDING), ("valid_until", ASCENDING)], name="expiry"),
        IndexModel([("budget_to_return_at", ASCENDING)], name="budget_owed"),
    ],
}


class MongoCoupons:
    def __init__(self, db: AsyncDatabase[Document], topic: str, out: outbox.Outbox) -> None:
        self._coupons = db[COUPONS]
        self._topic = topic
        self._outbox = out

    async def add(self, coupon: Coupon, places: Places) -> Added:
        """Store it with coupon_issued, holding `places`, in one insert."""
        doc = coupon_doc(coupon, places) | outbox.embed(self._topic, events.coupon_issued(coupon))
        try:
            await retry_busy(lambda: self._coupons.insert_one(doc))
        except DuplicateKeyError:
            exists = await self._coupons.find_one(
                {"_id": coupon.id, "tenant_id": coupon.tenant_id}, {"_id": 1}
            )
            return Added.EXISTS if exists else Added.PLACE_TAKEN
        self._outbox.wake()
        return Added.ADDED

    async def get(self, tenant_id: str, coupon_id: str) -> Coupon | None:
        doc = await find_for_tenant(self._coupons, tenant_id, coupon_id)
        return coupon_from(doc) if doc else None

    async def places_held(self, tenant_id: str, template_id: str, member_id: str) -> Held:
        docs = await self._coupons.find(
            {"tenant_id": tenant_id, "template_id": template_id, "member_id": member_id},
            {"member_slot": 1, "period_slot": 1},
        ).to_list()
        return [d.get("member_slot", "") for d in docs], [str(d.get("period_slot", "")) for d in docs]

    async def give_back_member_place(self, c: Coupon) -> None:
        await self._coupons.update_one(
            {"_id": c.id, "tenant_id": c.tenant_id},
            {"$set": {"member_slot": given_back(c.id), "period_slot": given_back(c.id)}},
        )

    async def by_code(self, tenant_id: str, code: str) -> Coupon | None:
        doc = await self._coupons.find_one({"tenant_id": tenant_id, "code": code})
        return coupon_from(doc) if doc else None

    async def of_member(self, tenant_id: str, member_id: str, states: list[str]) -> list[Coupon]:
        query: dict[str, Any] = {"tenant_id": tenant_id, "member_id": member_id}
        if states:
            query["state"] = {"$in": states}
        docs = await self._coupons.find(query).sort("issued_at", DESCENDING).limit(500).to_list()
        return [coupon_from(d) for d in docs]

    async def of_template(self, tenant_id: str, template_id: str) -> AsyncIterator[Coupon]:
        """Every coupon of the template, read in batches (a big campaign never sits in memory)."""
        async for d in self._coupons.find({"tenant_id": tenant_id, "template_id": template_id}):
            yield coupon_from(d)

    async def count_issued(self, tenant_id: str, template_id: str) -> int:
        return await self._coupons.count_documents(
            {"tenant_id": tenant_id, "template_id": template_id, "source": {"$ne": "share"}}
        )

    async def due_to_expire(self, before: datetime, warned: bool | None = None) -> list[Coupon]:
        """Available or locked coupons whose validity ends before `before` (oldest first).

        One query per state, so each is a range on the (state, valid_until) index. Across
        tenants on purpose: the expiry loop is infrastructure, not a tenant's query.
        """
        docs: list[Document] = []
        for state in (CouponState.AVAILABLE.value, CouponState.LOCKED.value):
            query: dict[str, Any] = {"state": state, "valid_until": {"$lte": before}}
            if warned is False:
                query["expiring_warned"] = {"$exists": False}
            docs += await self._coupons.find(query).sort("valid_until", ASCENDING).limit(1000).to_list()
        docs.sort(key=lambda d: d["valid_until"])
        return [coupon_from(d) for d in docs[:1000]]

    async def lock(self, c: Coupon, checkout_id: str, until: datetime, now: datetime) -> Coupon | None:
        return await self._change(
            c,
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
            c,
            {"$or": _free_for(checkout_id, now), "budget_to_return": {"$exists": False}},
            {
                "$set": {"state": CouponState.REDEEMED.value, "redemption": redemption_doc(r)},
                "$unset": {"lock": ""},
            },
            events.coupon_redeemed(redeemed),
        )

    async def attach_purchase(self, c: Coupon, purchase_id: str) -> Coupon | None:
        """Name the purchase of a redemption the till made before members recorded the receipt."""
        return await self._change(
            c,
            {"state": CouponState.REDEEMED.value, "redemption.purchase_id": ""},
            {"$set": {"redemption.purchase_id": purchase_id}},
        )

    async def reassign(self, c: Coupon, member_id: str) -> Coupon | None:
        """Move an unspent coupon to another member (the survivor of a merge)."""
        return await self._change(
            c,
            {"member_id": c.member_id, "state": {"$in": ["available", "locked"]}},
            {"$set": {"member_id": member_id}},
        )

    async def release(self, c: Coupon, checkout_id: str, at: datetime) -> Coupon | None:
        return await self._change(
            c,
            {"state": CouponState.LOCKED.value, "lock.checkout_id": checkout_id},
            {"$set": {"state": CouponState.AVAILABLE.value}, "$unset": {"lock": ""}},
            events.coupon_released(c, at),
        )

    async def restore(
        self,
        c: Coupon,
        purchase_id: str,
        refund_id: str,
        usable_again: bool,
        at: datetime,
        owed: GiveBack | None = None,
    ) -> Coupon | None:
        """Undo the redemption of `purchase_id` once: usable again, or spent but marked refunded."""
        change: dict[str, Any] = {"$set": {"redemption.refunded_by": refund_id}}
        if owed is not None:
            change["$set"] |= {"budget_to_return": give_back_doc(owed), "budget_to_return_at": owed.since}
        announced: list[Envelope] = []
        if usable_again:
            change["$set"]["state"] = CouponState.AVAILABLE.value
            announced.append(events.coupon_released(c, at, refund_id))
        return await self._change(
            c,
            {
                "state": CouponState.REDEEMED.value,
                "redemption.purchase_id": purchase_id,
                "redemption.refunded_by": "",
            },
            change,
            *announced,
        )

    async def gave_back(self, c: Coupon, key: str, at: datetime) -> Coupon | None:
        return await self._change(
            c,
            {"budget_to_return.key": key},
            {
                "$unset": {"budget_to_return": "", "budget_to_return_at": ""},
                "$set": {"budget_returned_at": at},
            },
        )

    async def owing_budget(self, since_before: datetime) -> list[Coupon]:
        """Across tenants on purpose, like due_to_expire: a range on the budget_owed index."""
        docs = (
            await self._coupons.find({"budget_to_return_at": {"$lte": since_before}})
            .sort("budget_to_return_at", ASCENDING)
            .limit(500)
            .to_list()
        )
        return [coupon_from(d) for d in docs]

    async def mark_shared(self, c: Coupon, to_coupon_id: str) -> Coupon | None:
        return await self._change(
            c,
            {"state": CouponState.AVAILABLE.value, "member_id": c.member_id},
            {"$set": {"state": CouponState.SHARED.value, "shared_to": to_coupon_id}},
        )

    async def expire(self, c: Coupon, at: datetime) -> Coupon | None:
        return await self._change(
            c,
            {"state": {"$in": ["available", "locked"]}, "valid_until": {"$lte": at}},
            {"$set": {"state": CouponState.EXPIRED.value}, "$unset": {"lock": ""}},
            events.coupon_expired(c, at),
        )

    async def warn_expiring(self, c: Coupon, days_left: int, at: datetime) -> Coupon | None:
        return await self._change(
            c,
            {"state": {"$in": ["available", "locked"]}, "expiring_warned": {"$exists": False}},
            {"$set": {"expiring_warned": at}},
            events.coupon_expiring(c, days_left, at),
        )

    async def _change(
        self, c: Coupon, guard: dict[str, Any], change: dict[str, Any], *announced: Envelope
    ) -> Coupon | None:
        """One conditional update, atomic in the store; None when the guard failed."""
        if announced:
            change.setdefault("$set", {}).update(outbox.embed_set(self._topic, *announced))
        doc = await self._coupons.find_one_and_update(
            {"_id": c.id, "tenant_id": c.tenant_id, **guard}, change, return_document=ReturnDocument.AFTER
        )
        if doc is None:
            return None
        if announced:
            self._outbox.wake()
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
