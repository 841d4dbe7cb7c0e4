"""`make bench`: enrolment and member reads against bare FastAPI/gRPC baselines; coupon claims
(BENCH_CLAIMS at BENCH_CLAIM_CONCURRENCY clients) and RecordPurchase against the same work direct
on the database; the outbox drain rate; segment preview (BENCH_SEGMENT_MEMBERS, default 20,000)
against the same query direct; and a member read with BENCH_READ_MEMBERS (default 1,000,000)
members stored beside one with 1,000. BENCH_REPLICAS (`members=2,coupons=2`) runs
several processes of a service, as devstack's `--replicas` does.

Prints requests/s and latency for each path and its ratio to the baselines measured in the same
run on the same machine (figures alone mean little on shared, noisy machines), then the goals,
each judged on such a ratio (bench/goals.py). Results also go to bench/results/<timestamp>.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, replace
from typing import Any

import httpx
from pymongo import AsyncMongoClient
from rich.table import Table

from bench import coupons, cpu, goals, load, members
from chassis import outbox
from chassis.mongo import ensure_indexes
from devstack.processes import ROOT, SERVICES, Stack, free_port, parse_replicas

console = load.console
TOTAL = int(os.environ.get("BENCH_REQUESTS", "3000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))
KEY = {"Authorization": "Bearer bench-key"}
PURCHASES = int(os.environ.get("BENCH_PURCHASES", "2000"))
# Not a million by default: FerretDB v1 evaluates a segment's filter (no index answers it) over
# the whole collection; at 1,000,000 members its memory kept growing (past 13 GB in all) and the
# preview had not answered after 9 minutes.
AUDIENCE = int(os.environ.get("BENCH_SEGMENT_MEMBERS", "20000"))
PURCHASE_CONCURRENCY = int(os.environ.get("BENCH_PURCHASE_CONCURRENCY", "8"))  # tills, not a flash sale
READ_MEMBERS = int(os.environ.get("BENCH_READ_MEMBERS", "1000000"))
SMALL_READ_MEMBERS = 1000
REPLICAS = parse_replicas(os.environ.get("BENCH_REPLICAS", ""))
KEEP_DATA = bool(os.environ.get("BENCH_KEEP_DATA"))  # else the run's databases are dropped at the end


def start_baseline(*args: str) -> subprocess.Popen[bytes]:
    env = os.environ | {"PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'gen' / 'python'}"}
    return subprocess.Popen([sys.executable, "-m", "bench.baselines", *args], env=env, cwd=ROOT)


def wait_http(url: str) -> None:
    for _ in range(100):
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def start_baselines() -> tuple[list[subprocess.Popen[bytes]], str, str]:
    """Bare FastAPI, a gRPC echo server and FastAPI calling it; their processes and URLs."""
    bare_port, echo_port, bare_grpc_port = free_port(), free_port(), free_port()
    procs = [
        start_baseline("http", str(bare_port)),
        start_baseline("grpc", str(echo_port)),
        start_baseline("http-grpc", str(bare_grpc_port), str(echo_port)),
    ]
    bare, bare_grpc = f"http://127.0.0.1:{bare_port}", f"http://127.0.0.1:{bare_grpc_port}"
    try:
        wait_http(f"{bare}/ping")
        wait_http(f"{bare_grpc}/echo")
    except RuntimeError:
        stop_baselines(procs)
        raise
    return procs, bare, bare_grpc


def stop_baselines(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
        p.wait()


def members_db(stack: Stack) -> tuple[AsyncMongoClient[dict[str, Any]], Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(os.environ["MONGODB_URL"], tz_aware=True)
    return client, client[f"{stack.namespace}regulars_members"]


async def measure(stack: Stack, bare: str, bare_grpc: str) -> tuple[list[load.Result], list[load.Result]]:
    """The first table's rows, and the member reads with SMALL_READ_MEMBERS stored (via, direct)."""
    run = load.run
    results = [
        await run("bare FastAPI GET /ping", bare, lambda i: ("GET", "/ping", None), TOTAL, CONCURRENCY),
        await run(
            "bare FastAPI -> gRPC echo", bare_grpc, lambda i: ("GET", "/echo", None), TOTAL, CONCURRENCY
        ),
    ]
    # Reads first, while the members collection holds exactly the generated 1,000.
    client, db = members_db(stack)
    await members.seed_audience(db, SMALL_READ_MEMBERS)
    reads = list(await members.member_reads(stack, db, SMALL_READ_MEMBERS, TOTAL, CONCURRENCY))
    await client.close()
    prefix = f"+86139{int(time.time()) % 10_000:04d}"
    enrol = await run(
        "POST /v1/members (enrol)",
        stack.gateway_url,
        lambda i: ("POST", "/v1/members", {"phone": f"{prefix}{i:04d}", "name": "Bench"}),
        min(TOTAL, 9999),
        CONCURRENCY,
        KEY,
    )
    return [*results, enrol, *reads], reads


def report(results: list[load.Result]) -> None:
    bare, bare_grpc = results[0], results[1]
    table = Table(title=f"{TOTAL} requests, {CONCURRENCY} connections, load generator on the same cores")
    for col in ("path", "req/s", "p50 ms", "p99 ms", "errors", "vs bare", "vs bare+gRPC"):
        table.add_column(col, justify="left" if col == "path" else "right")
    for r in results:
        table.add_row(
            r.name,
            f"{r.rate:,.0f}",
            f"{r.p50_ms:.2f}",
            f"{r.p99_ms:.2f}",
            str(r.errors),
            f"{r.rate / bare.rate:.2f}",
            f"{r.rate / bare_grpc.rate:.2f}",
        )
    console.print(table)


def rows_of(results: list[load.Result], **extra: Any) -> list[dict[str, Any]]:
    return [asdict(r) | {"rate": r.rate} | extra for r in results]


def write_results(rows: list[dict[str, Any]]) -> None:
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(rows, indent=2, default=str))
    console.print(f"written to {path.relative_to(ROOT)}")


async def purchases(stack: Stack, member_ids: list[str]) -> tuple[load.Result, load.Result]:
    """RecordPurchase through the gateway, and its writes direct on a scratch database that has
    the members service's indexes and a copy of the same members, taken before either run."""
    from services.members.adapters.events import TOPIC
    from services.members.bootstrap import INDEXES

    client, db = members_db(stack)
    scratch_name = f"{stack.namespace}bench_members_direct"
    scratch = client[scratch_name]
    pending = {name: [outbox.EMBEDDED_INDEX] for name in ("members", "purchases")}
    await ensure_indexes(
        scratch, {n: [*INDEXES.get(n, []), *pending.get(n, [])] for n in {*INDEXES, *pending}}
    )
    await scratch["members"].insert_many(await db["members"].find({"_id": {"$in": member_ids}}).to_list())
    pids = cpu.watched(stack)
    try:
        with cpu.track(pids) as via_cpu:
            via = await members.purchases_through_gateway(stack, member_ids, PURCHASES, PURCHASE_CONCURRENCY)
        with cpu.track(pids) as direct_cpu:
            direct = await members.purchases_direct(
                scratch, member_ids, PURCHASES, PURCHASE_CONCURRENCY, f"{stack.namespace}{TOPIC}"
            )
    finally:
        await client.drop_database(scratch_name)
        await client.close()
    table = Table(
        title=f"RecordPurchase: {PURCHASES} purchases over 200 members, {PURCHASE_CONCURRENCY} in flight"
    )
    for col in ("path", "req/s", "p50 ms", "p99 ms", "errors", "vs direct"):
        table.add_column(col, justify="left" if col == "path" else "right")
    for r in (via, direct):
        table.add_row(
            r.name,
            f"{r.rate:,.0f}",
            f"{r.p50_ms:.2f}",
            f"{r.p99_ms:.2f}",
            str(r.errors),
            f"{r.rate / direct.rate:.2f}",
        )
    console.print(table)
    console.print(via_cpu.line(via.name))
    console.print(direct_cpu.line(direct.name))
    return via, direct


async def large_reads(
    stack: Stack, small: list[load.Result], bare_grpc: str, bare_then: load.Result
) -> tuple[list[load.Result], list[load.Result]]:
    """The member reads again once READ_MEMBERS generated members are stored; prints both sizes
    and two controls measured now, for a machine whose load changed since the first reads:
    the bare FastAPI -> gRPC hop again, and the direct read on a scratch 1,000-member database.
    Returns the reads at READ_MEMBERS (via, direct) and the controls (bare, direct 1,000)."""
    from services.members.adapters.mongo import INDEXES

    client, db = members_db(stack)
    started, had = time.perf_counter(), await members.generated(db)
    await members.seed_audience(db, READ_MEMBERS)
    console.print(
        f"{max(0, READ_MEMBERS - had):,} more generated members seeded directly (insert_many of "
        f"5,000) in {time.perf_counter() - started:.0f} s: {max(had, READ_MEMBERS):,} stored"
    )
    scratch = client[f"{stack.namespace}bench_members_small"]
    await ensure_indexes(scratch, INDEXES)
    await members.seed_audience(scratch, SMALL_READ_MEMBERS)
    with cpu.track(cpu.watched(stack)) as usage:
        large = list(await members.member_reads(stack, db, READ_MEMBERS, TOTAL, CONCURRENCY))
    bare_now = await load.run(
        "control: bare FastAPI -> gRPC echo, again now",
        bare_grpc,
        lambda i: ("GET", "/echo", None),
        TOTAL,
        CONCURRENCY,
    )
    small_now = await members.direct_reads(scratch, SMALL_READ_MEMBERS, TOTAL, CONCURRENCY)
    small_now = replace(small_now, name=f"control: {small_now.name} (scratch database, now)")
    await client.close()
    table = Table(
        title=f"Member read by id, random ids among the generated members, {TOTAL} reads, "
        f"{CONCURRENCY} in flight"
    )
    for col in ("path", "req/s", "p50 ms", "p99 ms", "errors", "p50 vs first", "req/s vs first"):
        table.add_column(col, justify="left" if col == "path" else "right")
    rows = [*small, *large, bare_now, small_now]
    firsts = [*small, *small, bare_then, small[1]]
    for r, base in zip(rows, firsts, strict=True):
        table.add_row(
            r.name,
            f"{r.rate:,.0f}",
            f"{r.p50_ms:.2f}",
            f"{r.p99_ms:.2f}",
            str(r.errors),
            f"{r.p50_ms / base.p50_ms:.2f}",
            f"{r.rate / base.rate:.2f}",
        )
    console.print(table)
    console.print(usage.line(f"both reads at {READ_MEMBERS:,}"))
    return large, [bare_now, small_now]


async def segments(stack: Stack) -> dict[str, Any]:
    gateway_s, direct_s, gateway_count, direct_count, audience = await members.segment_preview(
        stack, os.environ["MONGODB_URL"], AUDIENCE
    )
    console.print(
        f"Segment preview on {audience:,} generated members: gateway {gateway_s:.2f} s "
        f"(count {gateway_count:,}), direct count+sample {direct_s:.2f} s (count {direct_count:,}); "
        f"ratio {gateway_s / direct_s:.2f}"
    )
    return {
        "name": "segment preview",
        "audience": audience,
        "gateway_s": gateway_s,
        "direct_s": direct_s,
        "gateway_count": gateway_count,
        "direct_count": direct_count,
    }


async def drop_namespace(namespace: str) -> None:
    """Drop the run's databases (a million generated members is a gigabyte on FerretDB)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(os.environ["MONGODB_URL"])
    try:
        for name in await client.list_database_names():
            if name.startswith(namespace):
                await client.drop_database(name)
    finally:
        await client.close()


def finish(stack: Stack) -> None:
    """Stop the platform, then drop its databases unless BENCH_KEEP_DATA is set."""
    stack.stop_all()
    if KEEP_DATA:
        console.print(f"[dim]databases {stack.namespace}* kept (BENCH_KEEP_DATA)[/]")
    else:
        asyncio.run(drop_namespace(stack.namespace))


def bench_stack() -> Stack:
    """The platform under test, in a namespace of its own, on free ports."""
    ports = {name: free_port() for name in [*SERVICES, "gateway"]}
    return Stack(
        mongodb_url=os.environ["MONGODB_URL"],
        kafka_bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        namespace=f"bench{int(time.time())}_",
        ports=ports,
        api_keys={"bench-key": "bench"},
        # Measure the platform, not the rate limiter; and let slow store writes finish.
        gateway_env={
            "RATE_LIMIT_PER_SECOND": "1000000",
            "RATE_LIMIT_BURST": "1000000",
            "GRPC_TIMEOUT_SECONDS": "30",
        },
        replicas=REPLICAS,
    )


def main() -> None:
    stack = bench_stack()
    baselines, bare, bare_grpc = start_baselines()
    rows: list[dict[str, Any]] = []
    try:
        stack.start_all()
        if REPLICAS:
            console.print(f"replicas: {', '.join(f'{n}={c}' for n, c in REPLICAS.items())}")
        results, small_reads = asyncio.run(measure(stack, bare, bare_grpc))
        report(results)
        rows += rows_of(results)
        claims = asyncio.run(coupons.suite(stack, bare_grpc))
        rows += claims.rows
        member_ids = asyncio.run(members.enrol_members(stack, 200))
        via, direct = asyncio.run(purchases(stack, member_ids))
        rows += rows_of([via, direct], suite="purchases")
        # Before the million is seeded: the preview's filter is counted over the whole collection.
        rows.append(asyncio.run(segments(stack)))
        large_reads_, controls = asyncio.run(large_reads(stack, small_reads, bare_grpc, results[1]))
        rows += rows_of([*large_reads_, *controls], suite="member reads")
        rows += goals.show(
            [
                goals.claims(claims),
                goals.purchases(via, direct),
                goals.outbox(claims.burst_drain),
                goals.member_read(
                    small_reads[0],
                    large_reads_[0],
                    SMALL_READ_MEMBERS,
                    READ_MEMBERS,
                    results[1],
                    [*controls, large_reads_[1]],
                ),
            ]
        )
    finally:
        if rows:
            write_results(rows)
        finish(stack)
        stop_baselines(baselines)


if __name__ == "__main__":
    main()
