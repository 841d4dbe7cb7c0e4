"""Token buckets per caller, in the gateway process.

Each replica limits on its own, so N replicas allow up to N times the rate; that keeps the
hot path free of a database round trip. Headers follow the IETF RateLimit fields draft.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until the bucket is full again
    retry_after_seconds: int  # until one more request is allowed (0 when allowed)

    def headers(self) -> dict[str, str]:
        h = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            h["Retry-After"] = str(self.retry_after_seconds)
        return h


class TokenBuckets:
    """`rate` tokens per second up to `burst`, one bucket per key; least recently used evicted."""

    def __init__(
        self,
        rate: float,
        burst: int,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = rate
        self._burst = burst
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def take(self, key: str) -> Decision:
        now = self._clock()
        tokens, at = self._buckets.pop(key, (float(self._burst), now))
        tokens = min(float(self._burst), tokens + (now - at) * self._rate)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return Decision(
            allowed=allowed,
            limit=self._burst,
            remaining=int(tokens),
            reset_seconds=math.ceil((self._burst - tokens) / self._rate),
            retry_after_seconds=0 if allowed else max(1, math.ceil((1.0 - tokens) / self._rate)),
        )
