"""gRPC channels to the services and the gateway's clients over them, opened once per process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from regulars.coupons.v1 import coupons_pb2_grpc
from regulars.members.v1 import members_pb2_grpc
from regulars.messaging.v1 import messaging_pb2_grpc

from chassis.grpc_client import channel_target
from gateway.clients.calls import Calls
from gateway.clients.coupons import CouponsClient
from gateway.clients.members import MembersClient
from gateway.clients.messaging import MessagingClient
from gateway.settings import GatewaySettings

# Fail fast when a service is down instead of waiting for it to come back.
_CHANNEL_OPTIONS = [
    ("grpc.enable_retries", 0),
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


def _open_channel(address: str) -> grpc.aio.Channel:
    """One channel per service, balanced over its replicas when the address lists several."""
    target, balancing = channel_target(address)
    return grpc.aio.insecure_channel(target, options=[*_CHANNEL_OPTIONS, *balancing])


@dataclass
class ServiceClients:
    channels: dict[str, grpc.aio.Channel]
    members: MembersClient
    coupons: CouponsClient
    messaging: MessagingClient

    @classmethod
    def open(cls, s: GatewaySettings) -> ServiceClients:
        addrs = {
            "members": s.members_grpc_addr,
            "coupons": s.coupons_grpc_addr,
            "messaging": s.messaging_grpc_addr,
            "feedback": s.feedback_grpc_addr,
        }
        channels = {name: _open_channel(addr) for name, addr in addrs.items()}
        calls = Calls(timeout=s.grpc_timeout_seconds)
        return cls(
            channels=channels,
            members=MembersClient(
                members_pb2_grpc.MembersServiceStub(channels["members"]),
                calls,
                preview_timeout=s.segment_preview_timeout_seconds,
            ),
            coupons=CouponsClient(coupons_pb2_grpc.CouponsServiceStub(channels["coupons"]), calls),
            messaging=MessagingClient(messaging_pb2_grpc.MessagingServiceStub(channels["messaging"]), calls),
        )

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close(grace=None)

    async def serving(self, name: str) -> bool:
        """Whether service `name` answers grpc.health.v1 SERVING within a short deadline."""
        stub: Any = health_pb2_grpc.HealthStub(self.channels[name])  # typeshed's stub lacks the RPC methods
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
        except grpc.aio.AioRpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
