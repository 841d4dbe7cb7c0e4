"""The performance goals, each judged on ratios measured in the same run (never a bare time).

- claim through the gateway >= 0.6 x min(bare FastAPI -> gRPC hop, the claim's writes done
  directly), both at the claims' concurrency (64 clients by default);
- RecordPurchase through the gateway >= 0.5 x its writes done directly;
- outbox drain >= 1,000 events/s, written to the store -> in Kafka, on a burst;
- a member read with 1,000,000 members stored within 1.5 x of one with 1,000 (p50 and
  throughput, through the gateway).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from bench import load
from bench.relay import Drain

if TYPE_CHECKING:
    from bench.coupons import Claims

console = load.console
OUTBOX_EVENTS_PER_S = 1000.0


@dataclass(frozen=True)
class Goal:
    name: str
    measured: str
    met: bool

    def line(self) -> str:
        verdict = "[green]MET[/]" if self.met else "[red]NOT MET[/]"
        return f"{self.name}: {self.measured} -> {verdict}"


def claims(c: Claims) -> Goal:
    via, direct = c.full[0].result, c.full[1].result
    name = f"claim via gateway >= 0.6 x min(bare FastAPI->gRPC, claim writes direct), {c.concurrency} clients"
    if c.bare_grpc is None:
        return Goal(name, "bare FastAPI->gRPC not measured", False)
    floor = min(c.bare_grpc.rate, direct.rate)
    ratio = via.rate / floor
    return Goal(
        name,
        f"{ratio:.2f} ({via.rate:,.0f} req/s vs min({c.bare_grpc.rate:,.0f}, {direct.rate:,.0f}))",
        ratio >= 0.6,
    )


def purchases(via: load.Result, direct: load.Result) -> Goal:
    ratio = via.rate / direct.rate
    return Goal(
        "RecordPurchase via gateway >= 0.5 x its writes direct",
        f"{ratio:.2f} ({via.rate:,.0f} vs {direct.rate:,.0f} req/s)",
        ratio >= 0.5,
    )


def outbox(drain: Drain) -> Goal:
    ratio = drain.rate / OUTBOX_EVENTS_PER_S
    return Goal(
        "outbox drain >= 1,000 events/s (store -> Kafka, raw burst)",
        f"{ratio:.2f} ({drain.rate:,.0f} events/s, {drain.events:,} events)",
        ratio >= 1.0,
    )


def member_read(
    small: load.Result,
    large: load.Result,
    small_n: int,
    large_n: int,
    bare_then: load.Result | None = None,
    controls: list[load.Result] | None = None,
) -> Goal:
    """Judged through the gateway. `controls` (the bare hop again, a direct read of a 1,000-member
    scratch database, and the direct read at `large_n`, all measured beside the large read) say
    how much of a change is the machine's (other load on shared cores), not the collection's."""
    p50 = large.p50_ms / small.p50_ms
    rate = small.rate / large.rate
    measured = (
        f"p50 x{p50:.2f} ({large.p50_ms:.2f} vs {small.p50_ms:.2f} ms), "
        f"throughput /{rate:.2f} ({large.rate:,.0f} vs {small.rate:,.0f} req/s)"
    )
    if bare_then is not None and controls:
        bare_now, small_now, large_direct = controls
        drift, store = bare_now.rate / bare_then.rate, large_direct.p50_ms / small_now.p50_ms
        measured += (
            f"; beside it, bare FastAPI->gRPC ran at x{drift:.2f} of its first throughput, "
            f"and a direct read at {large_n:,} took x{store:.2f} the p50 of one at {small_n:,}"
        )
    return Goal(
        f"member read at {large_n:,} members within 1.5x of {small_n:,} (p50, throughput)",
        measured,
        p50 <= 1.5 and rate <= 1.5,
    )


def show(goals: list[Goal]) -> list[dict[str, Any]]:
    console.print("[bold]Goals[/] (ratios from this run):")
    for g in goals:
        console.print(f"  {g.line()}")
    return [asdict(g) | {"goal": True} for g in goals]
