"""Start, wait for, and stop the services and the gateway as child processes.

The tests use this to run the real platform (and to SIGKILL a service mid-flight);
`make run` uses it through devstack.cli.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from chassis.healthcheck import is_serving

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("members", "coupons", "messaging", "feedback")
DEFAULT_PORTS = {"members": 50051, "coupons": 50052, "messaging": 50053, "feedback": 50054, "gateway": 8000}
DEV_API_KEY = "dev-key-change-me"
DEV_TENANT = "demo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (graceful), then SIGKILL if it does not exit in time."""
        if not self.alive:
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

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


@dataclass
class Stack:
    """The platform's processes, sharing one MongoDB, one Kafka and one namespace."""

    mongodb_url: str
    kafka_bootstrap_servers: str
    namespace: str = ""
    log_dir: Path = ROOT / "var" / "log"
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    api_keys: dict[str, str] = field(default_factory=lambda: {DEV_API_KEY: DEV_TENANT})
    token_secret: str = "dev-only-member-token-secret-change-me-0123456789"
    gateway_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, ManagedProcess] = field(default_factory=dict)

    def base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGULARS_FAULT")}
        env.update(
            MONGODB_URL=self.mongodb_url,
            KAFKA_BOOTSTRAP_SERVERS=self.kafka_bootstrap_servers,
            REGULARS_NAMESPACE=self.namespace,
            PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "gen" / "python")]),
            PYTHONUNBUFFERED="1",
        )
        return env

    def service(self, name: str, **extra_env: str) -> ManagedProcess:
        peers = {
            f"{n.upper()}_GRPC_ADDR": f"127.0.0.1:{self.ports.get(n, DEFAULT_PORTS[n])}" for n in SERVICES
        }
        env = self.base_env() | peers | {"GRPC_PORT": str(self.ports[name])} | extra_env
        return ManagedProcess(
            name,
            [sys.executable, "-m", f"services.{name}"],
            env,
            self.log_dir / f"{self.namespace or 'dev_'}{name}.log",
        )

    def gateway(self) -> ManagedProcess:
        env = (
            self.base_env()
            | {f"{n.upper()}_GRPC_ADDR": f"127.0.0.1:{self.ports[n]}" for n in SERVICES}
            | {
                "GATEWAY_PORT": str(self.ports["gateway"]),
                "GATEWAY_HOST": "127.0.0.1",
                "GATEWAY_API_KEYS": json.dumps(self.api_keys),
                "GATEWAY_TOKEN_SECRET": self.token_secret,
            }
        )
        return ManagedProcess(
            "gateway",
            [sys.executable, "-m", "gateway"],
            env | self.gateway_env,
            self.log_dir / f"{self.namespace or 'dev_'}gateway.log",
        )

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def start(self, name: str, **extra_env: str) -> ManagedProcess:
        """Start one service (or "gateway") and wait until it is ready."""
        p = self.gateway() if name == "gateway" else self.service(name, **extra_env)
        self.processes[name] = p
        p.start()
        self.wait_ready(name)
        return p

    def start_all(self) -> None:
        for name in SERVICES:
            p = self.service(name)
            self.processes[name] = p
            p.start()
        for name in SERVICES:
            self.wait_ready(name)
        self.start("gateway")

    def wait_ready(self, name: str, timeout: float = 60.0) -> None:
        p = self.processes[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not p.alive:
                raise RuntimeError(f"{name} exited during start-up:\n{p.tail()}")
            if self._ready(name):
                return
            time.sleep(0.2)
        raise RuntimeError(f"{name} not ready after {timeout:.0f} s:\n{p.tail()}")

    def _ready(self, name: str) -> bool:
        if name == "gateway":
            # /readyz when the whole platform runs here; /healthz when a test runs a part of it.
            probe = "/readyz" if all(n in self.processes for n in SERVICES) else "/healthz"
            try:
                return httpx.get(f"{self.gateway_url}{probe}", timeout=1.0).status_code == 200
            except httpx.HTTPError:
                return False
        return is_serving(f"127.0.0.1:{self.ports[name]}", timeout=1.0)

    def stop_all(self) -> None:
        for name in ["gateway", *reversed(SERVICES)]:
            if name in self.processes:
                self.processes[name].stop()
