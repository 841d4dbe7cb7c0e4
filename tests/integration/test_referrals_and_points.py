"""Mini-program sign-ups, referral links, points beyond purchases, yearly expiry and the nightly
tier review, against real FerretDB and Kafka."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from pymongo import MongoClient
from regulars.members.v1 import events_pb2, members_pb2, members_pb2_grpc
from ulid import ULID

from devstack.processes import Stack
from services.members.adapters.mongo import to_doc
from services.members.domain.model import Member
from tests.kafka_tools import header, read_all
from tests.support import bad_field, eventually

TENANT = "tenant-referrals"


def purchase(member_id: str, receipt: str, paid: int = 10_000) -> members_pb2.RecordPurchaseRequest:
    at = Timestamp()
    at.FromDatetime(datetime.now(UTC))
    line = members_pb2.PurchaseLine(
        sku="S1", brand="B", category="C", quantity=1, list_price=paid, paid_price=paid
    )
    return members_pb2.RecordPurchaseRequest(
        tenant_id=TENANT,
        member_id=member_id,
        store_id="sh-01",
        receipt_no=receipt,
        currency="CNY",
        occurred_at=at,
        lines=[line],
    )


async def events_of(stack: Stack, ce_type: str, at_least: int) -> list[Any]:
    topic = f"{stack.namespace}regulars.members.v1"

    def probe() -> list[Any] | None:
        records = asyncio.run(read_all(stack.kafka_bootstrap_servers, topic, settle_seconds=1.5))
        mine = [r for r in records if header(r, "ce_type") == ce_type]
        return mine if len(mine) >= at_least else None

    return await asyncio.to_thread(eventually, probe)


async def test_ten_taps_of_a_mini_program_sign_up_give_one_member_and_a_phone_links_later(
    stack: Stack,
) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.ports['members']}") as channel:
        api: Any = members_pb2_grpc.MembersServiceStub(channel)
        tap = members_pb2.EnrollMemberRequest(tenant_id=TENANT, name="Mei", openid="oWx-openid_0001")
        replies = await asyncio.gather(*(api.EnrollMember(tap, timeout=20) for _ in range(10)))
        assert sum(r.created for r in replies) == 1
        assert {r.member.id for r in replies} == {replies[0].member.id}
        assert replies[0].member.phone == ""
        found = await api.FindMemberByOpenid(
            members_pb2.FindMemberByOpenidRequest(tenant_id=TENANT, openid="oWx-openid_0001")
        )
        assert found.id == replies[0].member.id

        at_till = await api.EnrollMember(
            members_pb2.EnrollMemberRequest(tenant_id=TENANT, name="Lan", phone="+8613912345678")
        )
        signed_up = await api.EnrollMember(
            members_pb2.EnrollMemberRequest(
                tenant_id=TENANT, name="Lan", phone="+8613912345678", openid="oWx-openid_0002"
            )
        )
        assert (signed_up.created, signed_up.member.id) == (False, at_till.member.id)
        linked = await api.FindMemberByOpenid(
            members_pb2.FindMemberByOpenidRequest(tenant_id=TENANT, openid="oWx-openid_0002")
        )
        assert linked.id == at_till.member.id
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await api.FindMemberByOpenid(
                members_pb2.FindMemberByOpenidRequest(tenant_id="other", openid="oWx-openid_0001")
            )
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await api.EnrollMember(
                members_pb2.EnrollMemberRequest(tenant_id=TENANT, name="X", openid="no spaces")
            )
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert bad_field(bad.value) == "openid"


async def test_a_referred_member_converts_once_on_the_first_purchase(stack: Stack) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.ports['members']}") as channel:
        api: Any = members_pb2_grpc.MembersServiceStub(channel)
        friend = (
            await api.EnrollMember(
                members_pb2.EnrollMemberRequest(tenant_id=TENANT, name="Ana", phone="+8613900000001")
            )
        ).member
        code = await api.GetReferralCode(
            members_pb2.GetReferralCodeRequest(tenant_id=TENANT, member_id=friend.id)
        )
        again = await api.GetReferralCode(
            members_pb2.GetReferralCodeRequest(tenant_id=TENANT, member_id=friend.id)
        )
        assert code.code == again.code
        assert len(code.code) == 8

        await api.CreateStore(members_pb2.CreateStoreRequest(tenant_id=TENANT, code="sh-01", name="Jing'an"))
        staff = await api.AddStaff(
            members_pb2.AddStaffRequest(
                tenant_id=TENANT, store_code="sh-01", name="Xiao Zhou", role=members_pb2.STAFF_ROLE_ASSISTANT
            )
        )
        by_member = (
            await api.EnrollMember(
                members_pb2.EnrollMemberRequest(
                    tenant_id=TENANT, name="Bo", phone="+8613900000002", referral_code=code.code.lower()
                )
            )
        ).member
        by_staff = (
            await api.EnrollMember(
                members_pb2.EnrollMemberRequest(
                    tenant_id=TENANT,
                    name="Cai",
                    phone="+8613900000003",
                    referral_code=staff.referral_codes[0],
                )
            )
        ).member
        assert (by_member.referred_by_kind, by_member.referred_by_id) == ("member", friend.id)
        assert (by_staff.referred_by_kind, by_staff.referred_by_id) == ("staff", staff.id)
        assert by_staff.owner_staff_id == staff.id

        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await api.EnrollMember(
                members_pb2.EnrollMemberRequest(
                    tenant_id=TENANT, name="Dee", phone="+8613900000004", referral_code="RNOTACODE"
                )
            )
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert bad_field(bad.value) == "referral_code"

        for receipt in ("R-1", "R-2", "R-3"):
            await api.RecordPurchase(purchase(by_member.id, receipt))
        await api.RecordPurchase(purchase(by_staff.id, "R-4"))
        await api.RecordPurchase(purchase(friend.id, "R-5"))  # not referred: converts nothing

    await asyncio.sleep(1)  # let a replayed purchase_made (members consumes its own) arrive too
    records = await events_of(stack, "regulars.members.v1.referral_converted", 2)
    converted = [events_pb2.ReferralConverted.FromString(r.value) for r in records]
    assert sorted((c.member_id, c.referrer_kind, c.referrer_id) for c in converted) == sorted(
        [(by_member.id, "member", friend.id), (by_staff.id, "staff", staff.id)]
    )


async def test_points_for_sign_ins_count_once_and_a_gift_cannot_overdraw(stack: Stack) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.ports['members']}") as channel:
        api: Any = members_pb2_grpc.MembersServiceStub(channel)
        member = (
            await api.EnrollMember(
                members_pb2.EnrollMemberRequest(tenant_id=TENANT, name="Ping", phone="+8613900000009")
            )
        ).member

        def adjust(delta: int, reason: str, source: str) -> Any:
            return api.AdjustPoints(
                members_pb2.AdjustPointsRequest(
                    tenant_id=TENANT, member_id=member.id, delta=delta, reason=reason, source_id=source
                ),
                timeout=20,
            )

        signed = await asyncio.gather(*(adjust(5, "sign_in", "2026-11-23") for _ in range(8)))
        assert sum(r.applied for r in signed) == 1
        assert {r.balance for r in signed} == {5}
        assert (await adjust(20, "review", "rev-01JD")).balance == 25
        with pytest.raises(grpc.aio.AioRpcError) as overdraw:
            await adjust(-30, "gift_redemption", "gift-1")
        assert overdraw.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert (await adjust(-25, "gift_redemption", "gift-1")).balance == 0
        for delta, reason, source, field in [
            (5, "purchase", "x", "reason"),
            (-5, "sign_in", "2026-11-24", "delta"),
            (0, "manual_adjustment", "m1", "delta"),
            (5, "manual_adjustment", "has space", "source_id"),
        ]:
            with pytest.raises(grpc.aio.AioRpcError) as bad:
                await adjust(delta, reason, source)
            assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (reason, source)
            assert bad_field(bad.value) == field
        ledger = await api.GetPoints(members_pb2.GetPointsRequest(tenant_id=TENANT, member_id=member.id))
    assert ledger.balance == 0
    assert sorted((e.reason, e.delta) for e in ledger.entries) == [
        ("gift_redemption", -25),
        ("review", 20),
        ("sign_in", 5),
    ]


async def test_new_year_lapses_old_points_and_the_nightly_review_lowers_a_lapsed_tier(
    stack: Stack, mongo: MongoClient[Any]
) -> None:
    # Years ahead of the real clock: the service's own daily worker reviews tiers for today, so
    # the member also spent this month (gold today too) and the test's days lie in the future.
    now = datetime.now(UTC)
    y = now.year + 1  # spent in December y; earned points in y and y+1
    db = mongo[f"{stack.namespace}regulars_members"]
    member = Member(
        id=str(ULID()),
        tenant_id=TENANT,
        phone="+8613900000077",
        name="Gu",
        surname="",
        home_store_id="",
        channel="import",
        registered_at=datetime(2026, 1, 1, tzinfo=UTC),
        tier="gold",
    )
    db["members"].insert_one(
        to_doc(member)
        | {"points_balance": 130, "stats": {"spend_by_month": {f"{y}-12": 900_000, f"{now:%Y-%m}": 900_000}}}
    )
    for source, delta, at in [
        ("purchase:old", 100, datetime(y, 3, 1, tzinfo=UTC)),
        ("purchase:new", 50, datetime(y + 1, 6, 1, tzinfo=UTC)),
        ("gift_redemption:g", -20, datetime(y + 1, 7, 1, tzinfo=UTC)),
    ]:
        db["points_entries"].insert_one(
            {
                "_id": f"{TENANT}:{source}",
                "tenant_id": TENANT,
                "member_id": member.id,
                "delta": delta,
                "reason": source.split(":")[0],
                "source": source,
                "at": at,
            }
        )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.ports['members']}") as channel:
        api: Any = members_pb2_grpc.MembersServiceStub(channel)
        autumn = await api.RunCalendarDay(members_pb2.RunCalendarDayRequest(date=f"{y + 1}-11-01"))
        new_year = await api.RunCalendarDay(members_pb2.RunCalendarDayRequest(date=f"{y + 2}-01-01"))
        twice = await api.RunCalendarDay(members_pb2.RunCalendarDayRequest(date=f"{y + 2}-01-01"))
        points = await api.GetPoints(members_pb2.GetPointsRequest(tenant_id=TENANT, member_id=member.id))
    assert (autumn.points_expired, autumn.tiers_changed) == (0, 0)  # December y is still in the window
    assert (new_year.points_expired, new_year.tiers_changed) == (1, 1)
    assert (twice.points_expired, twice.tiers_changed) == (0, 0)
    # 100 earned in y, 20 of them spent in y+1 (oldest first): 80 lapse, the 50 of y+1 stay.
    assert (points.balance, points.tier) == (50, "normal")
    lapsed = [e for e in points.entries if e.reason == "expiry"]
    assert [e.delta for e in lapsed] == [-80]

    tiers = await events_of(stack, "regulars.members.v1.member_tier_changed", 1)
    changed = events_pb2.MemberTierChanged.FromString(tiers[0].value)
    assert (changed.member_id, changed.previous_tier, changed.tier) == (member.id, "gold", "normal")
