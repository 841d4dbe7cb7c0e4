"""Everything the feedback service does: each gRPC command and each event it consumes, and the
function that handles it. bootstrap.py wires the gRPC server and the consumer from this table.

Until the feedback issue lands the proto declares no RPC and nothing is consumed, so the table
is empty and the server answers health and reflection only. A command goes here as soon as
proto/regulars/feedback/v1/feedback.proto declares it (the table is checked against the proto
at start-up), grouped by domain area as in services/members/entrypoints/index.py.
"""

from __future__ import annotations

from regulars.feedback.v1 import feedback_pb2

from chassis.handlers import Handlers

SERVICE = feedback_pb2.DESCRIPTOR.services_by_name["FeedbackService"]


def handlers() -> Handlers:
    return Handlers(service=SERVICE, commands={}, events={})
