"""Start, wait for, and stop the services and the gateway as child processes.

The tests use this to run the real platform (and to SIGKILL a service mid-flight);
`make run` uses it through devstack.cli. A service may run as several replicas, each a
process with its own gRPC port and log; peers are given every replica's address.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from chassis.healthcheck import is_serving
from devstack.managed import ROOT, ManagedProcess, free_port, free_ports, stop_together

__all__ = [
    "DEFAULT_PORTS",
    "DEV_API_KEY",
    "DEV_TENANT",
    "ROOT",
    "SERVICES",
    "ManagedProcess",
    "Stack",
    "StartCancelled",
    "free_port",
    "parse_replicas",
    "replica_name",
]

SERVICES = ("members", "coupons", "messaging", "feedback")
DEFAULT_PORTS = {"members": 50051, "coupons": 50052, "messaging": 50053, "feedback": 50054, "gateway": 8000}
DEV_API_KEY = "dev-key-change-me"
DEV_TENANT = "demo"


class StartCancelled(Exception):
    """A stop was requested (`Stack.should_stop`) while the platform was still starting."""


def parse_replicas(text: str) -> dict[str, int]:
    """`members=2,coupons=2` (REGULARS_REPLICAS, `--replicas`) -> {"members": 2, "coupons": 2}."""
    counts: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, count = (word.strip() for word in item.partition("="))
        if name not in SERVICES or not count.isdigit() or int(count) < 1:
            raise ValueError(f"{item!r}: expected <service>=<count ≥ 1>, a service of {', '.join(SERVICES)}")
        counts[name] = int(count)
    return counts


def replica_name(service: str, index: int) -> str:
    """`members` for the first replica (as before replicas existed), then `members-2`, `members-3`…"""
    return service if index == 0 else f"{service}-{index + 1}"


@dataclass
class Stack:
    """The platform's processes, sharing one MongoDB, one Kafka and one namespace.

    `ports[name]` and `processes[name]` are a service's first replica; `replicas` asks for
    more (`{"members": 2}`), each on a free port of its own (`replica_ports[name]`).
    `should_stop` is asked while waiting for readiness: true ends the wait with StartCancelled.
    """

    mongodb_url: str
    kafka_bootstrap_servers: str
    namespace: str = ""
    log_dir: Path = ROOT / "var" / "log"
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    api_keys: dict[str, str] = field(default_factory=lambda: {DEV_API_KEY: DEV_TENANT})
    token_secret: str = "dev-only-member-token-secret-change-me-0123456789"
    gateway_env: dict[str, str] = field(default_factory=dict)
    replicas: dict[str, int] = field(default_factory=dict)
    should_stop: Callable[[], bool] = field(default=lambda: False, repr=False)
    _running: dict[str, list[ManagedProcess]] = field(default_factory=dict, init=False, repr=False)
    _more_ports: dict[str, list[int]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for name, count in self.replicas.items():
            if name not in SERVICES or count < 1:
                raise ValueError(f"replicas: {name}={count} (services: {', '.join(SERVICES)}; count ≥ 1)")
        taken = {*self.ports.values(), *DEFAULT_PORTS.values()}
        for name, count in self.replicas.items():
            self._more_ports[name] = free_ports(count - 1, taken)
            taken.update(self._more_ports[name])

    @property
    def processes(self) -> dict[str, ManagedProcess]:
        """The first replica of each started service, and the gateway."""
        return {name: procs[0] for name, procs in self._running.items()}

    @property
    def replica_ports(self) -> dict[str, list[int]]:
        """Each service's gRPC ports, the first replica's first (= ports[name])."""
        return {n: [self.ports.get(n, DEFAULT_PORTS[n]), *self._more_ports.get(n, [])] for n in SERVICES}

    def replica_processes(self, name: str) -> list[ManagedProcess]:
        return list(self._running.get(name, []))

    def all_processes(self) -> list[ManagedProcess]:
        return [p for procs in self._running.values() for p in procs]

    def address(self, name: str) -> str:
        """What `<NAME>_GRPC_ADDR` says: every replica, comma-separated (chassis.grpc_client)."""
        return ",".join(f"127.0.0.1:{port}" for port in self.replica_ports[name])

    def base_env(self) -> dict[str, str]:
        # An inherited METRICS_PORT would be the same for every process: they would collide on it.
        env = {
            k: v for k, v in os.environ.items() if not k.startswith("REGULARS_FAULT") and k != "METRICS_PORT"
        }
        env.update(
            MONGODB_URL=self.mongodb_url,
            KAFKA_BOOTSTRAP_SERVERS=self.kafka_bootstrap_servers,
            REGULARS_NAMESPACE=self.namespace,
            PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "gen" / "python")]),
            PYTHONUNBUFFERED="1",
        )
        return env

    def _peers(self) -> dict[str, str]:
        return {f"{n.upper()}_GRPC_ADDR": self.address(n) for n in SERVICES}

    def service(self, name: str, replica: int = 0, **extra_env: str) -> ManagedProcess:
        port = self.replica_ports[name][replica]
        env = self.base_env() | self._peers() | {"GRPC_PORT": str(port)} | extra_env
        return self._process(replica_name(name, replica), [sys.executable, "-m", f"services.{name}"], env)

    def gateway(self, **extra_env: str) -> ManagedProcess:
        env = (
            self.base_env()
            | self._peers()
            | {
                "GATEWAY_PORT": str(self.ports["gateway"]),
                "GATEWAY_HOST": "127.0.0.1",
                "GATEWAY_API_KEYS": json.dumps(self.api_keys),
                "GATEWAY_TOKEN_SECRET": self.token_secret,
            }
        )
        return self._process("gateway", [sys.executable, "-m", "gateway"], env | self.gateway_env | extra_env)

    def _process(self, name: str, args: list[str], env: dict[str, str]) -> ManagedProcess:
        return ManagedProcess(name, args, env, self.log_dir / f"{self.namespace or 'dev_'}{name}.log")

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def _indexes(self, name: str, replica: int | None) -> list[int]:
        count = 1 if name == "gateway" else self.replicas.get(name, 1)
        if replica is not None and not 0 <= replica < count:
            raise ValueError(f"{name} has {count} replica(s), not #{replica}")
        return list(range(count)) if replica is None else [replica]

    def _make(self, name: str, replica: int, extra_env: dict[str, str]) -> ManagedProcess:
        return self.gateway(**extra_env) if name == "gateway" else self.service(name, replica, **extra_env)

    def _launch(self, name: str, replica: int | None, extra_env: dict[str, str]) -> list[ManagedProcess]:
        """Start the chosen replicas (all by default) that are not running; do not wait."""
        if name not in self._running:  # replicas not chosen stay unstarted until asked for
            self._running[name] = [self._make(name, i, {}) for i in self._indexes(name, None)]
        procs = self._running[name]
        for i in self._indexes(name, replica):
            if not procs[i].alive:
                procs[i] = self._make(name, i, extra_env)
                procs[i].start()
        return [procs[i] for i in self._indexes(name, replica)]

    def start(self, name: str, replica: int | None = None, **extra_env: str) -> ManagedProcess:
        """Start a service's replicas (or one), or "gateway", and wait until they are ready.

        A replica still running is left as it is (kill or stop it first to change its
        environment). Returns the first replica started.
        """
        started = self._launch(name, replica, extra_env)
        self.wait_ready(name, replica)
        return started[0]

    def start_all(self) -> None:
        for name in SERVICES:
            self._launch(name, None, {})
        for name in SERVICES:
            self.wait_ready(name)
        try:
            self.start("gateway")
        except RuntimeError as exc:
            # A free port picked for a test's gateway can be taken by the time it binds (another
            # process's ephemeral port): nothing depends on the gateway's port, so pick again, once.
            # A port someone chose (make run's 8000) stays an error.
            if "address already in use" not in str(exc) or self.ports["gateway"] == DEFAULT_PORTS["gateway"]:
                raise
            self.ports["gateway"] = free_port()
            self.start("gateway")

    def wait_ready(self, name: str, replica: int | None = None, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        for i in self._indexes(name, replica):
            p = self._running[name][i]
            while True:
                if self.should_stop():
                    raise StartCancelled(f"stop requested while {p.name} was starting")
                if not p.alive:
                    raise RuntimeError(f"{p.name} exited during start-up:\n{p.tail()}")
                if self._ready(name, i):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{p.name} not ready after {timeout:.0f} s:\n{p.tail()}")
                time.sleep(0.2)

    def _ready(self, name: str, replica: int) -> bool:
        if name == "gateway":
            # /readyz when the whole platform runs here; /healthz when a test runs a part of it.
            probe = "/readyz" if all(n in self._running for n in SERVICES) else "/healthz"
            try:
                return httpx.get(f"{self.gateway_url}{probe}", timeout=1.0).status_code == 200
            except httpx.HTTPError:
                return False
        return is_serving(f"127.0.0.1:{self.replica_ports[name][replica]}", timeout=1.0)

    def kill(self, name: str, replica: int | None = None) -> None:
        """SIGKILL a service's replicas (all by default, or one)."""
        for p in self._chosen(name, replica):
            p.kill()

    def stop(self, name: str, replica: int | None = None, timeout: float = 10.0) -> None:
        """SIGTERM a service's replicas (all by default, or one), together; SIGKILL the late ones."""
        stop_together(self._chosen(name, replica), timeout)

    def _chosen(self, name: str, replica: int | None) -> list[ManagedProcess]:
        procs = self._running.get(name, [])
        return [procs[i] for i in self._indexes(name, replica) if i < len(procs)]

    def stop_all(self) -> None:
        for name in ["gateway", *reversed(SERVICES)]:
            self.stop(name)
