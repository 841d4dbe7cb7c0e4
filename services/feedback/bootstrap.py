"""Wires the feedback service. Until its issue lands it serves health and reflection only."""

from __future__ import annotations

from regulars.feedback.v1 import feedback_pb2, feedback_pb2_grpc

from chassis.runtime import Runtime, ServiceSpec

SERVICE_NAME = feedback_pb2.DESCRIPTOR.services_by_name["FeedbackService"].full_name


def wire(rt: Runtime) -> ServiceSpec:
    servicer = feedback_pb2_grpc.FeedbackServiceServicer()
    return ServiceSpec(
        grpc_services=[
            (SERVICE_NAME, lambda s: feedback_pb2_grpc.add_FeedbackServiceServicer_to_server(servicer, s))
        ],
    )
