"""The supervisor restarts real child processes that die, backing off, and leaves the others alone."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devstack.managed import ManagedProcess
from devstack.supervisor import Supervisor


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[[str, str], ManagedProcess]]:
    """Start `python -c <code>` as a ManagedProcess logging to tmp_path; all are killed afterwards."""
    started: list[ManagedProcess] = []

    def start(name: str, code: str) -> ManagedProcess:
        p = ManagedProcess(name, [sys.executable, "-c", code], dict(os.environ), tmp_path / f"{name}.log")
        p.start()
        started.append(p)
        return p

    yield start
    for p in started:
        p.kill()


def poll_until(supervisor: Supervisor, done: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"not done in {timeout} s: {supervisor.restarts}"
        supervisor.poll()
        time.sleep(0.01)


CRASHER = "print('crasher running', flush=True); import sys; sys.exit(3)"
SLEEPER = "import time; time.sleep(60)"


def test_a_dead_process_is_restarted_with_a_doubling_delay_and_the_live_one_is_untouched(
    spawn: Callable[[str, str], ManagedProcess],
) -> None:
    crasher, sleeper = spawn("crasher", CRASHER), spawn("sleeper", SLEEPER)
    assert sleeper.proc is not None
    sleeper_pid = sleeper.proc.pid
    supervisor = Supervisor([crasher, sleeper], first_delay=0.05, max_delay=0.4, stable_after=30)

    poll_until(supervisor, lambda: len(supervisor.restarts) >= 5)

    assert [r.name for r in supervisor.restarts] == ["crasher"] * len(supervisor.restarts)
    assert {r.exit_code for r in supervisor.restarts} == {3}
    assert [r.delay for r in supervisor.restarts[:5]] == [0.05, 0.1, 0.2, 0.4, 0.4], "doubles, then capped"
    log = crasher.log_path.read_text()
    assert log.count("crasher running") >= 5, "it really ran again after each death"
    assert log.count('"restart_in_seconds"') == len(supervisor.restarts), "each restart is in its log"
    assert sleeper.alive
    assert sleeper.proc.pid == sleeper_pid
    assert "restart" not in sleeper.log_path.read_text()


def test_the_delay_starts_again_from_the_first_once_the_process_stayed_up(
    spawn: Callable[[str, str], ManagedProcess],
) -> None:
    lasting = spawn("lasting", "import sys, time; time.sleep(0.5); sys.exit(1)")
    supervisor = Supervisor([lasting], first_delay=0.05, max_delay=1.0, stable_after=0.2)

    poll_until(supervisor, lambda: len(supervisor.restarts) >= 3)

    assert [r.delay for r in supervisor.restarts[:3]] == [0.05, 0.05, 0.05]


def test_a_killed_process_is_reported_by_its_signal_and_started_again(
    spawn: Callable[[str, str], ManagedProcess],
) -> None:
    victim = spawn("victim", SLEEPER)
    assert victim.proc is not None
    first_pid = victim.proc.pid
    reported: list[str] = []
    supervisor = Supervisor([victim], first_delay=0.05, on_restart=lambda r: reported.append(r.describe()))

    victim.kill()
    poll_until(supervisor, lambda: victim.alive)

    assert reported == ["victim exited (killed by SIGKILL); restarting in 0.05 s"]
    assert victim.proc.pid != first_pid


def test_nothing_is_restarted_while_every_process_lives(spawn: Callable[[str, str], ManagedProcess]) -> None:
    sleepers = [spawn("a", SLEEPER), spawn("b", SLEEPER)]
    supervisor = Supervisor(sleepers, first_delay=0.01)
    for _ in range(10):
        assert supervisor.poll() == []
        time.sleep(0.01)
    assert supervisor.restarts == []
