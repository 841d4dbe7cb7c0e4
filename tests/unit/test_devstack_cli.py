"""What `python -m devstack up` (so `make run`) builds and how it stops, without starting servers."""

from __future__ import annotations

import json
import os
import signal

import pytest
import typer

from devstack.cli import platform_stack
from devstack.processes import DEFAULT_PORTS, DEV_API_KEY, DEV_TENANT, SERVICES
from devstack.stopping import StopRequest
from devstack.supervisor import Supervisor


def gateway_keys(api_keys: str) -> dict[str, str]:
    stack = platform_stack(mongodb_url="mongodb://unused/", kafka="unused:9092", api_keys=api_keys)
    keys: dict[str, str] = json.loads(stack.gateway().env["GATEWAY_API_KEYS"])
    return keys


def test_the_users_gateway_api_keys_are_kept_and_the_demo_key_is_added() -> None:
    assert gateway_keys('{"pos-key": "acme", "app-key": "demo"}') == {
        "pos-key": "acme",
        "app-key": "demo",
        DEV_API_KEY: DEV_TENANT,
    }


def test_without_gateway_api_keys_the_gateway_has_the_demo_key() -> None:
    assert gateway_keys("") == {DEV_API_KEY: DEV_TENANT}


def test_a_user_key_named_like_the_demo_key_keeps_the_users_tenant() -> None:
    assert gateway_keys(json.dumps({DEV_API_KEY: "acme"})) == {DEV_API_KEY: "acme"}


@pytest.mark.parametrize("text", ["not json", '["a list"]', '{"key": 3}'])
def test_malformed_gateway_api_keys_are_refused_before_anything_starts(text: str) -> None:
    with pytest.raises(typer.BadParameter, match="GATEWAY_API_KEYS"):
        gateway_keys(text)


def test_namespace_and_free_ports_keep_a_second_platform_out_of_the_first_ones_way() -> None:
    stack = platform_stack(
        mongodb_url="mongodb://unused/", kafka="unused:9092", namespace="t1_", free_ports=True
    )
    assert stack.namespace == "t1_"
    assert stack.gateway().env["REGULARS_NAMESPACE"] == "t1_"
    ports = [stack.ports[name] for name in [*SERVICES, "gateway"]]
    assert len(set(ports)) == len(ports)
    assert not set(ports) & set(DEFAULT_PORTS.values())


def test_by_default_the_platform_uses_the_documented_ports() -> None:
    stack = platform_stack(mongodb_url="mongodb://unused/", kafka="unused:9092")
    assert stack.ports == DEFAULT_PORTS
    assert stack.namespace == ""


def test_stop_signals_however_many_become_one_request_and_raise_nothing() -> None:
    before = {s: signal.getsignal(s) for s in StopRequest.SIGNALS}
    stop = StopRequest()
    try:
        stop.install()
        assert not stop.requested()
        for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            os.kill(os.getpid(), sig)  # handled before os.kill returns (main thread)
        assert stop.requested()
        assert stop.received == [signal.SIGTERM, signal.SIGTERM, signal.SIGINT, signal.SIGHUP]
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


def test_the_supervisor_loop_ends_when_asked_to() -> None:
    asked = iter([False, False, True])
    Supervisor([]).run(interval=0.01, until=lambda: next(asked))
