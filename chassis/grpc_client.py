"""From a `*_GRPC_ADDR` value to a gRPC channel target that spreads calls over every replica.

An address is one `host:port` (unchanged, as in docker-compose.yml) or several comma-separated
replicas `10.0.0.5:50051,10.0.0.6:50051`. grpc's `dns:` resolver takes one name only, so a list
becomes an `ipv4:`/`ipv6:` target and its hosts must be IP literals. The channel balances with
`round_robin` in both cases: over the listed replicas, or over every address a single DNS name
resolves to (a scaled compose service). A replica that dies is dropped by grpc once its
connection fails and taken back when it answers again.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Generic, TypeVar

import grpc

from chassis.errors import DomainError, FailedPrecondition, NotFound, Unavailable

S = TypeVar("S")

ROUND_ROBIN: list[tuple[str, str | int]] = [("grpc.lb_policy_name", "round_robin")]
_SCHEMES = ("dns:", "ipv4:", "ipv6:", "unix:", "unix-abstract:")


def channel_target(address: str) -> tuple[str, list[tuple[str, str | int]]]:
    """The target and channel options for `address` (see the module docstring)."""
    address = address.strip()
    if "," not in address or address.startswith(_SCHEMES):
        return address, list(ROUND_ROBIN)
    replicas = [part.strip() for part in address.split(",") if part.strip()]
    families = {_family(replica, address) for replica in replicas}
    if len(families) > 1:
        raise ValueError(f"{address!r} mixes IPv4 and IPv6 replicas")
    return f"{families.pop()}:{','.join(replicas)}", list(ROUND_ROBIN)


def _family(replica: str, address: str) -> str:
    host, sep, port = replica.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"replica {replica!r} of {address!r} is not host:port")
    try:
        ip = ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        raise ValueError(
            f"replica {replica!r} of {address!r}: list replicas by IP address, "
            "or give one DNS name that resolves to all of them"
        ) from None
    if ip.version == 6 and not host.startswith("["):
        raise ValueError(f"replica {replica!r} of {address!r}: write IPv6 hosts as [addr]:port")
    return f"ipv{ip.version}"


class LazyStub(Generic[S]):
    """A service's stub on a channel opened on first use — inside the service's event loop, which
    does not exist yet when bootstrap builds the clients — spread over the replicas of `address`;
    made once and reused by every call."""

    def __init__(self, address: str, make: Callable[[grpc.aio.Channel], S]) -> None:
        self._address = address
        self._make = make
        self._channel: grpc.aio.Channel | None = None
        self._stub: S | None = None

    def __call__(self) -> S:
        if self._stub is None:
            target, options = channel_target(self._address)
            self._channel = grpc.aio.insecure_channel(target, options=options)
            self._stub = self._make(self._channel)
        return self._stub

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()


def call_error(exc: grpc.aio.AioRpcError, service: str, *, missing: str, refused: str = "") -> DomainError:
    """What a failed call to another service means to the caller's use case (raise it `from
    exc`): NOT_FOUND is NotFound (`missing`); FAILED_PRECONDITION and INVALID_ARGUMENT are
    FailedPrecondition (`refused`) when the caller can be refused, else like any other code:
    Unavailable, which a client may try again."""
    code = exc.code()
    if code == grpc.StatusCode.NOT_FOUND:
        return NotFound(exc.details() or missing)
    if refused and code in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT):
        return FailedPrecondition(exc.details() or refused)
    return Unavailable(f"the {service} service did not answer; try again")
