"""Members benchmarks: RecordPurchase through the gateway, and segment preview on a large
audience, each beside the same work done directly against the database in the same run.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from pymongo import AsyncMongoClient

from bench import load
from chassis.mongo import update_versioned
from devstack.processes import Stack
from services.members.adapters import purchases_mongo, spending_mongo
from services.members.domain import points as pts
from services.members.domain import spending, tiers
from services.members.domain.purchases import Line, RecordedPurchase, parse_purchase
from services.members.domain.segments import parse_segment, to_filter

TENANT = "bench"
KEY = {"Authorization": "Bearer bench-key"}
BRANDS = [f"brand{i}" for i in range(20)]
TIERS = ["normal", "normal", "normal", "silver", "gold", "diamond"]


async def enrol_members(stack: Stack, count: int) -> list[str]:
    async with aiohttp.ClientSession(base_url=stack.gateway_url, headers=KEY) as http:
        ids = []
        for i in range(count):
            async with http.post("/v1/members", json={"phone": f"+86135{i:08d}", "name": "Bench"}) as r:
                ids.append((await r.json())["id"])
        return ids


async def purchases_through_gateway(
    stack: Stack, member_ids: list[str], total: int, concurrency: int
) -> load.Result:
    stamp = time.time_ns()

    def make(i: int) -> tuple[str, str, dict[str, object] | None]:
        return (
            "POST",
            "/v1/purchases",
            {
                "member_id": member_ids[i % len(member_ids)],
                "store_id": "sh-01",
                "receipt_no": f"B{stamp}-{i}",
                "occurred_at": datetime.now(UTC).isoformat(),
                "lines": [
                    {
                        "sku": "LIP-01",
                        "brand": BRANDS[i % len(BRANDS)],
                        "category": "lipstick",
                        "list_price": 32000,
                        "paid_price": 28800,
                    }
                ],
            },
        )

    return await load.run("RecordPurchase via gateway", stack.gateway_url, make, total, concurrency, KEY)


async def purchases_direct(
    db: Any, member_ids: list[str], total: int, concurrency: int, topic: str
) -> load.Result:
    """The database writes RecordPurchase makes per purchase, done directly with the members
    service's own document builders (adapters/purchases_mongo.py, adapters/spending_mongo.py):
    insert the purchase `pending`, insert the ledger entry, one versioned update of the member
    (read it, then find_one_and_update on its `_id`, tenant and `_v`: statistics, balance,
    judged fields and events, purchase_made among them), then `$unset` the purchase's
    `pending`. Not the use case's reads before them (the member, its owner) nor gRPC."""
    stamp = time.time_ns()
    policy, ladder = pts.PointsPolicy(), tiers.DEFAULT_LADDER

    async def record(i: int) -> None:
        now = datetime.now(UTC)
        p = parse_purchase(
            tenant_id=TENANT,
            member_id=member_ids[i % len(member_ids)],
            store_id="sh-01",
            receipt_no=f"direct-{stamp}-{i}",
            served_by_staff_id="",
            owner_staff_id="",
            lines=[Line("LIP-01", BRANDS[i % len(BRANDS)], "lipstick", 1, 32000, 28800)],
            coupon_codes=[],
            occurred_at=now,
            currency="CNY",
        )
        awarded = pts.points_for_purchase(policy, p.total_paid, p.occurred_at, None)
        recorded = RecordedPurchase(p, awarded, pending=True)
        await db[purchases_mongo.PURCHASES].insert_one(purchases_mongo._to_doc(recorded))
        source = pts.entry_source(pts.EntryReason.PURCHASE, p.id)
        await db[purchases_mongo.POINTS_ENTRIES].insert_one(
            {
                "_id": f"{TENANT}:{source}",
                "tenant_id": TENANT,
                "member_id": p.member_id,
                "delta": awarded,
                "reason": pts.EntryReason.PURCHASE.value,
                "source": source,
                "at": p.occurred_at,
                "expires_at": pts.expires_at(p.occurred_at),
            }
        )
        change = spending.purchase_change(p, awarded, source)

        def decide(member: dict[str, Any]) -> dict[str, Any]:
            judged = spending.judge(spending_mongo.standing(member), change, ladder, now)
            outcome = replace(judged, facts=(spending.Purchased(recorded, judged.tier), *judged.facts))
            return spending_mongo.judged_update(
                change,
                outcome,
                topic=topic,
                tenant_id=TENANT,
                member_id=p.member_id,
                at=now,
                marks={f"_applied.{p.id}": outcome.points},
            )

        if await update_versioned(db["members"], {"_id": p.member_id, "tenant_id": TENANT}, decide) is None:
            raise RuntimeError(f"member {p.member_id} not found")
        await db[purchases_mongo.PURCHASES].update_one(
            {"_id": p.id, "tenant_id": TENANT, "pending": True},
            {"$unset": {"pending": "", "pending_since": ""}},
        )

    result, _ = await load.drive("same writes direct to the database", record, total, concurrency)
    return result


def member_doc(i: int, now: datetime) -> dict[str, Any]:
    """Generated member `gen<i>`, shaped as services/members stores one (adapters/mongo.py to_doc,
    plus the statistics purchases add), varied enough for segment filters to select from."""
    brand = BRANDS[i % len(BRANDS)]
    return {
        "_id": generated_id(i),
        "tenant_id": TENANT,
        "generated": True,
        "phone": f"+86139{i:08d}",
        "name": "G",
        "surname": "Wang",
        "home_store_id": f"sh-{i % 40:02d}",
        "channel": "pos",
        "registered_at": now - timedelta(days=i % 700),
        "owner_staff_id": f"staff-{i % 400}",
        "gender": ("female", "male", "unknown")[i % 3],
        "tags": ["vip"] if i % 7 == 0 else [],
        "notes": "",
        "card_no": "",
        "consent": {"sms": i % 2 == 0, "wechat": i % 3 == 0, "app": False, "phone": False},
        "preferred_channel": "",
        "tier": TIERS[i % len(TIERS)],
        "points_balance": (i % 50) * 100,
        "birthday": {"month": 1 + i % 12, "day": 1 + i % 28, "year": 1960 + i % 45},
        "stats": {
            "total_spend": (i % 1000) * 1000,
            "purchase_count": 1 + i % 5,
            "last_purchase_at": now - timedelta(days=i % 400),
            "brands": {brand: {"spend": 1000, "last_at": now - timedelta(days=i % 200)}},
        },
    }


def generated_id(i: int) -> str:
    return f"gen{i:09d}"


async def generated(db: Any) -> int:
    """How many generated members the collection holds: they are seeded in order (gen0, gen1,
    ...), so the first missing id, found with a few point reads. Never a count over the range:
    FerretDB v1 reads every document a count matches, a million of them at once."""

    async def there(i: int) -> bool:
        return (
            await db["members"].find_one({"_id": generated_id(i), "tenant_id": TENANT}, {"_id": 1})
            is not None
        )

    if not await there(0):
        return 0
    low, high = 0, 1  # gen<low> is there; find a missing gen<high>
    while await there(high):
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if await there(mid) else (low, mid)
    return high


async def seed_audience(db: Any, count: int) -> int:
    """Generated members `gen0..` up to `count` (the ones already there are kept); returns how
    many there are now (more than `count` when an earlier call seeded more)."""
    have = await generated(db)
    now = datetime.now(UTC)
    for start in range(have, count, 5000):
        batch = [member_doc(i, now) for i in range(start, min(count, start + 5000))]
        await db["members"].insert_many(batch, ordered=False)
    return max(have, count)


async def member_reads(
    stack: Stack, db: Any, stored: int, total: int, concurrency: int
) -> tuple[load.Result, load.Result]:
    """GET /v1/members/{id} through the gateway, and the same point read direct
    (`find_one({_id, tenant_id})`), each of `total` random ids among `stored` generated members."""
    pick = random.Random(stored)
    ids = [generated_id(pick.randrange(stored)) for _ in range(total)]
    warm = min(total, 4 * concurrency)  # connections and caches up before the clock starts
    await load.run(
        "warm-up", stack.gateway_url, lambda i: ("GET", f"/v1/members/{ids[i]}", None), warm, concurrency, KEY
    )
    via = await load.run(
        f"GET /v1/members/{{id}} via gateway, {stored:,} stored",
        stack.gateway_url,
        lambda i: ("GET", f"/v1/members/{ids[i]}", None),
        total,
        concurrency,
        KEY,
    )
    return via, await direct_reads(db, stored, total, concurrency)


async def direct_reads(db: Any, stored: int, total: int, concurrency: int) -> load.Result:
    """`find_one({_id, tenant_id})` of `total` random ids among `stored` generated members."""
    pick = random.Random(-stored)
    ids = [generated_id(pick.randrange(stored)) for _ in range(total)]

    async def read(i: int) -> None:
        if await db["members"].find_one({"_id": ids[i], "tenant_id": TENANT}) is None:
            raise RuntimeError(f"{ids[i]} not found")

    direct, _ = await load.drive(
        f"find_one({{_id, tenant_id}}) direct, {stored:,} stored", read, total, concurrency
    )
    return direct


async def segment_preview(
    stack: Stack, mongodb_url: str, audience: int
) -> tuple[float, float, int, int, int]:
    """Seconds for one preview through the gateway and for the same query direct, both counts,
    and how many generated members there were (at least `audience`)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url, tz_aware=True)
    db = client[f"{stack.namespace}regulars_members"]
    audience = await seed_audience(db, audience)
    criteria = {"tiers": ["gold", "diamond"], "bought_brand": "brand3", "bought_brand_within_days": 90}
    started = time.perf_counter()
    async with (
        aiohttp.ClientSession(
            base_url=stack.gateway_url, headers=KEY, timeout=aiohttp.ClientTimeout(total=600)
        ) as http,
        http.post("/v1/segments/preview", json={"criteria": criteria, "sample_size": 10}) as r,
    ):
        body = await r.json()
    via_gateway = time.perf_counter() - started
    query = to_filter(parse_segment(criteria), TENANT, datetime.now(UTC))
    started = time.perf_counter()
    direct_count = await db["members"].count_documents(query)
    await db["members"].find(query).limit(10).to_list()
    direct = time.perf_counter() - started
    await client.close()
    return via_gateway, direct, int(body.get("count", -1)), direct_count, audience
