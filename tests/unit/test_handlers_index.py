"""Each service's index (entrypoints/index.py) names exactly the commands its proto declares and
the events it consumes; a table that misses one, or names one the proto lacks, is refused when it
is built; and commands served from it go through the chassis' error mapping (in-process server,
no MongoDB or Kafka)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from regulars.members.v1 import members_pb2, members_pb2_grpc

from chassis.errors import InvalidArgument
from chassis.grpc_server import GrpcServer
from chassis.handlers import Handlers
from services.coupons.entrypoints import index as coupons_index
from services.coupons.entrypoints.grpc_servicer import CouponsServicer
from services.feedback.entrypoints import index as feedback_index
from services.feedback.entrypoints.grpc_servicer import FeedbackServicer
from services.members.entrypoints import index as members_index
from services.members.entrypoints.grpc_servicer import MembersServicer
from services.messaging.entrypoints import index as messaging_index
from services.messaging.entrypoints.grpc_servicer import MessagingServicer
from tests.support import bad_field

UNUSED: Any = None  # a dependency the table only holds; nothing here calls it

MEMBERS = "regulars.members.v1."


def members_table() -> Handlers:
    return members_index.handlers(MembersServicer.__new__(MembersServicer), UNUSED)


def coupons_table() -> Handlers:
    servicer = CouponsServicer.__new__(CouponsServicer)
    return coupons_index.handlers(servicer, UNUSED, UNUSED, UNUSED, UNUSED)


def feedback_table() -> Handlers:
    servicer = FeedbackServicer.__new__(FeedbackServicer)
    return feedback_index.handlers(servicer, UNUSED, UNUSED, UNUSED, UNUSED, UNUSED)


def messaging_table() -> Handlers:
    return messaging_index.handlers(MessagingServicer.__new__(MessagingServicer), UNUSED, UNUSED, UNUSED)


TABLES: dict[str, tuple[Callable[[], Handlers], str, set[str]]] = {
    "members": (members_table, "regulars.members.v1.MembersService", {"purchase_refunded"}),
    "coupons": (
        coupons_table,
        "regulars.coupons.v1.CouponsService",
        {
            "member_registered",
            "member_tier_changed",
            "member_blacklist_changed",
            "member_erased",
            "member_merged",
            "purchase_made",
            "purchase_refunded",
            "member_birthday_month_started",
            "referral_converted",
        },
    ),
    "messaging": (
        messaging_table,
        "regulars.messaging.v1.MessagingService",
        {
            "member_registered",
            "member_consent_changed",
            "member_profile_changed",
            "member_staff_assigned",
            "points_changed",
            "member_tier_changed",
            "member_erased",
            "purchase_made",
            "regulars.coupons.v1.coupon_issued",
            "regulars.feedback.v1.survey_due",
            "regulars.feedback.v1.complaint_follow_up_due",
            "regulars.feedback.v1.complaint_sla_breached",
            "regulars.feedback.v1.thread_sla_breached",
            "regulars.feedback.v1.suggestion_adopted",
        },
    ),
    "feedback": (
        feedback_table,
        "regulars.feedback.v1.FeedbackService",
        {
            "regulars.feedback.v1.review_posted",
            "purchase_made",
            "regulars.feedback.v1.survey_answered",
            "member_erased",
        },
    ),
}


@pytest.mark.parametrize("service", TABLES)
def test_each_service_index_names_every_command_of_its_proto_and_the_events_it_consumes(
    service: str,
) -> None:
    build, full_name, events = TABLES[service]
    table = build()
    assert table.name == full_name
    assert set(table.commands) == {m.name for m in table.service.methods}
    for name, command in table.commands.items():
        assert command.__name__ == name  # each RPC is wired to the servicer method of its name
    assert set(table.events) == {e if "." in e else MEMBERS + e for e in events}  # members' unless named


async def answer(request: Any, context: Any) -> Any:
    raise NotImplementedError


async def stream(request: Any, context: Any) -> AsyncIterator[Any]:
    yield members_pb2.SegmentMember(member_id="m1")


def all_members_commands(**overrides: Any) -> dict[str, Any]:
    methods = members_index.SERVICE.methods
    commands = {m.name: stream if m.server_streaming else answer for m in methods}
    return commands | overrides


def test_a_table_missing_a_command_is_refused_naming_it() -> None:
    commands = all_members_commands()
    del commands["RefundPurchase"]
    with pytest.raises(ValueError, match="MembersService: no command for RefundPurchase"):
        Handlers(service=members_index.SERVICE, commands=commands)


def test_a_command_the_proto_does_not_declare_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="SendSms not in the proto"):
        Handlers(service=members_index.SERVICE, commands=all_members_commands(SendSms=answer))


def test_a_command_that_does_not_answer_as_its_rpc_does_is_refused() -> None:
    with pytest.raises(ValueError, match="StreamSegmentMembers streams"):
        Handlers(service=members_index.SERVICE, commands=all_members_commands(StreamSegmentMembers=answer))
    with pytest.raises(ValueError, match="GetMember answers once"):
        Handlers(service=members_index.SERVICE, commands=all_members_commands(GetMember=stream))
    generated: Any = members_pb2_grpc.MembersServiceServicer  # its stub calls it abstract; it is not
    unimplemented = generated().GetMember  # the generated default, which answers UNIMPLEMENTED
    with pytest.raises(ValueError, match="GetMember answers once"):
        Handlers(service=members_index.SERVICE, commands=all_members_commands(GetMember=unimplemented))


def test_the_table_is_frozen() -> None:
    table = members_table()
    with pytest.raises(TypeError):
        table.commands["GetMember"] = answer  # type: ignore[index]


async def serving(table: Handlers) -> GrpcServer:
    server = GrpcServer(0, [table])
    await server.start()
    return server


async def test_a_real_command_served_from_the_index_goes_through_the_error_mapping() -> None:
    server = await serving(members_table())
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub: Any = members_pb2_grpc.MembersServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                # RefundPurchase refuses a request without occurred_at before it reaches a store.
                await stub.RefundPurchase(members_pb2.RefundPurchaseRequest(tenant_id="t1"), timeout=5)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert bad_field(refused.value) == "occurred_at"

            health: Any = health_pb2_grpc.HealthStub(channel)
            reply = await health.Check(health_pb2.HealthCheckRequest(service=members_index.SERVICE.full_name))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await server.stop(0)


async def test_a_streamed_command_is_served_from_the_index_and_its_errors_mapped() -> None:
    async def segment_members(request: Any, context: Any) -> AsyncIterator[Any]:
        yield members_pb2.SegmentMember(member_id=f"{request.tenant_id}-1")
        yield members_pb2.SegmentMember(member_id=f"{request.tenant_id}-2")
        raise InvalidArgument("segment_id", "no such segment")

    table = Handlers(
        service=members_index.SERVICE, commands=all_members_commands(StreamSegmentMembers=segment_members)
    )
    server = await serving(table)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub: Any = members_pb2_grpc.MembersServiceStub(channel)
            got: list[str] = []

            async def read_all() -> None:
                request = members_pb2.StreamSegmentMembersRequest(tenant_id="t1")
                async for item in stub.StreamSegmentMembers(request, timeout=5):
                    got.append(item.member_id)

            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await read_all()
            assert got == ["t1-1", "t1-2"]
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert bad_field(refused.value) == "segment_id"
    finally:
        await server.stop(0)
