"""Coupon claims: members grabbing a coupon through the gateway at BENCH_CLAIM_CONCURRENCY (64)
clients, beside the same inserts made directly on the database in the same run.

Two templates, one claim per member (BENCH_CLAIMS members): one with stock for every claim, and
a flash sale with less stock than claims (BENCH_FLASH_STOCK, default a tenth of BENCH_CLAIMS),
where most claims are refused as sold out. The direct baseline does, per claim, the writes of
the coupons service's claim path: the member-limit slot, a stock slot (numbered from an
in-memory counter, as the service's hint does), the code and the coupon with its embedded
coupon_issued event; a claim past the stock gives its member slot back. No gateway, gRPC,
service layers, reads or Kafka; it runs on a scratch database dropped afterwards.

The claimants are written straight into the members collection (the claim route serves only
members of the key's tenant), so no enrolment events are being processed while claims run.
Both direct runs go first; then the flash sale and the full-stock claims through the gateway.
Before the claims and after each gateway run the suite waits (up to BENCH_SETTLE_SECONDS,
default 300) until every service's events are relayed to Kafka and consumed, so one run's
background work does not slow the next; it prints how long that took, or what was still
pending. A claim is answered before its coupon_issued event reaches Kafka: the events still
waiting when the last claim was answered, and how long they took, are reported. Run it alone
with `python -m bench.coupons`.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError
from rich.console import Console
from rich.table import Table
from ulid import ULID

from bench import load
from chassis import outbox
from chassis.mongo import ensure_indexes, insert_once
from devstack.processes import SERVICES, Stack
from services.coupons.adapters import coupons_mongo, events
from services.coupons.adapters.documents import coupon_doc
from services.coupons.adapters.slots_mongo import SLOTS
from services.coupons.domain.codes import new_code
from services.coupons.domain.coupons import Coupon, CouponState, Source
from services.coupons.domain.keys import member_slot
from services.coupons.domain.templates import Benefit, CouponKind, Scope, Terms

TENANT = "bench"
KEY = {"Authorization": "Bearer bench-key"}
CLAIMS = int(os.environ.get("BENCH_CLAIMS", "3000"))
CLAIM_CONCURRENCY = int(os.environ.get("BENCH_CLAIM_CONCURRENCY", "64"))
FLASH_STOCK = int(os.environ.get("BENCH_FLASH_STOCK", str(max(1, CLAIMS // 10))))
SETTLE_SECONDS = float(os.environ.get("BENCH_SETTLE_SECONDS", "300"))
VALIDITY = timedelta(days=7)

console = Console()


@dataclass(frozen=True)
class ClaimRun:
    """One measured run: its timings, the stock it had, and what the claims got."""

    result: load.Result
    stock: int
    issued: int
    sold_out: int
    unrelayed: int = 0  # coupon_issued events not yet relayed to Kafka at the last answer
    relayed_after_s: float | None = None  # seconds after the last answer until all were relayed
    still_unrelayed: int = 0  # when they were not all relayed within SETTLE_SECONDS
    first_error: str = ""


def _template_body(name: str, stock: int) -> dict[str, Any]:
    return {
        "name": name,
        "benefit": {"kind": "amount_off", "amount_off": 2000},
        "validity": {"duration_seconds": int(VALIDITY.total_seconds())},
        "limits": {"total_stock": stock, "per_member_limit": 1},
        "claimable": True,
    }


async def _expect(r: aiohttp.ClientResponse, status: int, what: str) -> Any:
    body = await r.json(content_type=None)
    if r.status != status:
        raise RuntimeError(f"{what}: HTTP {r.status} {body}")
    return body


async def active_template(http: aiohttp.ClientSession, name: str, stock: int) -> str:
    """A claimable template for everyone, one per member, `stock` in all, activated."""
    async with http.post("/v1/coupon-templates", json=_template_body(name, stock)) as r:
        template_id = str((await _expect(r, 201, "create coupon template"))["id"])
    async with http.post(f"/v1/coupon-templates/{template_id}/state", json={"state": "active"}) as r:
        await _expect(r, 200, "activate coupon template")
    return template_id


async def seed_claimants(members_db: Any, count: int) -> list[str]:
    """`count` members of the tenant, written as the members service stores them."""
    stamp, now = time.time_ns(), datetime.now(UTC)
    ids = [f"claimant-{stamp}-{i}" for i in range(count)]
    docs = [
        {
            "_id": member_id,
            "tenant_id": TENANT,
            "phone": f"+86137{i:08d}",
            "name": "Bench",
            "registered_at": now,
            "tier": "normal",
            "tags": [],
            "points_balance": 0,
            "consent": {"sms": False, "wechat": False, "app": False, "phone": False},
        }
        for i, member_id in enumerate(ids)
    ]
    for start in range(0, count, 5000):
        await members_db["members"].insert_many(docs[start : start + 5000], ordered=False)
    return ids


async def unrelayed(client: AsyncMongoClient[dict[str, Any]], namespace: str) -> int:
    """Documents whose events the coupons service has not yet relayed to Kafka."""
    return await client[f"{namespace}regulars_coupons"][outbox.OUTBOX_QUEUE].count_documents({})


async def consumer_lag(admin: AIOKafkaAdminClient, kafka: AIOKafkaConsumer, namespace: str) -> int:
    """Records the stack's consumer groups have yet to handle, on every topic they consume."""
    lag = 0
    await kafka.topics()  # fresh metadata: every topic's partitions
    for group, *_ in await admin.list_consumer_groups():
        if not str(group).startswith(namespace):
            continue
        committed = await admin.list_consumer_group_offsets(group)
        topics = {tp.topic for tp in committed}
        parts = [TopicPartition(t, n) for t in topics for n in kafka.partitions_for_topic(t) or ()]
        ends = await kafka.end_offsets(parts)
        lag += sum(ends[tp] - (max(committed[tp].offset, 0) if tp in committed else 0) for tp in parts)
    return lag


async def settle(client: AsyncMongoClient[dict[str, Any]], namespace: str, what: str) -> float | None:
    """Seconds until the services have relayed every event and their consumers handled every
    record (None: not within SETTLE_SECONDS), so one run's background work does not slow the next."""
    started = time.perf_counter()
    queues = {s: client[f"{namespace}regulars_{s}"][outbox.OUTBOX_QUEUE] for s in SERVICES}
    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    kafka = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await kafka.start()
    try:
        while True:
            pending = {s: await q.count_documents({}) for s, q in queues.items()}
            lag = await consumer_lag(admin, kafka, namespace) if not any(pending.values()) else -1
            waited = time.perf_counter() - started
            if lag == 0:
                console.print(f"[dim]{what}: background work done after {waited:.0f} s[/]")
                return waited
            if waited >= SETTLE_SECONDS:
                left = ", ".join(f"{s} {n:,}" for s, n in pending.items() if n) or f"consumer lag {lag:,}"
                console.print(
                    f"[yellow]{what}: still pending after {waited:.0f} s (BENCH_SETTLE_SECONDS): "
                    f"documents with unrelayed events: {left}; going on[/]"
                )
                return None
            await asyncio.sleep(0.5)
    finally:
        await kafka.stop()
        await admin.close()


async def relayed(client: AsyncMongoClient[dict[str, Any]], namespace: str, run: ClaimRun) -> ClaimRun:
    """The run with how long its events took to reach Kafka (waiting up to SETTLE_SECONDS)."""
    seconds = await settle(client, namespace, f"after {run.result.name}")
    left = 0 if seconds is not None else await unrelayed(client, namespace)
    return replace(run, relayed_after_s=seconds, still_unrelayed=left)


async def claims_through_gateway(
    stack: Stack,
    http: aiohttp.ClientSession,
    name: str,
    member_ids: list[str],
    stock: int,
    concurrency: int,
    client: AsyncMongoClient[dict[str, Any]],
) -> ClaimRun:
    """Each member claims once from a fresh template with `stock` coupons."""
    template_id = await active_template(http, name, stock)

    def make(i: int) -> tuple[str, str, dict[str, object] | None]:
        return ("POST", f"/v1/members/{member_ids[i]}/coupons/claims", {"template_id": template_id})

    result = await load.run(name, stack.gateway_url, make, len(member_ids), concurrency, KEY)
    backlog = await unrelayed(client, stack.namespace)
    async with http.get(f"/v1/coupon-templates/{template_id}") as r:
        issued = int((await _expect(r, 200, "read coupon template"))["issued"])
    # One member each, one coupon per member, the template active: a claim that did not fail
    # and did not issue was refused as sold out.
    return ClaimRun(result, stock, issued, result.requests - result.errors - issued, backlog)


def _terms(template_id: str) -> Terms:
    return Terms(
        template_id=template_id,
        template_version=1,
        name="Flash",
        benefit=Benefit(kind=CouponKind.AMOUNT_OFF, amount_off=2000),
        scope=Scope(),
        stackable=False,
        shareable=False,
    )


async def claims_direct(
    db: Any, name: str, member_ids: list[str], stock: int, concurrency: int, topic: str
) -> ClaimRun:
    """The inserts a claim makes, straight on the database: member slot, stock slot, code, coupon."""
    slots, codes, coupons = db[SLOTS], db[coupons_mongo.CODES], db[coupons_mongo.COUPONS]
    await ensure_indexes(
        db, {coupons_mongo.COUPONS: [*coupons_mongo.INDEXES[coupons_mongo.COUPONS], outbox.EMBEDDED_INDEX]}
    )
    template_id = str(ULID())
    terms = _terms(template_id)
    next_stock = itertools.count(1)
    latencies: list[float] = []
    counter = iter(range(len(member_ids)))
    issued = sold_out = errors = 0
    first_error = ""

    async def claim(member_id: str) -> bool:
        """True when issued, False when sold out."""
        coupon_id = str(ULID())
        held = member_slot(template_id, member_id, 1)
        slot = {"_id": held, "tenant_id": TENANT, "coupon_id": coupon_id, "kind": "limit"}
        if not await insert_once(slots, slot):
            raise RuntimeError(f"member slot {held} taken twice")
        n = next(next_stock)
        if n > stock:
            await slots.delete_one({"_id": held})  # sold out: the member slot goes back
            return False
        stock_slot = f"{template_id}:s:{n:09d}"
        await slots.insert_one(
            {
                "_id": stock_slot,
                "tenant_id": TENANT,
                "coupon_id": coupon_id,
                "kind": "stock",
                "template_id": template_id,
            }
        )
        code = new_code()
        await codes.insert_one({"_id": f"{TENANT}:{code}", "tenant_id": TENANT, "coupon_id": coupon_id})
        now = datetime.now(UTC)
        coupon = Coupon(
            id=coupon_id,
            tenant_id=TENANT,
            member_id=member_id,
            code=code,
            terms=terms,
            state=CouponState.AVAILABLE,
            valid_from=now,
            valid_until=now + VALIDITY,
            issued_at=now,
            source=Source.CLAIM,
            source_ref=member_id,
        )
        doc = coupon_doc(coupon, [held, stock_slot]) | outbox.embed(topic, events.coupon_issued(coupon))
        await coupons.insert_one(doc)
        return True

    async def worker() -> None:
        nonlocal issued, sold_out, errors, first_error
        for i in counter:
            started = time.perf_counter()
            try:
                if await claim(member_ids[i]):
                    issued += 1
                else:
                    sold_out += 1
            except PyMongoError as exc:  # counted like a failed request (e.g. the store too busy)
                errors += 1
                first_error = first_error or str(exc)[:200]
            latencies.append(time.perf_counter() - started)

    begin = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - begin
    latencies.sort()
    result = load.Result(
        name,
        len(member_ids),
        errors,
        elapsed,
        latencies[len(latencies) // 2] * 1000,
        latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
    )
    return ClaimRun(result, stock, issued, sold_out, first_error=first_error)


async def suite(stack: Stack) -> list[dict[str, Any]]:
    """Both templates direct, then through the gateway; prints the table, returns the JSON rows."""
    total, concurrency = CLAIMS, CLAIM_CONCURRENCY
    flash = min(FLASH_STOCK, total)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(os.environ["MONGODB_URL"], tz_aware=True)
    scratch = f"{stack.namespace}bench_coupons_direct"
    topic = f"{stack.namespace}{events.TOPIC}"
    timeout = aiohttp.ClientTimeout(total=120)
    gateway = f"via gateway ({concurrency} clients)"
    direct = f"direct on DB ({concurrency} clients)"
    try:
        member_ids = await seed_claimants(client[f"{stack.namespace}regulars_members"], total)
        await settle(client, stack.namespace, "before the coupon claims")  # earlier suites' tails
        # The same order on both sides, so each run meets collections of the same size.
        direct_flash = await claims_direct(
            client[scratch], f"flash claim {direct}", member_ids, flash, concurrency, topic
        )
        direct_full = await claims_direct(
            client[scratch], f"claim {direct}", member_ids, total, concurrency, topic
        )
        async with aiohttp.ClientSession(base_url=stack.gateway_url, headers=KEY, timeout=timeout) as http:
            via_flash = await claims_through_gateway(
                stack, http, f"flash claim {gateway}", member_ids, flash, concurrency, client
            )
            via_flash = await relayed(client, stack.namespace, via_flash)
            via_full = await claims_through_gateway(
                stack, http, f"claim {gateway}", member_ids, total, concurrency, client
            )
            via_full = await relayed(client, stack.namespace, via_full)  # before the next suite
    finally:
        await client.drop_database(scratch)
        await client.close()
    return report([(via_full, direct_full), (via_flash, direct_flash)], total, concurrency)


def report(pairs: list[tuple[ClaimRun, ClaimRun]], total: int, concurrency: int) -> list[dict[str, Any]]:
    table = Table(
        title=f"Coupon claims: {total:,} members claim once each, {concurrency} in flight; "
        f"flash sale: stock {pairs[-1][0].stock:,}"
    )
    for col in (
        "path",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "issued/sold out",
        "vs direct",
        "p50 vs direct",
    ):
        table.add_column(col, justify="left" if col == "path" else "right")
    rows: list[dict[str, Any]] = []
    for via, direct in pairs:
        for run in (via, direct):
            r = run.result
            rate_ratio, p50_ratio = r.rate / direct.result.rate, r.p50_ms / direct.result.p50_ms
            table.add_row(
                r.name,
                f"{r.rate:,.0f}",
                f"{r.p50_ms:.2f}",
                f"{r.p99_ms:.2f}",
                str(r.errors),
                f"{run.issued:,}/{run.sold_out:,}",
                f"{rate_ratio:.2f}",
                f"{p50_ratio:.2f}",
            )
            rows.append(
                asdict(r)
                | {
                    "rate": r.rate,
                    "concurrency": concurrency,
                    "stock": run.stock,
                    "issued": run.issued,
                    "sold_out": run.sold_out,
                    "rate_vs_direct": rate_ratio,
                    "p50_vs_direct": p50_ratio,
                    "unrelayed_at_last_answer": run.unrelayed,
                    "relayed_after_s": run.relayed_after_s,
                    "still_unrelayed_after_wait": run.still_unrelayed,
                }
            )
    console.print(table)
    for run in (run for pair in pairs for run in pair if run.first_error):
        console.print(f"{run.result.name}: {run.result.errors} failed, the first with: {run.first_error}")
    for via, direct in pairs:
        v, d = via.result, direct.result
        relayed = (
            f"all relayed {via.relayed_after_s:.0f} s later"
            if via.relayed_after_s is not None
            else f"{via.still_unrelayed:,} still waiting {SETTLE_SECONDS:.0f} s later"
        )
        console.print(
            f"{v.name} / direct: throughput {v.rate / d.rate:.2f} ({v.rate:,.0f} vs {d.rate:,.0f} req/s), "
            f"p50 {v.p50_ms / d.p50_ms:.2f} ({v.p50_ms:.2f} vs {d.p50_ms:.2f} ms); "
            f"issued {via.issued:,} of stock {via.stock:,}, {via.sold_out:,} sold out; "
            f"coupon_issued events waiting for the relay at the last answer: {via.unrelayed:,} ({relayed})"
        )
    return rows


def main() -> None:
    """The coupon claims alone, on a platform of their own (`python -m bench.coupons`)."""
    from bench.__main__ import bench_stack

    stack = bench_stack()
    try:
        stack.start_all()
        asyncio.run(suite(stack))
    finally:
        stack.stop_all()


if __name__ == "__main__":
    main()
