"""`python -m devstack up` (what `make run` runs) stops everything it started on a stop signal.

SIGINT or SIGTERM, once or twice, sent to devstack or to its whole process group, and also while
it is still starting. Twice is what `kill -TERM -<pgid>` does to `make run`: devstack gets the
group's SIGTERM and make passes its own on. Each case runs the real CLI in a process group of its
own, on free ports and in a namespace of its own, and watches the pids of its children (each
leads a session of its own, so the group's signal never reaches them: devstack must stop them).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack.processes import ROOT, SERVICES
from tests.support import fresh_namespace, server_urls

START_TIMEOUT = 150.0  # four services and the gateway on a busy two-core machine
STOP_TIMEOUT = 90.0  # devstack gives each process 10 s to drain before it kills it
READY = "Regulars is running"
EVERY_PROCESS = sorted(["gateway", *(f"services.{name}" for name in SERVICES)])


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from field 3 (state) on; the name before it may hold spaces."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


@dataclass(frozen=True)
class Child:
    pid: int
    started: str  # start time in clock ticks: a reused pid has another
    name: str  # what follows `python -m`

    @property
    def alive(self) -> bool:
        stat = _stat(self.pid)
        return stat is not None and stat[0] != "Z" and stat[19] == self.started


def children_of(parent: int) -> list[Child]:
    found = []
    for entry in Path("/proc").iterdir():
        stat = _stat(int(entry.name)) if entry.name.isdigit() else None
        if stat is not None and int(stat[1]) == parent:
            with suppress(OSError):
                args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
                found.append(Child(int(entry.name), stat[19], args[2] if len(args) > 2 else args[0]))
    return found


class Devstack:
    """`python -m devstack up --free-ports` in a session (so a process group) of its own."""

    def __init__(self, tmp_path: Path) -> None:
        mongodb, kafka = server_urls()
        self.output = tmp_path / "devstack.out"
        self.namespace = fresh_namespace()
        env = os.environ | {
            "MONGODB_URL": mongodb,
            "KAFKA_BOOTSTRAP_SERVERS": kafka,
            "REGULARS_NAMESPACE": self.namespace,
            "PYTHONUNBUFFERED": "1",
        }
        with self.output.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "devstack", "up", "--free-ports"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.children: dict[int, Child] = {}

    def said(self) -> str:
        return self.output.read_text(errors="replace")

    def ready(self) -> bool:
        if READY in self.said():
            return True
        if self.proc.poll() is not None:
            pytest.fail(f"devstack exited ({self.proc.returncode}) while starting:\n{self.said()}")
        return False

    def service_log(self, service: str) -> str:
        return (ROOT / "var" / "log" / f"{self.namespace}{service}.log").read_text(errors="replace")

    def note_children(self) -> list[Child]:
        """Every child seen so far, dead or alive (a restarted one is a new child).

        The latest sighting wins: one seen between fork and exec still bears devstack's name.
        """
        if self.proc.poll() is None:
            for child in children_of(self.proc.pid):
                self.children[child.pid] = child
        return list(self.children.values())

    def wait_for(self, done: Callable[[], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            self.note_children()
            if time.monotonic() > deadline:
                running = sorted(c.name for c in self.children.values() if c.alive)
                said = self.said()
                pytest.fail(
                    f"{what}: not within {timeout:.0f} s; still running {running}; devstack said:\n{said}"
                )
            time.sleep(0.1)

    def send(self, sig: signal.Signals, target: str) -> None:
        with suppress(ProcessLookupError):
            if target == "group":
                os.killpg(self.proc.pid, sig)
            else:
                self.proc.send_signal(sig)

    def kill_everything(self) -> None:
        """Whatever the outcome: SIGKILL devstack's group and each child's (children lead their own)."""
        self.note_children()
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        for child in self.children.values():
            if child.alive:
                with suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


@pytest.fixture
def devstack(tmp_path: Path) -> Iterator[Devstack]:
    stack = Devstack(tmp_path)
    try:
        yield stack
    finally:
        stack.kill_everything()


def assert_all_stopped(devstack: Devstack) -> None:
    devstack.wait_for(
        lambda: not any(c.alive for c in devstack.children.values()), "every child stopped", STOP_TIMEOUT
    )
    devstack.wait_for(lambda: devstack.proc.poll() is not None, "devstack exited", STOP_TIMEOUT)
    assert devstack.proc.returncode == 0, devstack.said()


@pytest.mark.timeout(START_TIMEOUT + 2 * STOP_TIMEOUT + 30)
@pytest.mark.parametrize(
    ("sig", "targets"),
    [
        (signal.SIGTERM, ["group"]),
        (signal.SIGTERM, ["group", "process"]),  # `kill -TERM -<pgid>` on `make run`
        (signal.SIGINT, ["group", "group"]),  # Ctrl-C, and again while it stops
        (signal.SIGINT, ["process", "process"]),
    ],
    ids=["sigterm-group", "sigterm-group-then-process", "sigint-group-twice", "sigint-process-twice"],
)
def test_a_stop_signal_once_or_twice_stops_every_process_devstack_started(
    devstack: Devstack, sig: signal.Signals, targets: list[str]
) -> None:
    devstack.wait_for(devstack.ready, "the platform started", START_TIMEOUT)
    started = devstack.note_children()
    assert sorted(c.name for c in started) == EVERY_PROCESS

    devstack.send(sig, targets[0])
    if len(targets) == 2:  # the second while it stops: once the gateway (stopped first) is gone
        gateway = next(c for c in started if c.name == "gateway")
        devstack.wait_for(lambda: not gateway.alive, "the gateway stopped", STOP_TIMEOUT)
        devstack.send(sig, targets[1])

    assert_all_stopped(devstack)
    for service in SERVICES:  # each was sent one SIGTERM and drained, not killed after 10 s
        assert "service stopped" in devstack.service_log(service), service


@pytest.mark.timeout(START_TIMEOUT + 2 * STOP_TIMEOUT + 30)
def test_sigterm_while_it_is_still_starting_stops_what_it_had_started(devstack: Devstack) -> None:
    devstack.wait_for(
        lambda: len(devstack.note_children()) >= len(SERVICES), "the services launched", START_TIMEOUT
    )

    devstack.send(signal.SIGTERM, "process")

    assert_all_stopped(devstack)
    assert READY not in devstack.said()
