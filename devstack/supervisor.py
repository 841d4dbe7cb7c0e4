"""Keep child processes running, like docker compose's `restart: unless-stopped`.

A process that exits (crash, SIGKILL, even exit 0) is started again after a delay that doubles
on each quick death, up to a cap, and falls back to the first delay once the process has stayed
up long enough: a crash loop does not spin, and a rare crash is mended in a second. The others
are never touched. The caller polls (`poll()` or `run()`), so there are no threads to stop:
`run(until=...)` returns once a stop is requested (devstack.stopping) and the caller stops
everything.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from devstack.managed import ManagedProcess


@dataclass(frozen=True)
class Restart:
    """A death noticed and the restart it scheduled."""

    name: str
    exit_code: int | None
    delay: float

    def describe(self) -> str:
        return f"{self.name} exited ({exit_description(self.exit_code)}); restarting in {self.delay:g} s"


def exit_description(code: int | None) -> str:
    """`exit code 3`, or `killed by SIGKILL` (Popen reports a signal as a negative code)."""
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass
class _Watch:
    process: ManagedProcess
    delay: float
    started_at: float
    restart_at: float | None = None  # set while dead and waiting


class Supervisor:
    """Restarts the given (already started) processes when they die, with exponential back-off."""

    def __init__(
        self,
        processes: Iterable[ManagedProcess],
        *,
        first_delay: float = 1.0,
        max_delay: float = 30.0,
        stable_after: float = 30.0,
        on_restart: Callable[[Restart], None] = lambda restart: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.first_delay, self.max_delay, self.stable_after = first_delay, max_delay, stable_after
        self.on_restart = on_restart
        self.clock = clock
        now = clock()
        self._watches = [_Watch(p, first_delay, now) for p in processes]
        self.restarts: list[Restart] = []

    def poll(self) -> list[Restart]:
        """One pass: schedule a restart for each new death, start those that are due."""
        now = self.clock()
        noticed = []
        for w in self._watches:
            if w.process.alive:
                if now - w.started_at >= self.stable_after:
                    w.delay = self.first_delay
            elif w.restart_at is None:
                noticed.append(self._schedule(w, now))
            elif now >= w.restart_at:
                w.process.start()
                w.started_at, w.restart_at = now, None
        return noticed

    def run(self, interval: float = 0.5, until: Callable[[], bool] = lambda: False) -> None:
        """Poll every `interval` until `until()` is true (checked before each pass)."""
        while not until():
            self.poll()
            time.sleep(interval)

    def _schedule(self, w: _Watch, now: float) -> Restart:
        proc = w.process.proc
        restart = Restart(w.process.name, proc.returncode if proc else None, w.delay)
        w.restart_at = now + w.delay
        w.delay = min(w.delay * 2, self.max_delay)
        self.restarts.append(restart)
        _note_in_log(w.process, restart)
        self.on_restart(restart)
        return restart


def _note_in_log(process: ManagedProcess, restart: Restart) -> None:
    """A JSON line like the services' own, so the log shows why the process started again."""
    line = {
        "event": "process exited; devstack restarts it",
        "exit_code": restart.exit_code,
        "restart_in_seconds": restart.delay,
        "logger": "devstack.supervisor",
        "level": "warning",
        "timestamp": datetime.now(UTC).isoformat(),
    }
    process.log_path.parent.mkdir(parents=True, exist_ok=True)
    with process.log_path.open("a", encoding="utf-8") as log:
        log.write(json.dumps(line) + "\n")
