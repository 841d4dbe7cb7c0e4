"""Every service starts and answers grpc.health.v1 SERVING, with reflection on."""

from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from devstack.processes import SERVICES, Stack, free_port
from tests.support import fresh_namespace, server_urls

SERVICE_NAMES = {
    "members": "regulars.members.v1.MembersService",
    "coupons": "regulars.coupons.v1.CouponsService",
    "messaging": "regulars.messaging.v1.MessagingService",
    "feedback": "regulars.feedback.v1.FeedbackService",
}


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_is_serving_and_reflects_its_api(platform: Stack, name: str) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{platform.ports[name]}") as channel:
        health: Any = health_pb2_grpc.HealthStub(channel)  # typeshed's stub lacks the RPC methods
        for service in ("", SERVICE_NAMES[name]):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        reflection: Any = reflection_pb2_grpc.ServerReflectionStub(channel)
        answers = reflection.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
        )
        listed = {s.name for a in answers for s in a.list_services_response.service}
        assert SERVICE_NAMES[name] in listed
        assert "grpc.health.v1.Health" in listed


def test_sigterm_drains_and_exits_cleanly() -> None:
    """Graceful shutdown: NOT_SERVING, in-flight calls finish, connections close, exit 0."""
    mongodb, kafka = server_urls()
    stack = Stack(
        mongodb_url=mongodb,
        kafka_bootstrap_servers=kafka,
        namespace=fresh_namespace(),
        ports={"feedback": free_port()},
    )
    process = stack.start("feedback")
    process.stop(timeout=15)
    assert process.proc is not None
    assert process.proc.returncode == 0
    assert "service stopped" in process.tail()
