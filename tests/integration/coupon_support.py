"""Templates for the coupons integration tests (the stack is the `coupons_stack` fixture)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from pymongo import MongoClient
from regulars.coupons.v1 import coupons_pb2
from regulars.members.v1 import events_pb2 as member_events

from chassis.cloudevents import new_event, topic_of
from chassis.grpc_client import channel_target
from chassis.kafka import EventPublisher
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


async def members_known(stack: Stack, tenant_id: str, member_ids: list[str], within: float = 60.0) -> None:
    """Announce `member_ids` as members' member_registered events, as the members service would,
    and wait until coupons has heard of every one (a claim serves only members it knows)."""
    publisher = EventPublisher(stack.kafka_bootstrap_servers)
    await publisher.start()
    try:
        topic = f"{stack.namespace}{topic_of(member_events.DESCRIPTOR)}"
        await publisher.publish_many(
            [
                (
                    topic,
                    new_event(
                        source="regulars/members",
                        tenant_id=tenant_id,
                        subject=m,
                        payload=member_events.MemberRegistered(
                            member_id=m, tenant_id=tenant_id, tier="normal"
                        ),
                    ),
                )
                for m in member_ids
            ]
        )
    finally:
        await publisher.stop()
    client: MongoClient[dict[str, Any]] = MongoClient(stack.mongodb_url)
    profiles = client[f"{stack.namespace}regulars_coupons"]["member_profiles"]
    wanted = {f"{tenant_id}:{m}" for m in member_ids}
    deadline = asyncio.get_running_loop().time() + within
    try:
        while len(wanted) > profiles.count_documents({"_id": {"$in": sorted(wanted)}}):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"coupons did not hear of {len(wanted)} members within {within} s")
            await asyncio.sleep(0.2)
    finally:
        client.close()
