"""Each tenant's loyalty programme, against real FerretDB and Kafka: its own ladder and earn
rate, earning rules on their days in the tenant's zone, versions with who and when, a refund
that reverses what was earned under the version the purchase was scored by, and a ladder change
that moves members at the nightly review, each once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from regulars.members.v1 import events_pb2, members_pb2, members_pb2_grpc
from ulid import ULID

from devstack.processes import Stack
from tests.kafka_tools import header, read_all
from tests.support import bad_field, eventually

SHANGHAI = ZoneInfo("Asia/Shanghai")
SATURDAY = datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)
MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)
FRIDAY_UTC_SATURDAY_SHANGHAI = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)  # 01:30 Saturday there


def stamp(at: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(at)
    return out


def line(
    paid: int, brand: str = "House", category: str = "bread", sku: str = "S1"
) -> members_pb2.PurchaseLine:
    return members_pb2.PurchaseLine(
        sku=sku, brand=brand, category=category, quantity=1, list_price=paid, paid_price=paid
    )


def receipt(
    tenant: str, member_id: str, lines: list[members_pb2.PurchaseLine], at: datetime, store: str = "st-1"
) -> members_pb2.RecordPurchaseRequest:
    return members_pb2.RecordPurchaseRequest(
        tenant_id=tenant,
        member_id=member_id,
        store_id=store,
        receipt_no=str(ULID()),
        currency="CNY",
        occurred_at=stamp(at),
        lines=lines,
    )


async def enrol(api: Any, tenant: str, phone: str) -> str:
    reply = await api.EnrollMember(members_pb2.EnrollMemberRequest(tenant_id=tenant, phone=phone, name="Wu"))
    return str(reply.member.id)


async def tenant_events(stack: Stack, tenant: str, ce_type: str, at_least: int) -> list[Any]:
    topic = f"{stack.namespace}regulars.members.v1"

    def probe() -> list[Any] | None:
        records = asyncio.run(read_all(stack.kafka_bootstrap_servers, topic, settle_seconds=1.5))
        mine = [r for r in records if header(r, "ce_type") == ce_type and header(r, "ce_tenantid") == tenant]
        return mine if len(mine) >= at_least else None

    return await asyncio.to_thread(eventually, probe)


async def test_two_tenants_score_the_same_purchase_by_their_own_programmes(stack: Stack) -> None:
    jeweller, bakery = f"jeweller-{ULID()}", f"bakery-{ULID()}"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.ports['members']}") as channel:
        api: Any = members_pb2_grpc.MembersServiceStub(channel)
        settings = members_pb2.ProgrammeSettings(
            ladder=members_pb2.TierLadderSettings(
                tiers=[
                    members_pb2.TierLevel(name="pearl", min_trailing_spend=0),
                    members_pb2.TierLevel(name="sapphire", min_trailing_spend=10_000),
                ]
            ),
            points=members_pb2.PointsSettings(points_per_unit=2),
        )
        changed = await api.UpdateProgramme(
            members_pb2.UpdateProgrammeRequest(tenant_id=jeweller, settings=settings, changed_by="key-admin")
        )
        ring, roll = await enrol(api, jeweller, "+8613900001001"), await enrol(api, bakery, "+8613900001002")
        at = datetime.now(UTC)
        bought = [
            await api.RecordPurchase(receipt(tenant, member, [line(15_000)], at))
            for tenant, member in ((jeweller, ring), (bakery, roll))
        ]
        ring_member = await api.GetMember(members_pb2.GetMemberRequest(tenant_id=jeweller, member_id=ring))
        roll_member = await api.GetMember(members_pb2.GetMemberRequest(tenant_id=bakery, member_id=roll))
        versions = await api.ListProgrammeVersions(
            members_pb2.ListProgrammeVersionsRequest(tenant_id=jeweller)
        )
        defaults = await api.GetProgramme(members_pb2.GetProgrammeRequest(tenant_id=bakery))

    assert (changed.version, changed.changed_by, list(changed.settings.ladder.tiers)[1].name) == (
        1,
        "key-admin",
        "sapphire",
    )
    assert [b.purchase.points_awarded for b in bought] == [300, 150]  # 2 per yuan against 1
    assert [b.purchase.programme_version for b in bought] == [1, 0]
    assert (ring_member.tier, roll_member.tier) == ("sapphire", "normal")
    assert [(v.version, v.changed_by) for v in versions.versions] == [(1, "key-admin")]
    assert (defaults.version, defaults.settings.points.points_per_unit) == (0, 1)
    announced = await tenant_events(stack, jeweller, "regulars.members.v1.programme_changed", 1)
    event = events_pb2.ProgrammeChanged.FromString(announced[0].value)
    assert (event.version, list(event.sections)) == (1, ["ladder", "points"])


async def test_a_friday_to_sunday_rule_applies_on_saturday_in_the_tenants_zone_and_not_on_monday(
    stack: Stack,
) -> None:
    tenant = f"cosmetics-{ULID()}"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.ports['members']}") as channel:
        api: Any = members_pb2_grpc.MembersServiceStub(channel)
        await api.UpdateProgramme(
            members_pb2.UpdateProgrammeRequest(
                tenant_id=tenant,
                settings=members_pb2.ProgrammeSettings(time_zone="Asia/Shanghai"),
                changed_by="key-admin",
            )
        )
        rule = members_pb2.EarningRule(
            id="aurora-weekend",
            name="Double points on Aurora, Friday to Sunday",
            days_of_week=["fri", "sat", "sun"],
            brands=["Aurora"],
            multiplier=2,
        )
        with_rule = await api.PutEarningRule(
            members_pb2.PutEarningRuleRequest(
                tenant_id=tenant, rule=rule, expected_version=1, changed_by="key-admin"
            )
        )
        member = await enrol(api, tenant, "+8613900001003")
        cart = [line(10_000, brand="Aurora", sku="LIP"), line(5_000, brand="Other", sku="BRUSH")]
        preview = await api.PreviewEarning(
            members_pb2.PreviewEarningRequest(
                tenant_id=tenant, member_id=member, store_id="st-1", lines=cart, at=stamp(SATURDAY)
            )
        )
        saturday = await api.RecordPurchase(receipt(tenant, member, cart, SATURDAY))
        early_saturday = await api.RecordPurchase(receipt(tenant, member, cart, FRIDAY_UTC_SATURDAY_SHANGHAI))
        monday = await api.RecordPurchase(receipt(tenant, member, cart, MONDAY))
        statement = await api.GetPoints(members_pb2.GetPointsRequest(tenant_id=tenant, member_id=member))
        with pytest.raises(grpc.aio.AioRpcError) as stale:
            await api.PutEarningRule(
                members_pb2.PutEarningRuleRequest(
                    tenant_id=tenant, rule=rule, expected_version=1, changed_by="x"
                )
            )

    assert with_rule.version == 2
    assert saturday.purchase.points_awarded == 150 + 100  # the Aurora line doubled, the other not
    assert [(s.source, s.rule_id, s.points) for s in saturday.purchase.points_shares] == [
        ("base", "", 150),
        ("rule", "aurora-weekend", 100),
    ]
    assert (preview.points, preview.programme_version) == (250, 2)  # the till's preview agrees
    assert early_saturday.purchase.points_awarded == 250  # Friday in UTC, Saturday in Shanghai
    assert monday.purchase.points_awarded == 150
    why = {e.source: [(s.source, s.points) for s in e.shares] for e in statement.entries}
    assert why[f"purchase:{saturday.purchase.id}"] == [("base", 150), ("rule", 100)]  # the history says why
    assert why[f"purchase:{monday.purchase.id}"] == [("base", 150)]
    assert stale.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_refund_after_the_rule_changed_reverses_what_the_purchase_earned(stack: Stack) -> None:
    tenant = f"apparel-{ULID()}"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.ports['members']}") as channel:
        api: Any = members_pb2_grpc.MembersServiceStub(channel)
        triple = members_pb2.EarningRule(
            id="coats-3x", name="3x on coats", categories=["coats"], multiplier=3
        )
        await api.PutEarningRule(
            members_pb2.PutEarningRuleRequest(tenant_id=tenant, rule=triple, changed_by="a")
        )
        member = await enrol(api, tenant, "+8613900001004")
        bought = await api.RecordPurchase(
            receipt(tenant, member, [line(20_000, category="coats")], datetime.now(UTC))
        )
        await api.DeleteEarningRule(
            members_pb2.DeleteEarningRuleRequest(tenant_id=tenant, rule_id="coats-3x", changed_by="a")
        )
        refund = await api.RefundPurchase(
            members_pb2.RefundPurchaseRequest(
                tenant_id=tenant,
                purchase_id=bought.purchase.id,
                refund_id="R-1",
                occurred_at=stamp(datetime.now(UTC)),
            )
        )
        points = await api.GetPoints(members_pb2.GetPointsRequest(tenant_id=tenant, member_id=member))
        first = await api.GetProgramme(members_pb2.GetProgrammeRequest(tenant_id=tenant, version=1))
        now = await api.GetProgramme(members_pb2.GetProgrammeRequest(tenant_id=tenant))

    assert (bought.purchase.points_awarded, bought.purchase.programme_version) == (600, 1)
    assert refund.points_reversed == 600  # what it earned then, not what it would earn now (200)
    assert points.balance == 0
    assert ([r.id for r in first.earning_rules], now.version, list(now.earning_rules)) == (
        ["coats-3x"],
        2,
        [],
    )


async def test_a_ladder_change_moves_members_at_the_nightly_review_once_each(stack: Stack) -> None:
    tenant = f"bakery-{ULID()}"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.ports['members']}") as channel:
        api: Any = members_pb2_grpc.MembersServiceStub(channel)
        members = [await enrol(api, tenant, f"+86139000020{i:02d}") for i in range(3)]
        for member in members:
            await api.RecordPurchase(receipt(tenant, member, [line(300_000)], datetime.now(UTC)))
        before = [
            await api.GetMember(members_pb2.GetMemberRequest(tenant_id=tenant, member_id=m)) for m in members
        ]
        higher = members_pb2.TierLadderSettings(
            tiers=[
                members_pb2.TierLevel(name="normal", min_trailing_spend=0),
                members_pb2.TierLevel(name="silver", min_trailing_spend=500_000),
            ]
        )
        await api.UpdateProgramme(
            members_pb2.UpdateProgrammeRequest(
                tenant_id=tenant, settings=members_pb2.ProgrammeSettings(ladder=higher), changed_by="a"
            )
        )
        today = datetime.now(UTC).date().isoformat()
        await api.RunCalendarDay(members_pb2.RunCalendarDayRequest(date=today))
        await api.RunCalendarDay(members_pb2.RunCalendarDayRequest(date=today))
        after = [
            await api.GetMember(members_pb2.GetMemberRequest(tenant_id=tenant, member_id=m)) for m in members
        ]

    assert [m.tier for m in before] == ["silver"] * 3  # ¥3,000 on the default ladder
    assert [m.tier for m in after] == ["normal"] * 3  # the new ladder asks ¥5,000 for silver
    changed = await tenant_events(stack, tenant, "regulars.members.v1.member_tier_changed", 6)
    moves = sorted(
        (e.member_id, e.previous_tier, e.tier)
        for e in (events_pb2.MemberTierChanged.FromString(r.value) for r in changed)
    )
    assert moves == sorted(
        [(m, "normal", "silver") for m in members] + [(m, "silver", "normal") for m in members]
    )


async def test_a_bad_programme_is_refused_naming_the_field_and_changes_nothing(stack: Stack) -> None:
    tenant = f"shop-{ULID()}"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.ports['members']}") as channel:
        api: Any = members_pb2_grpc.MembersServiceStub(channel)
        not_from_zero = members_pb2.ProgrammeSettings(
            ladder=members_pb2.TierLadderSettings(
                tiers=[members_pb2.TierLevel(name="a", min_trailing_spend=5)]
            )
        )
        bad_zone = members_pb2.ProgrammeSettings(time_zone="Mars/Olympus")
        errors = []
        for settings in (not_from_zero, bad_zone):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await api.UpdateProgramme(
                    members_pb2.UpdateProgrammeRequest(tenant_id=tenant, settings=settings, changed_by="a")
                )
            errors.append((err.value.code(), bad_field(err.value)))
        still = await api.GetProgramme(members_pb2.GetProgrammeRequest(tenant_id=tenant))

    assert errors == [
        (grpc.StatusCode.INVALID_ARGUMENT, "ladder.tiers[0].min_trailing_spend"),
        (grpc.StatusCode.INVALID_ARGUMENT, "time_zone"),
    ]
    assert still.version == 0


async def test_two_replicas_changing_the_programme_at_once_lose_no_change(members_replicas: Stack) -> None:
    """Each replica keeps a tenant's programme for a second; a change that loses the race on a
    replica that kept an older version is judged again on the newer one, not refused."""
    tenant = f"chain-{ULID()}"
    ports = members_replicas.replica_ports["members"]
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}") for port in ports]
    try:
        apis: list[Any] = [members_pb2_grpc.MembersServiceStub(c) for c in channels]
        for api in apis:  # both replicas now keep version 0
            await api.GetProgramme(members_pb2.GetProgrammeRequest(tenant_id=tenant))
        rules = [
            members_pb2.EarningRule(id=f"bonus-{i}", name=f"bonus {i}", bonus_points=10 + i) for i in range(6)
        ]
        await asyncio.gather(
            *(
                apis[i % 2].PutEarningRule(
                    members_pb2.PutEarningRuleRequest(tenant_id=tenant, rule=r, changed_by="a")
                )
                for i, r in enumerate(rules)
            )
        )
        latest = await apis[0].ListProgrammeVersions(
            members_pb2.ListProgrammeVersionsRequest(tenant_id=tenant)
        )
    finally:
        for c in channels:
            await c.close()

    assert [v.version for v in latest.versions] == [6, 5, 4, 3, 2, 1]
    assert sorted(r.id for r in latest.versions[0].earning_rules) == [f"bonus-{i}" for i in range(6)]
