"""`make bench`: enrolment and member reads against bare FastAPI/gRPC baselines; coupon claims
(BENCH_CLAIMS at BENCH_CLAIM_CONCURRENCY clients), RecordPurchase and segment preview
(BENCH_SEGMENT_MEMBERS, default 1,000,000) against the same work direct on the database.

Prints requests/s and latency for each path and its ratio to the bare baselines measured in
the same run on the same machine (figures alone mean little on shared, noisy machines).
Results also go to bench/results/<timestamp>.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from bench import coupons, load, members
from devstack.processes import ROOT, SERVICES, Stack, free_port

console = Console()
TOTAL = int(os.environ.get("BENCH_REQUESTS", "3000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))
KEY = {"Authorization": "Bearer bench-key"}
PURCHASES = int(os.environ.get("BENCH_PURCHASES", "2000"))
AUDIENCE = int(os.environ.get("BENCH_SEGMENT_MEMBERS", "1000000"))
PURCHASE_CONCURRENCY = int(os.environ.get("BENCH_PURCHASE_CONCURRENCY", "8"))  # tills, not a flash sale


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


async def measure(stack: Stack, bare: str, bare_grpc: str) -> list[load.Result]:
    run = load.run
    results = [
        await run("bare FastAPI GET /ping", bare, lambda i: ("GET", "/ping", None), TOTAL, CONCURRENCY),
        await run(
            "bare FastAPI -> gRPC echo", bare_grpc, lambda i: ("GET", "/echo", None), TOTAL, CONCURRENCY
        ),
    ]
    prefix = f"+86139{int(time.time()) % 10_000:04d}"
    enrol = await run(
        "POST /v1/members (enrol)",
        stack.gateway_url,
        lambda i: ("POST", "/v1/members", {"phone": f"{prefix}{i:04d}", "name": "Bench"}),
        min(TOTAL, 9999),
        CONCURRENCY,
        KEY,
    )
    enrolled = await asyncio.to_thread(
        httpx.post,
        f"{stack.gateway_url}/v1/members",
        json={"phone": f"{prefix}0000", "name": "Bench"},
        headers=KEY,
    )
    member = enrolled.json()
    read = await run(
        "GET /v1/members/{id}",
        stack.gateway_url,
        lambda i: ("GET", f"/v1/members/{member['id']}", None),
        TOTAL,
        CONCURRENCY,
        KEY,
    )
    return [*results, enrol, read]


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


def write_results(results: list[load.Result], claims: list[dict[str, Any]]) -> None:
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{time.strftime('%Y%m%dT%H%M%S')}.json"
    rows = [asdict(r) | {"rate": r.rate} for r in results] + claims
    path.write_text(json.dumps(rows, indent=2))
    console.print(f"written to {path.relative_to(ROOT)}")


async def members_suite(stack: Stack) -> None:
    """RecordPurchase and segment preview, each against the same work direct on the database."""
    from pymongo import AsyncMongoClient

    member_ids = await members.enrol_members(stack, 200)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(os.environ["MONGODB_URL"], tz_aware=True)
    db = client[f"{stack.namespace}regulars_members"]
    via = await members.purchases_through_gateway(stack, member_ids, PURCHASES, PURCHASE_CONCURRENCY)
    direct = await members.purchases_direct(db, member_ids, PURCHASES, PURCHASE_CONCURRENCY)
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
    gateway_s, direct_s, gateway_count, direct_count = await members.segment_preview(
        stack, os.environ["MONGODB_URL"], AUDIENCE
    )
    console.print(
        f"Segment preview on {AUDIENCE:,} generated members: gateway {gateway_s:.2f} s "
        f"(count {gateway_count:,}), direct count+sample {direct_s:.2f} s (count {direct_count:,}); "
        f"ratio {gateway_s / direct_s:.2f}"
    )


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
    )


def main() -> None:
    stack = bench_stack()
    bare_port, echo_port, bare_grpc_port = free_port(), free_port(), free_port()
    baselines = [
        start_baseline("http", str(bare_port)),
        start_baseline("grpc", str(echo_port)),
        start_baseline("http-grpc", str(bare_grpc_port), str(echo_port)),
    ]
    try:
        stack.start_all()
        bare, bare_grpc = f"http://127.0.0.1:{bare_port}", f"http://127.0.0.1:{bare_grpc_port}"
        wait_http(f"{bare}/ping")
        wait_http(f"{bare_grpc}/echo")
        results = asyncio.run(measure(stack, bare, bare_grpc))
        report(results)
        claims: list[dict[str, Any]] = []
        try:
            # Before members_suite's generated audience: on FerretDB (SQLite) an _id lookup scans
            # the collection up to the document, so members stored after a million cost a million.
            claims = asyncio.run(coupons.suite(stack))
        finally:
            write_results(results, claims)
        asyncio.run(members_suite(stack))
    finally:
        stack.stop_all()
        for p in baselines:
            p.terminate()
            p.wait()


if __name__ == "__main__":
    main()
