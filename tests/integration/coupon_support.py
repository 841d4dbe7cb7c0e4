"""Templates for the coupons integration tests (the stack is the `coupons_stack` fixture)."""

from __future__ import annotations

from typing import Any

import grpc
from regulars.coupons.v1 import coupons_pb2

from chassis.grpc_client import channel_target
from devstack.processes import Stack


def template_fields(**overrides: Any) -> coupons_pb2.TemplateFields:
    """¥20 off a spend of ¥100, valid 7 days; keyword arguments replace parts."""
    fields: dict[str, Any] = {
        "name": "¥20 off ¥100",
        "benefit": coupons_pb2.Benefit(
            kind=coupons_pb2.COUPON_KIND_AMOUNT_OFF, amount_off=2000, min_spend=10_000
        ),
        "validity": coupons_pb2.Validity(duration_seconds=7 * 86400),
        "claimable": True,
        "stackable": True,
    } | overrides
    return coupons_pb2.TemplateFields(**fields)


async def active_template(api: Any, tenant_id: str, **overrides: Any) -> coupons_pb2.Template:
    created = await api.CreateTemplate(
        coupons_pb2.CreateTemplateRequest(tenant_id=tenant_id, template=template_fields(**overrides))
    )
    active: coupons_pb2.Template = await api.SetTemplateState(
        coupons_pb2.SetTemplateStateRequest(tenant_id=tenant_id, template_id=created.id, state="active")
    )
    return active


def coupons_channel(stack: Stack) -> grpc.aio.Channel:
    """A channel balanced over every coupons replica of the stack."""
    target, options = channel_target(stack.address("coupons"))
    return grpc.aio.insecure_channel(target, options=options)
