"""Wires the members service: the one place that knows every layer."""

from __future__ import annotations

from regulars.members.v1 import members_pb2, members_pb2_grpc

from chassis.runtime import Runtime, ServiceSpec
from services.members.adapters import events, mongo
from services.members.entrypoints.grpc_servicer import MembersServicer

SERVICE_NAME = members_pb2.DESCRIPTOR.services_by_name["MembersService"].full_name


def wire(rt: Runtime) -> ServiceSpec:
    topic = rt.settings.topic(events.TOPIC)
    repo = mongo.MongoMemberRepository(rt.db, topic, rt.outbox)
    servicer = MembersServicer(repo, rt.settings.default_phone_region)
    return ServiceSpec(
        grpc_services=[
            (SERVICE_NAME, lambda s: members_pb2_grpc.add_MembersServiceServicer_to_server(servicer, s))
        ],
        indexes=mongo.INDEXES,
        outbox_collections=[mongo.MEMBERS],
        produces=[topic],
    )
