"""A *_GRPC_ADDR listing replicas becomes one round-robin channel over them, and a failed call
means NotFound, FailedPrecondition or Unavailable to the caller (chassis.grpc_client)."""

from __future__ import annotations

import time
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from chassis.errors import FailedPrecondition, NotFound, Unavailable
from chassis.grpc_client import ROUND_ROBIN, call_error, channel_target
from chassis.settings import load
from gateway.settings import GatewaySettings


@pytest.mark.parametrize("address", ["members:50051", "127.0.0.1:50051", "dns:///members:50051"])
def test_one_address_is_dialled_as_it_is(address: str) -> None:
    assert channel_target(address) == (address, ROUND_ROBIN)


def test_several_ipv4_replicas_become_one_ipv4_target() -> None:
    target, options = channel_target("127.0.0.1:5001, 127.0.0.1:5002")
    assert target == "ipv4:127.0.0.1:5001,127.0.0.1:5002"
    assert ("grpc.lb_policy_name", "round_robin") in options


def test_several_ipv6_replicas_become_one_ipv6_target() -> None:
    assert channel_target("[::1]:5001,[::1]:5002")[0] == "ipv6:[::1]:5001,[::1]:5002"


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("members-1:50051,members-2:50051", "by IP address"),
        ("127.0.0.1:5001,[::1]:5002", "mixes"),
        ("127.0.0.1:5001,127.0.0.1", "host:port"),
        ("127.0.0.1:5001,::1:5002", r"\[addr\]:port"),
    ],
)
def test_a_list_grpc_cannot_dial_is_refused_with_the_reason(address: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        channel_target(address)


class CountingHealth(health.aio.HealthServicer):
    """A replica that counts the calls it answered."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def Check(self, request: Any, context: Any) -> Any:
        self.calls += 1
        return await super().Check(request, context)


async def replica() -> tuple[grpc.aio.Server, CountingHealth, int]:
    server = grpc.aio.server()
    servicer = CountingHealth()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, servicer, port


async def check(stub: Any) -> grpc.StatusCode:
    try:
        await stub.Check(health_pb2.HealthCheckRequest(), timeout=2)
    except grpc.aio.AioRpcError as err:
        return err.code()
    return grpc.StatusCode.OK


async def test_calls_spread_over_the_replicas_and_move_to_the_live_one_when_one_dies() -> None:
    (first, first_calls, first_port), (second, second_calls, second_port) = await replica(), await replica()
    target, options = channel_target(f"127.0.0.1:{first_port},127.0.0.1:{second_port}")
    try:
        async with grpc.aio.insecure_channel(target, options=options) as channel:
            stub: Any = health_pb2_grpc.HealthStub(channel)  # typeshed's stub lacks the RPC methods
            deadline = time.monotonic() + 10
            while not (first_calls.calls and second_calls.calls):
                assert time.monotonic() < deadline, "calls never reached both replicas"
                assert await check(stub) == grpc.StatusCode.OK

            await second.stop(None)
            failures, in_a_row = 0, 0
            while in_a_row < 20:
                assert time.monotonic() < deadline, f"no steady answers from the live one ({failures} failed)"
                before = first_calls.calls
                code = await check(stub)
                if code != grpc.StatusCode.OK:
                    assert code == grpc.StatusCode.UNAVAILABLE
                    failures, in_a_row = failures + 1, 0
                    continue
                assert first_calls.calls == before + 1, "answered by the live replica"
                in_a_row += 1
            assert failures <= 1, "only a call racing the death may fail"
    finally:
        await first.stop(None)
        await second.stop(None)


def test_the_gateway_refuses_an_undialable_replica_list_at_start_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEMBERS_GRPC_ADDR", "members-1:50051,members-2:50051")
    for name in ("COUPONS", "MESSAGING", "FEEDBACK"):
        monkeypatch.setenv(f"{name}_GRPC_ADDR", "127.0.0.1:1,127.0.0.1:2")
    monkeypatch.setenv("MONGODB_URL", "mongodb://x/")
    monkeypatch.setenv("GATEWAY_TOKEN_SECRET", "x" * 32)
    with pytest.raises(SystemExit, match="MEMBERS_GRPC_ADDR") as stopped:
        load(GatewaySettings)
    assert "COUPONS_GRPC_ADDR" not in str(stopped.value)


def _failed(code: grpc.StatusCode, details: str = "") -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


@pytest.mark.parametrize(
    ("code", "refused", "expected"),
    [
        (grpc.StatusCode.NOT_FOUND, "", NotFound),
        (grpc.StatusCode.FAILED_PRECONDITION, "refused", FailedPrecondition),
        (grpc.StatusCode.INVALID_ARGUMENT, "refused", FailedPrecondition),
        (grpc.StatusCode.FAILED_PRECONDITION, "", Unavailable),  # a caller that cannot be refused
        (grpc.StatusCode.DEADLINE_EXCEEDED, "refused", Unavailable),
        (grpc.StatusCode.UNAVAILABLE, "", Unavailable),
        (grpc.StatusCode.INTERNAL, "refused", Unavailable),
    ],
)
def test_a_failed_call_means_not_found_refused_or_try_again(
    code: grpc.StatusCode, refused: str, expected: type[Exception]
) -> None:
    error = call_error(_failed(code), "members", missing="no such member", refused=refused)
    assert type(error) is expected


def test_the_other_services_words_are_kept_else_the_callers() -> None:
    assert str(
        call_error(_failed(grpc.StatusCode.NOT_FOUND, "member m1 not found"), "members", missing="x")
    ) == ("member m1 not found")
    assert str(call_error(_failed(grpc.StatusCode.NOT_FOUND), "members", missing="no such member")) == (
        "no such member"
    )
    assert "members" in str(call_error(_failed(grpc.StatusCode.UNAVAILABLE), "members", missing="x"))
