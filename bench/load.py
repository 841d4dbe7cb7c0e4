"""A small closed-loop HTTP load generator (aiohttp keep-alive connections: cheap per request,
so the generator takes as little of the shared cores as it can)."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from pymongo.errors import PyMongoError
from rich.console import Console

# Wide enough for the tables when the output goes to a file or a pipe (rich's default is 80).
console = Console(width=None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "150")))

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

    return summary(name, latencies, errors, elapsed)


def summary(name: str, latencies: list[float], errors: int, seconds: float) -> Result:
    """A run's figures from its latencies (seconds, any order)."""
    ordered = sorted(latencies)
    return Result(
        name=name,
        requests=len(ordered),
        errors=errors,
        seconds=seconds,
        p50_ms=statistics.median(ordered) * 1000 if ordered else 0.0,
        p99_ms=ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000 if ordered else 0.0,
    )


async def drive(
    name: str, operation: Callable[[int], Awaitable[object]], total: int, concurrency: int
) -> tuple[Result, str]:
    """`total` calls of `operation(i)` (database work done directly), `concurrency` at a time.

    Measured as `run` measures requests; a call that raises a store error counts as a failed
    request (e.g. the store too busy). Returns the result and the first such error.
    """
    latencies: list[float] = []
    errors = 0
    first_error = ""
    counter = iter(range(total))

    async def worker() -> None:
        nonlocal errors, first_error
        for i in counter:
            started = time.perf_counter()
            try:
                await operation(i)
            except PyMongoError as exc:
                errors += 1
                first_error = first_error or str(exc)[:200]
            latencies.append(time.perf_counter() - started)

    begin = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return summary(name, latencies, errors, time.perf_counter() - begin), first_error
