"""One child process with its log file, and free local ports for them."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_ports(count: int, taken: Iterable[int] = ()) -> list[int]:
    """`count` free ports, distinct from each other and from `taken`."""
    chosen: list[int] = []
    avoid = set(taken)
    while len(chosen) < count:
        port = free_port()
        if port not in avoid:
            chosen.append(port)
            avoid.add(port)
    return chosen


@dataclass
class ManagedProcess:
    """One child process with its log file."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.args,
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self) -> None:
        """SIGTERM without waiting, so that several processes drain at the same time."""
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (graceful), then SIGKILL if it does not exit in time."""
        stop_together([self], timeout)

    def kill(self) -> None:
        """SIGKILL: no clean-up, as when a machine dies."""
        if self.alive:
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def stop_together(processes: Iterable[ManagedProcess], timeout: float = 10.0) -> None:
    """SIGTERM each (once: a second one makes uvicorn skip its drain), then SIGKILL the late ones."""
    running = [p for p in processes if p.alive]
    for p in running:
        p.terminate()
    deadline = time.monotonic() + timeout
    for p in running:
        assert p.proc is not None
        try:
            p.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
