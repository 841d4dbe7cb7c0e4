"""Members benchmarks: RecordPurchase through the gateway, and segment preview on a large
audience, each beside the same work done directly against the database in the same run.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from pymongo import AsyncMongoClient, ReturnDocument

from bench import load
from devstack.processes import Stack
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


async def purchases_direct(db: Any, member_ids: list[str], total: int, concurrency: int) -> load.Result:
    """The database work RecordPurchase does, without the platform: purchase, ledger, member."""
    latencies: list[float] = []
    counter = iter(range(total))
    stamp = time.time_ns()

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter()
            member_id = member_ids[i % len(member_ids)]
            pid = f"direct-{stamp}-{i}"
            await db["purchases"].insert_one(
                {
                    "_id": pid,
                    "tenant_id": TENANT,
                    "member_id": member_id,
                    "total_paid": 28800,
                    "lines": [{"sku": "LIP-01"}],
                }
            )
            await db["points_entries"].insert_one(
                {"_id": f"{TENANT}:purchase:{pid}", "member_id": member_id, "delta": 288}
            )
            await db["members"].find_one_and_update(
                {"_id": member_id},
                {
                    "$inc": {"points_balance": 288, "stats.total_spend": 28800},
                    "$set": {f"_applied.{pid}": True},
                },
                return_document=ReturnDocument.AFTER,
            )
            latencies.append(time.perf_counter() - started)

    begin = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - begin
    latencies.sort()
    return load.Result(
        "same writes direct to the database",
        total,
        0,
        elapsed,
        latencies[len(latencies) // 2] * 1000,
        latencies[int(len(latencies) * 0.99) - 1] * 1000,
    )


async def seed_audience(db: Any, count: int) -> None:
    """`count` generated members (kept between runs of the same namespace)."""
    members = db["members"]
    have = await members.count_documents({"tenant_id": TENANT, "generated": True})
    now = datetime.now(UTC)
    batch: list[dict[str, Any]] = []
    for i in range(have, count):
        brand = BRANDS[i % len(BRANDS)]
        batch.append(
            {
                "_id": f"gen{i:09d}",
                "tenant_id": TENANT,
                "generated": True,
                "phone": f"+86139{i:08d}",
                "name": "G",
                "tier": TIERS[i % len(TIERS)],
                "tags": ["vip"] if i % 7 == 0 else [],
                "consent": {"sms": i % 2 == 0, "wechat": i % 3 == 0, "app": False, "phone": False},
                "registered_at": now - timedelta(days=i % 700),
                "stats": {
                    "total_spend": (i % 1000) * 1000,
                    "purchase_count": 1 + i % 5,
                    "last_purchase_at": now - timedelta(days=i % 400),
                    "brands": {brand: {"spend": 1000, "last_at": now - timedelta(days=i % 200)}},
                },
            }
        )
        if len(batch) == 5000:
            await members.insert_many(batch, ordered=False)
            batch = []
    if batch:
        await members.insert_many(batch, ordered=False)


async def segment_preview(stack: Stack, mongodb_url: str, audience: int) -> tuple[float, float, int, int]:
    """Seconds for one preview through the gateway and for the same query direct, and both counts."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url, tz_aware=True)
    db = client[f"{stack.namespace}regulars_members"]
    await seed_audience(db, audience)
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
    return via_gateway, direct, int(body.get("count", -1)), direct_count
