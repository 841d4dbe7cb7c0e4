"""Shared set-up of the coupons integration tests: a members + coupons stack and templates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from regulars.coupons.v1 import coupons_pb2

from devstack.processes import Stack, free_port
from tests.support import fresh_namespace, server_urls


@pytest.fixture
def coupons_stack() -> Iterator[Stack]:
    mongodb, kafka = server_urls()
    s = Stack(
        mongodb_url=mongodb,
        kafka_bootstrap_servers=kafka,
        namespace=fresh_namespace(),
        ports={"members": free_port(), "coupons": free_port()},
    )
    try:
        s.start("members")
        s.start("coupons")
        yield s
    finally:
        s.stop_all()


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
