"""`python -m chassis.healthcheck HOST:PORT [SERVICE]`: exit 0 when grpc.health.v1 says SERVING.

Used by docker-compose healthchecks and by the local launcher's readiness wait.
"""

from __future__ import annotations

import sys
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def is_serving(address: str, service: str = "", timeout: float = 2.0) -> bool:
    try:
        with grpc.insecure_channel(address) as channel:
            stub: Any = health_pb2_grpc.HealthStub(channel)  # typeshed's stub lacks the RPC methods
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
    except grpc.RpcError:
        return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m chassis.healthcheck HOST:PORT [SERVICE]")
    sys.exit(0 if is_serving(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "") else 1)
