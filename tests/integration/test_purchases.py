"""Recording purchases against real FerretDB and Kafka: once per receipt, whatever the retries."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from pymongo import MongoClient
from regulars.members.v1 import events_pb2, members_pb2, members_pb2_grpc

from devstack.processes import Stack
from tests.kafka_tools import header, read_all
from tests.support import eventually

TENANT = "tenant-purchases"


def purchase_request(member_id: str, receipt: str, paid: int = 120_000) -> members_pb2.RecordPurchaseRequest:
    at = Timestamp()
    at.FromDatetime(datetime.now(UTC))
    return members_pb2.RecordPurchaseRequest(
        tenant_id=TENANT,
        member_id=member_id,
        store_id="sh-01",
        receipt_no=receipt,
        served_by_staff_id="s-till",
        currency="CNY",
        occurred_at=at,
        coupon_codes=["WELCOME10"],
        lines=[
            members_pb2.PurchaseLine(
                sku="LIP-01",
                brand="Rouge Co",
                category="Lipstick",
                quantity=1,
                list_price=paid + 10_000,
                paid_price=paid,
            )
        ],
    )


async def test_fifty_concurrent_retries_of_one_receipt_record_one_purchase_and_one_points_entry(
    stack: Stack, mongo: MongoClient[Any]
) -> None:
    address = f"127.0.0.1:{stack.ports['members']}"
    with grpc.insecure_channel(address) as ch:
        member = (
            members_pb2_grpc.MembersServiceStub(ch)
            .EnrollMember(
                members_pb2.EnrollMemberRequest(tenant_id=TENANT, phone="+8613912340000", name="Li"),
                timeout=10,
            )
            .member
        )
    async with grpc.aio.insecure_channel(address) as achannel:
        api: Any = members_pb2_grpc.MembersServiceStub(achannel)
        answers = await asyncio.gather(
            *(api.RecordPurchase(purchase_request(member.id, "R-0001"), timeout=30) for _ in range(50))
        )
        points = await api.GetPoints(
            members_pb2.GetPointsRequest(tenant_id=TENANT, member_id=member.id), timeout=10
        )
    assert sum(a.created for a in answers) == 1
    assert len({a.purchase.id for a in answers}) == 1
    assert answers[0].purchase.points_awarded == 1_200  # ¥1,200 paid, 1 point per ¥1
    assert points.balance == 1_200
    assert [e.source for e in points.entries] == [f"purchase:{answers[0].purchase.id}"]

    db = mongo[f"{stack.namespace}regulars_members"]
    assert db["purchases"].count_documents({}) == 1
    assert db["points_entries"].count_documents({}) == 1
    stored = db["members"].find_one({"_id": member.id})
    assert stored is not None
    stats = stored["stats"]
    assert stats["purchase_count"] == 1
    assert stats["total_spend"] == 120_000
    assert stats["brands"]["rouge_co"]["spend"] == 120_000
    assert stats["discount_share"] == 1.0

    topic = f"{stack.namespace}regulars.members.v1"

    def published() -> list[Any] | None:
        records = asyncio.run(read_all(stack.kafka_bootstrap_servers, topic, settle_seconds=2))
        made = [r for r in records if header(r, "ce_type") == "regulars.members.v1.purchase_made"]
        return records if made else None

    records = await asyncio.to_thread(eventually, published)
    types = [header(r, "ce_type") for r in records]
    assert types.count("regulars.members.v1.purchase_made") == 1
    assert types.count("regulars.members.v1.points_changed") == 1
    made = events_pb2.PurchaseMade.FromString(
        next(r.value for r in records if header(r, "ce_type") == "regulars.members.v1.purchase_made")
    )
    assert made.purchase.credited_staff_id == "s-till"  # no owner: credited to who served
    assert made.purchase.total_paid.minor_units == 120_000


def test_a_big_spender_moves_up_a_tier_and_credit_goes_to_the_owner(stack: Stack) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{stack.ports['members']}") as ch:
        api = members_pb2_grpc.MembersServiceStub(ch)
        api.CreateStore(members_pb2.CreateStoreRequest(tenant_id=TENANT, code="sh-01", name="Shanghai"))
        owner = api.AddStaff(
            members_pb2.AddStaffRequest(
                tenant_id=TENANT, store_code="sh-01", name="Wang", role=members_pb2.STAFF_ROLE_ASSISTANT
            )
        )
        member = api.EnrollMember(
            members_pb2.EnrollMemberRequest(
                tenant_id=TENANT, phone="+8613912340001", name="Mei", staff_code=owner.referral_codes[0]
            )
        ).member
        reply = api.RecordPurchase(purchase_request(member.id, "R-0002", paid=900_000))
        # served by another assistant at the till, credited to the owner
        assert reply.purchase.credited_staff_id == owner.id

        def gold() -> members_pb2.Points | None:
            p = api.GetPoints(members_pb2.GetPointsRequest(tenant_id=TENANT, member_id=member.id))
            return p if p.tier == "gold" else None

        points: members_pb2.Points = eventually(gold)
        assert points.balance == 9_000


def test_bad_purchases_are_refused_naming_the_field(stack: Stack) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{stack.ports['members']}") as ch:
        api = members_pb2_grpc.MembersServiceStub(ch)
        member = api.EnrollMember(
            members_pb2.EnrollMemberRequest(tenant_id=TENANT, phone="+8613912340002", name="X")
        ).member
        bad = purchase_request(member.id, "R-0003")
        bad.lines[0].paid_price = bad.lines[0].list_price + 1
        with pytest.raises(grpc.RpcError) as err:
            api.RecordPurchase(bad)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as err:
            api.RecordPurchase(purchase_request("no-such-member", "R-0004"))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


def refund_request(purchase_id: str, refund_id: str, amount: int | None) -> members_pb2.RefundPurchaseRequest:
    at = Timestamp()
    at.FromDatetime(datetime.now(UTC))
    lines = [] if amount is None else [members_pb2.RefundLine(sku="LIP-01", quantity=0, amount=amount)]
    return members_pb2.RefundPurchaseRequest(
        tenant_id=TENANT, purchase_id=purchase_id, refund_id=refund_id, lines=lines, occurred_at=at
    )


async def test_refunds_reverse_points_and_spend_exactly_once(stack: Stack, mongo: MongoClient[Any]) -> None:
    address = f"127.0.0.1:{stack.ports['members']}"
    async with grpc.aio.insecure_channel(address) as achannel:
        api: Any = members_pb2_grpc.MembersServiceStub(achannel)
        member = (
            await api.EnrollMember(
                members_pb2.EnrollMemberRequest(tenant_id=TENANT, phone="+8613912340009", name="Fang")
            )
        ).member
        purchase = (await api.RecordPurchase(purchase_request(member.id, "R-0100"))).purchase

        partial = await asyncio.gather(
            *(api.RefundPurchase(refund_request(purchase.id, "RF-1", 40_000), timeout=30) for _ in range(10))
        )
        assert sum(r.created for r in partial) == 1
        assert {r.points_reversed for r in partial} == {400}
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await api.RefundPurchase(refund_request(purchase.id, "RF-2", 90_000))  # only 80,000 left
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        rest = await api.RefundPurchase(refund_request(purchase.id, "RF-3", None))
        assert (rest.amount.minor_units, rest.points_reversed) == (80_000, 800)
        points = await api.GetPoints(members_pb2.GetPointsRequest(tenant_id=TENANT, member_id=member.id))

    assert points.balance == 0
    assert sorted(e.delta for e in points.entries) == [-800, -400, 1_200]
    stored = mongo[f"{stack.namespace}regulars_members"]["members"].find_one({"_id": member.id})
    assert stored is not None
    assert stored["stats"]["total_spend"] == 0
    assert stored["stats"]["brands"]["rouge_co"]["spend"] == 0

    topic = f"{stack.namespace}regulars.members.v1"

    def refunds_published() -> list[Any] | None:
        records = asyncio.run(read_all(stack.kafka_bootstrap_servers, topic, settle_seconds=2))
        done = [r for r in records if header(r, "ce_type") == "regulars.members.v1.purchase_refunded"]
        return done if len(done) >= 2 else None

    done = await asyncio.to_thread(eventually, refunds_published)
    assert len(done) == 2
    last = events_pb2.PurchaseRefunded.FromString(done[-1].value)
    assert last.complete
    assert list(last.coupon_codes) == ["WELCOME10"]


def test_points_are_doubled_on_the_members_birthday(stack: Stack) -> None:
    today = datetime.now(UTC)
    with grpc.insecure_channel(f"127.0.0.1:{stack.ports['members']}") as ch:
        api = members_pb2_grpc.MembersServiceStub(ch)
        request = members_pb2.EnrollMemberRequest(tenant_id=TENANT, phone="+8613912340077", name="Birthday")
        if (today.month, today.day) == (2, 29):
            request.birthday.CopyFrom(members_pb2.Birthday(month=2, day=29))
        else:
            request.birthday.CopyFrom(members_pb2.Birthday(month=today.month, day=today.day, year=1990))
        member = api.EnrollMember(request).member
        reply = api.RecordPurchase(purchase_request(member.id, "R-BDAY", paid=50_000))
    assert reply.purchase.points_awarded == 1_000  # ¥500 paid, doubled


async def test_a_members_activity_counts_their_purchases_overall_and_at_a_store(stack: Stack) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.ports['members']}") as channel:
        api: Any = members_pb2_grpc.MembersServiceStub(channel)
        enrolled = await api.EnrollMember(
            members_pb2.EnrollMemberRequest(tenant_id=TENANT, phone="+8613912349876", name="Qin")
        )
        member = enrolled.member.id
        for receipt, store in (("A-1", "sh-01"), ("A-2", "sh-01"), ("A-3", "bj-02")):
            request = purchase_request(member, receipt)
            request.store_id = store
            await api.RecordPurchase(request)
        here = await api.GetMemberActivity(
            members_pb2.GetMemberActivityRequest(tenant_id=TENANT, member_id=member, store_id="sh-01")
        )
        elsewhere = await api.GetMemberActivity(
            members_pb2.GetMemberActivityRequest(tenant_id=TENANT, member_id=member, store_id="gz-03")
        )
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await api.GetMemberActivity(
                members_pb2.GetMemberActivityRequest(
                    tenant_id="another-tenant", member_id=member, store_id="sh-01"
                )
            )

    assert (here.purchase_count, here.purchases_at_store, here.blacklisted) == (3, 2, False)
    assert elsewhere.purchases_at_store == 0
    joined = enrolled.member.registered_at.ToDatetime(tzinfo=UTC)
    stored = joined.replace(microsecond=joined.microsecond // 1000 * 1000)  # the store keeps milliseconds
    assert here.registered_at.ToDatetime(tzinfo=UTC) == stored
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND  # another tenant's member is nobody
