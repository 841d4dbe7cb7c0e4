"""Where the CPU went during a run: each platform process, the store, Kafka, this load
generator, and everything else on the machine (other people's test runs on a shared box).

Read from /proc (Linux); elsewhere the figures are simply left out. On 2 cores a run that
is not bound by one process's CPU is usually bound by the sum: this says which.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from devstack.processes import Stack

PROC = Path("/proc")
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_seconds(pid: int) -> float | None:
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def _machine_busy_seconds() -> float | None:
    try:
        cpu = (PROC / "stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    values = [int(v) for v in cpu]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / TICK


def listener_pid(port: int) -> int | None:
    """The process listening on this local TCP port, if /proc shows it."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            rows = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{cols[9]}]")
    if not inodes:
        return None
    for pid_dir in PROC.iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            for fd in (pid_dir / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    return int(pid_dir.name)
        except OSError:
            continue
    return None


def watched(stack: Stack) -> dict[str, int]:
    """Name -> pid of the processes a run's CPU is split between."""
    pids = {p.name: p.proc.pid for p in stack.all_processes() if p.proc is not None and p.alive}
    pids["bench (load generator)"] = os.getpid()
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092").split(",")[0].rsplit(":", 1)[-1]
    for name, pid in (
        ("store (FerretDB)", store_pid()),
        ("kafka", listener_pid(int(kafka) if kafka.isdigit() else 9092)),
    ):
        if pid is not None:
            pids[name] = pid
    return pids


def store_pid() -> int | None:
    """The local store's process (the one listening on MONGODB_URL's port), if /proc shows it."""
    return listener_pid(urlparse(os.environ.get("MONGODB_URL", "")).port or 27017)


@dataclass
class Usage:
    """CPU seconds per process over a run, and the machine's."""

    seconds: float = 0.0
    per_process: dict[str, float] = field(default_factory=dict)
    machine: float | None = None

    def line(self, what: str) -> str:
        if self.machine is None or not self.per_process:
            return f"{what}: CPU use not available here"
        cores = os.cpu_count() or 1
        parts = sorted(self.per_process.items(), key=lambda kv: -kv[1])
        other = max(0.0, self.machine - sum(self.per_process.values()))
        shown = ", ".join(f"{name} {s:.1f}" for name, s in parts if s >= 0.05)
        return (
            f"{what}: CPU busy {self.machine:.1f} of {cores * self.seconds:.1f} core-s "
            f"({cores} cores x {self.seconds:.1f} s): {shown}, anything else on the machine {other:.1f}"
        )


@contextmanager
def track(pids: dict[str, int]) -> Iterator[Usage]:
    """CPU used by each of `pids` (and the whole machine) while the block runs."""
    usage = Usage()
    before = {name: _process_seconds(pid) for name, pid in pids.items()}
    machine_before, started = _machine_busy_seconds(), time.perf_counter()
    yield usage
    usage.seconds = time.perf_counter() - started
    for name, pid in pids.items():
        start, end = before[name], _process_seconds(pid)
        if start is not None and end is not None:
            usage.per_process[name] = end - start
    machine_after = _machine_busy_seconds()
    if machine_before is not None and machine_after is not None:
        usage.machine = machine_after - machine_before
