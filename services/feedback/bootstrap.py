"""Wires the feedback service. Until its issue lands it serves health and reflection only."""

from __future__ import annotations

from chassis.runtime import Runtime, ServiceSpec
from services.feedback.entrypoints import index


def wire(rt: Runtime) -> ServiceSpec:
    table = index.handlers()  # every command and event, and what handles it (none yet)
    return ServiceSpec(grpc_services=[(table.name, table.register)])
