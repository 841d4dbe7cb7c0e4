"""A small closed-loop HTTP load generator (aiohttp keep-alive connections: cheap per request,
so the generator takes as little of the shared cores as it can)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

RequestFactory = Callable[[int], tuple[str, str, dict[str, object] | None]]


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


async def run(
    name: str,
    base_url: str,
    make: RequestFactory,
    total: int,
    concurrency: int,
    headers: dict[str, str] | None = None,
) -> Result:
    """Send `total` requests over `concurrency` connections; each worker waits for its answer."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=120)  # slow answers are measured, not dropped
    async with aiohttp.ClientSession(
        base_url=base_url, connector=connector, headers=headers, timeout=timeout
    ) as client:

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                method, path, body = make(i)
                started = time.perf_counter()
                async with client.request(method, path, json=body) as r:
                    await r.read()
                latencies.append(time.perf_counter() - started)
                if r.status >= 400:
                    errors += 1

        begin = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - begin

    latencies.sort()
    return Result(
        name=name,
        requests=total,
        errors=errors,
        seconds=elapsed,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99) - 1] * 1000,
    )
