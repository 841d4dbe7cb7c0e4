"""Stack(replicas=...): own ports, logs and processes per replica; peers are told of every replica."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.managed import ManagedProcess
from devstack.processes import SERVICES, Stack, free_port, parse_replicas

# Stands in for a service: logs the port it was given, then waits to be stopped.
FAKE_SERVICE = "import os, time; print('port', os.environ['GRPC_PORT'], flush=True); time.sleep(60)"


class FakeServicesStack(Stack):
    """A Stack whose services are tiny sleepers, ready once they logged their port: no servers needed."""

    def service(self, name: str, replica: int = 0, **extra_env: str) -> ManagedProcess:
        real = super().service(name, replica, **extra_env)
        return ManagedProcess(real.name, [sys.executable, "-c", FAKE_SERVICE], real.env, real.log_path)

    def _ready(self, name: str, replica: int) -> bool:
        return "port" in self._running[name][replica].tail()


def new_stack(tmp_path: Path, cls: type[Stack] = Stack) -> Stack:
    return cls(
        mongodb_url="mongodb://unused/",
        kafka_bootstrap_servers="unused:9092",
        namespace="t_",
        log_dir=tmp_path,
        ports={name: free_port() for name in [*SERVICES, "gateway"]},
        replicas={"members": 2, "coupons": 3},
    )


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[Stack]:
    stack = new_stack(tmp_path, FakeServicesStack)
    yield stack
    for p in stack.all_processes():
        p.kill()


def test_replica_ports_are_distinct_and_the_first_is_the_service_port(tmp_path: Path) -> None:
    stack = new_stack(tmp_path)
    assert len(stack.replica_ports["members"]) == 2
    assert len(stack.replica_ports["coupons"]) == 3
    assert stack.replica_ports["messaging"] == [stack.ports["messaging"]]
    assert stack.replica_ports["members"][0] == stack.ports["members"]
    every_port = [p for ports in stack.replica_ports.values() for p in ports] + [stack.ports["gateway"]]
    assert len(set(every_port)) == len(every_port)


def test_each_replica_has_its_own_port_and_log_and_peers_name_every_replica(tmp_path: Path) -> None:
    stack = new_stack(tmp_path)
    first, second = stack.service("members", 0), stack.service("members", 1)
    assert (first.name, second.name) == ("members", "members-2")
    assert first.log_path != second.log_path
    assert [int(first.env["GRPC_PORT"]), int(second.env["GRPC_PORT"])] == stack.replica_ports["members"]
    expected = ",".join(f"127.0.0.1:{p}" for p in stack.replica_ports["coupons"])
    assert first.env["COUPONS_GRPC_ADDR"] == expected
    assert stack.gateway().env["MEMBERS_GRPC_ADDR"] == stack.address("members")
    assert stack.gateway().env["MESSAGING_GRPC_ADDR"] == f"127.0.0.1:{stack.ports['messaging']}"


def test_an_inherited_metrics_port_is_not_shared_by_every_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METRICS_PORT", "9100")
    stack = new_stack(tmp_path)
    assert "METRICS_PORT" not in stack.service("members", 1).env


def test_replicas_of_an_unknown_service_or_the_gateway_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="gateway"):
        Stack(mongodb_url="m", kafka_bootstrap_servers="k", replicas={"gateway": 2})
    with pytest.raises(ValueError, match="expected"):
        parse_replicas("members=0")
    with pytest.raises(ValueError, match="expected"):
        parse_replicas("billing=2")
    assert parse_replicas(" members=2, coupons=3 ,") == {"members": 2, "coupons": 3}
    assert parse_replicas("") == {}


def test_start_kill_and_restart_act_on_every_replica_or_on_one(fake: Stack) -> None:
    first = fake.start("members")
    replicas = fake.replica_processes("members")
    assert fake.processes["members"] is first is replicas[0]
    assert [p.alive for p in replicas] == [True, True]

    fake.kill("members", replica=1)
    assert [p.alive for p in fake.replica_processes("members")] == [True, False]
    fake.start("members")  # starts the dead one only
    again = fake.replica_processes("members")
    assert again[0] is first, "the live replica was left alone"
    assert again[1].alive
    assert f"port {fake.replica_ports['members'][1]}" in again[1].tail()

    fake.kill("members")
    assert not any(p.alive for p in fake.replica_processes("members"))
    fake.start("members", replica=0)
    assert [p.alive for p in fake.replica_processes("members")] == [True, False]

    fake.start("coupons")
    fake.stop_all()
    assert not any(p.alive for p in fake.all_processes())
