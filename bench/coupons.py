"""Coupon claims: members grabbing a coupon through the gateway at BENCH_CLAIM_CONCURRENCY (64)
clients, beside the claim's database work done directly in the same run, and the outbox drain.

Two templates, one claim per member (BENCH_CLAIMS members): one with stock for every claim, and
a flash sale with less stock than claims (BENCH_FLASH_STOCK, default a tenth of BENCH_CLAIMS),
where most claims are refused as sold out. The direct baseline does, per claim, the database
work of the coupons service's claim path for a member's first claim
(services/coupons/service/issuing.py): read the member's entry in coupons' projection of
members, take a stock number from an in-memory counter (as the service's in-process list
does), then ONE insert of the coupon document with its places (member slot 1: a first claim
reads no places) and its embedded coupon_issued event, on a scratch collection with the
service's unique indexes (stock, member limit, period limit, code) and the outbox index. Past
the stock nothing is written (sold out). No gateway, gRPC, service layers, template reads (a
claim uses one read at most 50 ms before) or Kafka; the scratch database is dropped
afterwards. The bare FastAPI -> gRPC echo hop is
measured again at the claims' concurrency, so the claim goal compares like with like.

The claimants are written straight into the members collection and into coupons' projection
of members (what consuming their member_registered leaves: coupons answers for a member it
knows without asking members), so no enrolment events are being processed while claims run.
Both direct runs go first; then the flash sale and the full-stock claims through the gateway.
Before the claims and after each gateway run the suite waits (up to BENCH_SETTLE_SECONDS,
default 300) until every service's events are relayed to Kafka and consumed, so one run's
background work does not slow the next.

Outbox drain (bench/relay.py): the full-stock claim run is one burst of coupon_issued events;
from its first request, the documents still holding events are counted every 0.2 s, and the
coupons topic's end offsets read, until none is left and Kafka holds all of them. That rate
cannot exceed the claim rate, so a second, raw burst (BENCH_BURST_EVENTS, default the larger
of 3,000 and BENCH_CLAIMS) inserts coupon documents with their embedded events straight into
the service's coupons collection as fast as the store takes them, and times the relay alone.
Run it alone with `python -m bench.coupons`.
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
from pymongo import AsyncMongoClient
from rich.table import Table
from ulid import ULID

from bench import cpu, load, relay
from bench.relay import Drain
from chassis import outbox
from chassis.mongo import Document, ensure_indexes
from devstack.processes import Stack
from services.coupons.adapters import audience_mongo, coupons_mongo, events
from services.coupons.adapters.documents import coupon_doc
from services.coupons.domain.codes import new_code
from services.coupons.domain.coupons import Coupon, CouponState, Source
from services.coupons.domain.keys import Places, outside
from services.coupons.domain.templates import Benefit, CouponKind, Scope, Terms

TENANT = "bench"
KEY = {"Authorization": "Bearer bench-key"}
CLAIMS = int(os.environ.get("BENCH_CLAIMS", "3000"))
CLAIM_CONCURRENCY = int(os.environ.get("BENCH_CLAIM_CONCURRENCY", "64"))
FLASH_STOCK = int(os.environ.get("BENCH_FLASH_STOCK", str(max(1, CLAIMS // 10))))
BURST_EVENTS = int(os.environ.get("BENCH_BURST_EVENTS", str(max(3000, CLAIMS))))
SETTLE_SECONDS = float(os.environ.get("BENCH_SETTLE_SECONDS", "300"))
VALIDITY = timedelta(days=7)

console = load.console


@dataclass(frozen=True)
class ClaimRun:
    """One measured run: its timings, the stock it had, and what the claims got."""

    result: load.Result
    stock: int
    issued: int
    sold_out: int
    unrelayed: int = 0  # documents whose coupon_issued was not yet relayed at the last answer
    relayed_after_s: float | None = None  # seconds after the last answer until all were relayed
    still_unrelayed: int = 0  # when they were not all relayed within SETTLE_SECONDS
    first_error: str = ""
    cpu: str = ""  # where the CPU went during the run (bench/cpu.py)
    answered_at: float = 0.0  # time.perf_counter() at the last answer


@dataclass(frozen=True)
class Claims:
    """What the suite measured, for the report, the goals and the JSON file."""

    full: tuple[ClaimRun, ClaimRun]  # (via gateway, direct)
    flash: tuple[ClaimRun, ClaimRun]
    bare_grpc: load.Result | None  # bare FastAPI -> gRPC echo at the claims' concurrency
    claim_drain: Drain
    burst_drain: Drain
    backlog: relay.Backlog
    concurrency: int
    rows: list[dict[str, Any]]


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


async def seed_claimants(members_db: Any, count: int, coupons_db: Any | None = None) -> list[str]:
    """`count` members of the tenant, written as the members service stores them, and (with
    `coupons_db`) as coupons' projection holds them once their member_registered is consumed."""
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
    if coupons_db is not None:
        views = [{"_id": f"{TENANT}:{i}", "tenant_id": TENANT, "tier": "normal", "at": now} for i in ids]
        for start in range(0, count, 5000):
            await coupons_db[audience_mongo.PROFILES].insert_many(views[start : start + 5000], ordered=False)
    return ids


async def unrelayed(client: AsyncMongoClient[dict[str, Any]], namespace: str) -> int:
    """Documents whose events the coupons service has not yet relayed to Kafka."""
    db = client[f"{namespace}regulars_coupons"]
    return await relay.pending(db, await relay.outbox_collections(db))


async def settle(client: AsyncMongoClient[dict[str, Any]], namespace: str, what: str) -> float | None:
    """Seconds until the services have relayed every event and their consumers handled every
    record (None: not within SETTLE_SECONDS), so one run's background work does not slow the next."""
    started = time.perf_counter()
    async with relay.Kafka() as kafka:
        while True:
            pending = await relay.pending_by_service(client, namespace)
            lag = await kafka.lag(namespace) if not any(pending.values()) else -1
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

    with cpu.track(cpu.watched(stack)) as usage:
        result = await load.run(name, stack.gateway_url, make, len(member_ids), concurrency, KEY)
    answered_at = time.perf_counter()
    backlog = await unrelayed(client, stack.namespace)
    async with http.get(f"/v1/coupon-templates/{template_id}") as r:
        issued = int((await _expect(r, 200, "read coupon template"))["issued"])
    # One member each, one coupon per member, the template active: a claim that did not fail
    # and did not issue was refused as sold out.
    sold_out = result.requests - result.errors - issued
    return ClaimRun(result, stock, issued, sold_out, backlog, cpu=usage.line(name), answered_at=answered_at)


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


def claimed_coupon(terms: Terms, member_id: str, stock_no: int, member_slot: int, topic: str) -> Document:
    """The one document a claim inserts: the coupon, its places and its coupon_issued event."""
    coupon_id, now = str(ULID()), datetime.now(UTC)
    coupon = Coupon(
        id=coupon_id,
        tenant_id=TENANT,
        member_id=member_id,
        code=new_code(),
        terms=terms,
        state=CouponState.AVAILABLE,
        valid_from=now,
        valid_until=now + VALIDITY,
        issued_at=now,
        source=Source.CLAIM,
        source_ref=member_id,
    )
    places = Places(stock_no, member_slot, outside(coupon_id))
    return coupon_doc(coupon, places) | outbox.embed(topic, events.coupon_issued(coupon))


async def claims_direct(
    db: Any,
    profiles: Any,
    name: str,
    member_ids: list[str],
    stock: int,
    concurrency: int,
    topic: str,
    pids: dict[str, int] | None = None,
) -> ClaimRun:
    """A claim's database work straight on the store: the member's projection entry read, then
    one insert (a member's first claim reads no places: the insert's unique indexes judge)."""
    coupons = db[coupons_mongo.COUPONS]
    await ensure_indexes(
        db, {coupons_mongo.COUPONS: [*coupons_mongo.INDEXES[coupons_mongo.COUPONS], outbox.EMBEDDED_INDEX]}
    )
    template_id = str(ULID())
    terms = _terms(template_id)
    next_stock = itertools.count(1)
    issued = sold_out = 0

    async def claim(i: int) -> None:
        nonlocal issued, sold_out
        member_id = member_ids[i]
        if await profiles.find_one({"_id": f"{TENANT}:{member_id}"}) is None:
            raise RuntimeError(f"member {member_id} is not in coupons' projection")
        n = next(next_stock)
        if n > stock:
            sold_out += 1  # sold out: nothing is written
            return
        await coupons.insert_one(claimed_coupon(terms, member_id, n, 1, topic))
        issued += 1

    with cpu.track(pids or {}) as usage:
        result, first_error = await load.drive(name, claim, len(member_ids), concurrency)
    return ClaimRun(result, stock, issued, sold_out, first_error=first_error, cpu=usage.line(name))


async def raw_burst(db: Any, member_ids: list[str], count: int, topic: str) -> int:
    """`count` claimed coupons with their coupon_issued events, inserted straight into the
    service's own coupons collection as fast as the store takes them (for a template of their
    own, so no limit of the claim runs is touched); returns how many events that wrote."""
    terms = _terms(str(ULID()))
    docs = [
        claimed_coupon(terms, member_ids[i % len(member_ids)], i + 1, i // len(member_ids) + 1, topic)
        for i in range(count)
    ]
    for start in range(0, count, 500):
        await db[coupons_mongo.COUPONS].insert_many(docs[start : start + 500], ordered=False)
    return count


async def suite(stack: Stack, bare_grpc: str | None = None) -> Claims:
    """Both templates direct, then through the gateway, then the raw outbox burst; prints the
    tables and returns what was measured. `bare_grpc` is the bare FastAPI -> gRPC baseline."""
    total, concurrency = CLAIMS, CLAIM_CONCURRENCY
    flash = min(FLASH_STOCK, total)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(os.environ["MONGODB_URL"], tz_aware=True)
    scratch = f"{stack.namespace}bench_coupons_direct"
    service_db = client[f"{stack.namespace}regulars_coupons"]
    topic = f"{stack.namespace}{events.TOPIC}"
    timeout = aiohttp.ClientTimeout(total=120)
    gateway = f"via gateway ({concurrency} clients)"
    direct = f"direct on DB ({concurrency} clients)"
    bare: load.Result | None = None
    try:
        member_ids = await seed_claimants(client[f"{stack.namespace}regulars_members"], total, service_db)
        await settle(client, stack.namespace, "before the coupon claims")  # earlier suites' tails
        # The same order on both sides, so each run meets collections of the same size.
        pids = cpu.watched(stack)
        profiles = service_db[audience_mongo.PROFILES]  # only read
        direct_flash = await claims_direct(
            client[scratch], profiles, f"flash claim {direct}", member_ids, flash, concurrency, topic, pids
        )
        direct_full = await claims_direct(
            client[scratch], profiles, f"claim {direct}", member_ids, total, concurrency, topic, pids
        )
        if bare_grpc:
            bare = await load.run(
                f"bare FastAPI -> gRPC echo ({concurrency} clients)",
                bare_grpc,
                lambda i: ("GET", "/echo", None),
                total,
                concurrency,
            )
        async with aiohttp.ClientSession(base_url=stack.gateway_url, headers=KEY, timeout=timeout) as http:
            via_flash = await claims_through_gateway(
                stack, http, f"flash claim {gateway}", member_ids, flash, concurrency, client
            )
            via_flash = await relayed(client, stack.namespace, via_flash)

            async def full_claims() -> ClaimRun:
                return await claims_through_gateway(
                    stack, http, f"claim {gateway}", member_ids, total, concurrency, client
                )

            via_full, claim_drain = await relay.measure_drain(
                f"outbox drain of the {total:,}-claim run's coupon_issued events",
                service_db,
                topic,
                full_claims,
                lambda run: run.issued,
                SETTLE_SECONDS,
                last_write_of=lambda run: run.answered_at,
            )
            via_full = replace(
                via_full,
                unrelayed=claim_drain.backlog_at_last_write,
                relayed_after_s=None
                if claim_drain.in_kafka_s is None
                else claim_drain.in_kafka_s - claim_drain.writes_s,
                still_unrelayed=claim_drain.left,
            )
        await settle(client, stack.namespace, f"after {via_full.result.name}")
        burst = f"outbox drain of {BURST_EVENTS:,} coupon documents inserted at once"
        with cpu.track(pids) as burst_cpu:
            _, burst_drain = await relay.measure_drain(
                burst,
                service_db,
                topic,
                lambda: raw_burst(service_db, member_ids, BURST_EVENTS, topic),
                lambda n: n,
                SETTLE_SECONDS,
            )
        await settle(client, stack.namespace, "after the raw outbox burst")
        backlog = await relay.measure_backlog(
            f"outbox drain of {BURST_EVENTS:,} coupon documents written while the relay was held off",
            service_db,
            topic,
            lambda: raw_burst(service_db, member_ids, BURST_EVENTS, topic),
            SETTLE_SECONDS,
        )
        await settle(client, stack.namespace, "after the held-off backlog")  # before the next suite
    finally:
        await client.drop_database(scratch)
        await client.close()
    rows = report([(via_full, direct_full), (via_flash, direct_flash)], total, concurrency, bare)
    for drain in (claim_drain, burst_drain):
        console.print(drain.line())
        rows.append(asdict(drain) | {"rate": drain.rate, "tail_rate": drain.tail_rate})
    console.print(burst_cpu.line(burst))
    console.print(backlog.line())
    rows.append(asdict(backlog) | {"rate": backlog.rate})
    return Claims(
        (via_full, direct_full),
        (via_flash, direct_flash),
        bare,
        claim_drain,
        burst_drain,
        backlog,
        concurrency,
        rows,
    )


def report(
    pairs: list[tuple[ClaimRun, ClaimRun]], total: int, concurrency: int, bare: load.Result | None
) -> list[dict[str, Any]]:
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
    if bare is not None:
        table.add_row(
            bare.name, f"{bare.rate:,.0f}", f"{bare.p50_ms:.2f}", f"{bare.p99_ms:.2f}", str(bare.errors)
        )
        rows.append(asdict(bare) | {"rate": bare.rate, "concurrency": concurrency})
    console.print(table)
    for run in (run for pair in pairs for run in pair if run.cpu):
        console.print(run.cpu)
    for run in (run for pair in pairs for run in pair if run.first_error):
        console.print(f"{run.result.name}: {run.result.errors} failed, the first with: {run.first_error}")
    for via, direct in pairs:
        v, d = via.result, direct.result
        relayed = (
            f"all relayed {via.relayed_after_s:.0f} s later"
            if via.relayed_after_s is not None
            else f"{via.still_unrelayed:,} still not in Kafka {SETTLE_SECONDS:.0f} s later"
        )
        console.print(
            f"{v.name} / direct: throughput {v.rate / d.rate:.2f} ({v.rate:,.0f} vs {d.rate:,.0f} req/s), "
            f"p50 {v.p50_ms / d.p50_ms:.2f} ({v.p50_ms:.2f} vs {d.p50_ms:.2f} ms); "
            f"issued {via.issued:,} of stock {via.stock:,}, {via.sold_out:,} sold out; "
            f"documents with unrelayed events at the last answer: {via.unrelayed:,} ({relayed})"
        )
    return rows


def main() -> None:
    """The coupon claims alone, on a platform of their own (`python -m bench.coupons`)."""
    from bench import goals
    from bench.__main__ import bench_stack, finish, start_baselines, stop_baselines

    stack = bench_stack()
    baselines, _, bare_grpc = start_baselines()
    try:
        stack.start_all()
        if stack.replicas:
            console.print(f"replicas: {', '.join(f'{n}={c}' for n, c in stack.replicas.items())}")
        claims = asyncio.run(suite(stack, bare_grpc))
        goals.show([goals.claims(claims), goals.outbox(claims.burst_drain)])
    finally:
        finish(stack)
        stop_baselines(baselines)


if __name__ == "__main__":
    main()
