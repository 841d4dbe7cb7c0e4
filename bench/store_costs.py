"""What each of a claim's store operations costs the store, beside the coupon insert.

`python -m bench.store_costs` (servers as for the tests; nothing of the platform runs): on a
scratch database with the services' own indexes, each operation a claim causes is run
BENCH_CLAIMS (3,000) times, and the store's CPU over each is read from /proc (bench/cpu.py) —
the member's entry in coupons' projection read, the coupon insert with its embedded event, the
relay's page read and clear, and messaging's two attribution reads for a member never messaged.
Each is printed per claim and as a ratio to the insert measured in the same run, so a claim's
share of store work can be told apart: the run's whole figure is in `make bench`'s CPU lines.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient
from rich.console import Console
from rich.table import Table
from ulid import ULID

from bench import cpu, relay
from bench.coupons import TENANT, _terms, claimed_coupon
from chassis import outbox
from chassis.mongo import ensure_indexes
from services.coupons.adapters import audience_mongo, coupons_mongo
from services.messaging.adapters import links_mongo, messages_mongo

COUNT = int(os.environ.get("BENCH_CLAIMS", "3000"))
PAGE = 500  # the relay's page (chassis/outbox.py batch_size)
CLEARED = 10  # documents a relay pass clears under claims (a pass every ~20 ms at ~450 claims/s)
INSERT = "coupon insert with its event"


async def _store_seconds(
    pid: int | None, calls: int, concurrency: int, op: Callable[[int], Awaitable[Any]]
) -> float:
    """The store's CPU seconds over `calls` runs of `op`, `concurrency` in flight."""
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await op(i)

    with cpu.track({"store": pid} if pid else {}) as usage:
        await asyncio.gather(*(one(i) for i in range(calls)))
    return usage.per_process.get("store", 0.0)


async def measure() -> list[tuple[str, float]]:
    """(operation, the store's CPU ms per claim)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(os.environ["MONGODB_URL"], tz_aware=True)
    name = f"bench_store_costs_{ULID()}".lower()
    db = client[name]
    pid = cpu.store_pid()
    try:
        await ensure_indexes(
            db,
            {
                coupons_mongo.COUPONS: [*coupons_mongo.INDEXES[coupons_mongo.COUPONS], outbox.EMBEDDED_INDEX],
                messages_mongo.MESSAGES: messages_mongo.INDEXES[messages_mongo.MESSAGES],
                links_mongo.ENGAGEMENTS: links_mongo.INDEXES[links_mongo.ENGAGEMENTS],
            },
        )
        members = [f"m{i}" for i in range(COUNT)]
        profiles, coupons = db[audience_mongo.PROFILES], db[coupons_mongo.COUPONS]
        await profiles.insert_many(
            [{"_id": f"{TENANT}:{m}", "tenant_id": TENANT, "tier": "normal"} for m in members]
        )
        terms = _terms(str(ULID()))
        docs = [claimed_coupon(terms, m, i + 1, 1, "bench.store_costs") for i, m in enumerate(members)]
        now = datetime.now(UTC)
        window = {"$gte": now - timedelta(hours=72), "$lte": now}
        pages = -(-COUNT // PAGE)
        relay_fields = {"_outbox": 1, "_outbox_v": 1, "_outbox_at": 1}

        def cleared(i: int) -> dict[str, Any]:
            return {"_id": {"$in": [d["_id"] for d in docs[i * CLEARED : (i + 1) * CLEARED]]}}

        unset = {"$unset": {"_outbox": "", "_outbox_at": "", "_outbox_v": ""}}
        engagements, messages = db[links_mongo.ENGAGEMENTS], db[messages_mongo.MESSAGES]
        # (what, calls, in flight, one call): in a claim's order; the relay's before its clears.
        ops: list[tuple[str, int, int, Callable[[int], Awaitable[Any]]]] = [
            (
                "member's projection entry (find_one by _id)",
                COUNT,
                64,
                lambda i: profiles.find_one({"_id": f"{TENANT}:{members[i]}"}),
            ),
            (INSERT, COUNT, 64, lambda i: coupons.insert_one(docs[i])),
            (
                f"relay: page read ({PAGE} a page)",
                pages,
                1,
                lambda i: coupons.find(relay.PENDING, relay_fields).limit(PAGE).to_list(),
            ),
            (
                f"relay: clear ({CLEARED} a pass)",
                COUNT // CLEARED,
                4,
                lambda i: coupons.update_many(cleared(i), unset),
            ),
            (
                "messaging: clicks in the window (none)",
                COUNT,
                16,
                lambda i: engagements.find(
                    {"tenant_id": TENANT, "member_id": members[i], "first_at": window}
                ).to_list(),
            ),
            (
                "messaging: sends in the window (none)",
                COUNT,
                16,
                lambda i: messages.find(
                    {"tenant_id": TENANT, "member_id": members[i], "sent_at": window}
                ).to_list(),
            ),
        ]
        rows = [
            (what, await _store_seconds(pid, calls, flight, op) / COUNT) for what, calls, flight, op in ops
        ]
    finally:
        await client.drop_database(name)
        await client.close()
    return [(what, seconds * 1000) for what, seconds in rows]


def main() -> None:
    rows = asyncio.run(measure())
    insert = dict(rows)[INSERT] or float("nan")
    table = Table(title=f"The store's CPU per claim, by operation ({COUNT:,} of each)")
    for col in ("operation", "ms per claim", "vs the insert"):
        table.add_column(col, justify="left" if col == "operation" else "right")
    for what, ms in rows:
        table.add_row(what, f"{ms:.3f}", f"{ms / insert:.2f}")
    table.add_row(
        "all of them", f"{sum(ms for _, ms in rows):.3f}", f"{sum(ms for _, ms in rows) / insert:.2f}"
    )
    Console().print(table)


if __name__ == "__main__":
    main()
