"""Wires the coupons service. Until its issue lands it serves health and reflection only."""

from __future__ import annotations

from regulars.coupons.v1 import coupons_pb2, coupons_pb2_grpc

from chassis.runtime import Runtime, ServiceSpec

SERVICE_NAME = coupons_pb2.DESCRIPTOR.services_by_name["CouponsService"].full_name


def wire(rt: Runtime) -> ServiceSpec:
    servicer = coupons_pb2_grpc.CouponsServiceServicer()
    return ServiceSpec(
        grpc_services=[
            (SERVICE_NAME, lambda s: coupons_pb2_grpc.add_CouponsServiceServicer_to_server(servicer, s))
        ],
    )
