"""Two replicas of members writing one member at once, with no lock anywhere: nothing is lost.

Every test spreads its calls over both replicas' ports, so the writes race in two processes,
as they do behind the gateway in production.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from pymongo import MongoClient
from regulars.members.v1 import events_pb2, members_pb2, members_pb2_grpc

from devstack.processes import Stack
from services.members.domain.purchases import purchase_key
from tests.kafka_tools import header, read_all
from tests.support import eventually

TENANT = "tenant-concurrency"
POINTS_CHANGED = "regulars.members.v1.points_changed"


@asynccontextmanager
async def replicas(stack: Stack) -> AsyncIterator[list[Any]]:
    """One stub per members replica."""
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}") for port in stack.replica_ports["members"]]
    try:
        yield [members_pb2_grpc.MembersServiceStub(ch) for ch in channels]
    finally:
        for ch in channels:
            await ch.close()


def purchase(
    member_id: str, receipt: str, paid: int, brand: str = "Rouge Co"
) -> members_pb2.RecordPurchaseRequest:
    at = Timestamp()
    at.FromDatetime(datetime.now(UTC))
    return members_pb2.RecordPurchaseRequest(
        tenant_id=TENANT,
        member_id=member_id,
        store_id="sh-01",
        receipt_no=receipt,
        currency="CNY",
        occurred_at=at,
        lines=[
            members_pb2.PurchaseLine(
                sku="LIP-01", brand=brand, category="Lipstick", quantity=1, list_price=paid, paid_price=paid
            )
        ],
    )


async def enrol(api: Any, phone: str) -> Any:
    request = members_pb2.EnrollMemberRequest(tenant_id=TENANT, phone=phone, name="Li")
    return (await api.EnrollMember(request, timeout=20)).member


def members_db(mongo: MongoClient[Any], stack: Stack) -> Any:
    return mongo[f"{stack.namespace}regulars_members"]


def published(stack: Stack, ce_type: str, member_id: str, at_least: int) -> list[Any]:
    topic = f"{stack.namespace}regulars.members.v1"

    def probe() -> list[Any] | None:
        records = asyncio.run(read_all(stack.kafka_bootstrap_servers, topic, settle_seconds=2))
        mine = [
            r for r in records if header(r, "ce_type") == ce_type and header(r, "ce_subject") == member_id
        ]
        return mine if len(mine) >= at_least else None

    return eventually(probe, timeout=60)


async def test_sixty_purchases_of_one_member_on_two_replicas_at_once_all_count_exactly_once(
    members_replicas: Stack, mongo: MongoClient[Any]
) -> None:
    paid = [10_000 + 100 * i for i in range(60)]  # ¥100..¥159: points 100..159
    async with replicas(members_replicas) as apis:
        member = await enrol(apis[0], "+8613955500001")
        answers = await asyncio.gather(
            *(
                apis[i % 2].RecordPurchase(purchase(member.id, f"C-{i:03d}", amount), timeout=120)
                for i, amount in enumerate(paid)
            )
        )
        points = await apis[1].GetPoints(
            members_pb2.GetPointsRequest(tenant_id=TENANT, member_id=member.id), timeout=20
        )
    assert all(a.created for a in answers)
    assert points.balance == sum(p // 100 for p in paid)

    db = members_db(mongo, members_replicas)
    stored = db["members"].find_one({"_id": member.id})
    assert stored is not None
    stats = stored["stats"]
    assert (stats["purchase_count"], stats["total_spend"]) == (60, sum(paid))
    assert stats["brands"]["rouge_co"]["spend"] == sum(paid)
    assert sum(stats["spend_by_month"].values()) == sum(paid)
    assert stats["trailing_12m_spend"] == sum(paid)
    assert stored["tier"] == "silver"  # ¥7,770 in the window
    assert len(stored["_applied"]) == 60
    entries = list(db["points_entries"].find({"member_id": member.id}))
    assert sorted(e["source"] for e in entries) == sorted(f"purchase:{a.purchase.id}" for a in answers)
    assert db["purchases"].count_documents({"member_id": member.id, "pending": True}) == 0

    # Each points_changed carries the balance right after its own purchase: they chain from 0.
    records = await asyncio.to_thread(published, members_replicas, POINTS_CHANGED, member.id, 60)
    changes = [events_pb2.PointsChanged.FromString(r.value) for r in records]
    assert len(changes) == 60
    balances = {c.balance for c in changes}
    assert len(balances) == 60
    assert all(c.balance - c.delta in balances | {0} for c in changes)
    assert max(balances) == points.balance
    tiers = await asyncio.to_thread(
        published, members_replicas, "regulars.members.v1.member_tier_changed", member.id, 1
    )
    assert len(tiers) == 1


async def test_concurrent_takes_on_two_replicas_never_overdraw_and_exactly_the_affordable_ones_succeed(
    members_replicas: Stack, mongo: MongoClient[Any]
) -> None:
    async with replicas(members_replicas) as apis:
        member = await enrol(apis[0], "+8613955500002")

        def adjust(api: Any, delta: int, reason: str, source: str) -> Any:
            return api.AdjustPoints(
                members_pb2.AdjustPointsRequest(
                    tenant_id=TENANT, member_id=member.id, delta=delta, reason=reason, source_id=source
                ),
                timeout=120,
            )

        await adjust(apis[0], 100, "manual_adjustment", "grant-1")
        takes = await asyncio.gather(
            *(adjust(apis[i % 2], -7, "gift_redemption", f"gift-{i}") for i in range(30)),
            return_exceptions=True,
        )
        points = await apis[1].GetPoints(
            members_pb2.GetPointsRequest(tenant_id=TENANT, member_id=member.id), timeout=20
        )
    refused = [t for t in takes if isinstance(t, grpc.aio.AioRpcError)]
    succeeded = [t for t in takes if not isinstance(t, BaseException)]
    assert {r.code() for r in refused} == {grpc.StatusCode.FAILED_PRECONDITION}
    assert len(succeeded) == 100 // 7  # 14 gifts of 7 fit in 100 points
    assert all(s.applied and s.balance >= 0 for s in succeeded)
    assert sorted(s.balance for s in succeeded) == [100 - 7 * n for n in range(14, 0, -1)]
    assert points.balance == 100 - 7 * 14
    gifts = members_db(mongo, members_replicas)["points_entries"].count_documents(
        {"member_id": member.id, "reason": "gift_redemption"}
    )
    assert gifts == 14


async def test_purchases_whose_callers_give_up_midway_are_still_completed_within_seconds(
    members_replicas: Stack, mongo: MongoClient[Any]
) -> None:
    # Callers give up after 1 ms, then a little later each time, until one gives up after the
    # service had started recording (a call that gave up before it arrived recorded nothing,
    # which is right too). Every purchase that was recorded must then be complete, soon.
    db = members_db(mongo, members_replicas)

    def recorded(purchase_id: str) -> bool:
        deadline = time.monotonic() + 1.0  # the cut-off use case goes on: give it time to show
        while time.monotonic() < deadline:
            if db["purchases"].count_documents({"_id": purchase_id}):
                return True
            time.sleep(0.05)
        return False

    outcomes: dict[str, str] = {}
    codes: set[grpc.StatusCode] = set()
    async with replicas(members_replicas) as apis:
        member = await enrol(apis[0], "+8613955500003")
        timeout = 0.001
        while "cut off" not in outcomes.values() and timeout < 3:
            receipt = f"T-{len(outcomes)}"
            try:
                await apis[len(outcomes) % 2].RecordPurchase(
                    purchase(member.id, receipt, 10_000), timeout=timeout
                )
                outcomes[receipt] = "answered"
            except grpc.aio.AioRpcError as gave_up:
                codes.add(gave_up.code())
                arrived = await asyncio.to_thread(recorded, purchase_key(TENANT, "sh-01", receipt))
                outcomes[receipt] = "cut off" if arrived else "never arrived"
            timeout *= 1.5
        assert "cut off" in outcomes.values(), outcomes
        assert codes == {grpc.StatusCode.DEADLINE_EXCEEDED}
        kept = [r for r, outcome in outcomes.items() if outcome != "never arrived"]

        async def complete() -> Any:
            points = await apis[0].GetPoints(
                members_pb2.GetPointsRequest(tenant_id=TENANT, member_id=member.id), timeout=20
            )
            return points if points.balance == 100 * len(kept) else None

        deadline = asyncio.get_running_loop().time() + 15
        points = await complete()
        while points is None and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.2)
            points = await complete()
    assert points is not None, f"not completed within 15 s: {outcomes}"
    ids = [purchase_key(TENANT, "sh-01", r) for r in kept]
    assert sorted(e.source for e in points.entries) == sorted(f"purchase:{i}" for i in ids)
    assert db["purchases"].count_documents({"member_id": member.id}) == len(kept)
    assert db["purchases"].count_documents({"member_id": member.id, "pending": True}) == 0
    member_doc = db["members"].find_one({"_id": member.id})
    assert member_doc is not None
    assert member_doc["stats"]["purchase_count"] == len(kept)


async def test_a_purchase_left_pending_by_a_crash_is_completed_by_the_background_loop(
    members_replicas: Stack, mongo: MongoClient[Any]
) -> None:
    async with replicas(members_replicas) as apis:
        member = await enrol(apis[0], "+8613955500004")
        recorded = await apis[0].RecordPurchase(purchase(member.id, "K-1", 30_000), timeout=20)
    db = members_db(mongo, members_replicas)
    # What a crash right after the purchase's insert leaves: the purchase pending (its
    # purchase_made already relayed and consumed), the member and the ledger untouched.
    template = db["purchases"].find_one({"_id": recorded.purchase.id})
    assert template is not None
    crashed_id = purchase_key(TENANT, "sh-01", "K-2")
    db["purchases"].insert_one(
        {k: v for k, v in template.items() if not k.startswith("_outbox")}
        | {
            "_id": crashed_id,
            "receipt_no": "K-2",
            "pending": True,
            "pending_since": datetime.now(UTC) - timedelta(seconds=10),
        }
    )

    def completed() -> dict[str, Any] | None:
        doc = db["members"].find_one({"_id": member.id})
        return doc if doc and crashed_id in doc.get("_applied", {}) else None

    doc = await asyncio.to_thread(eventually, completed, 20)
    assert doc["points_balance"] == 600
    assert doc["stats"]["purchase_count"] == 2
    assert db["points_entries"].count_documents({"member_id": member.id}) == 2
    assert await asyncio.to_thread(
        eventually, lambda: db["purchases"].count_documents({"_id": crashed_id, "pending": True}) == 0, 20
    )


async def test_profile_changes_consent_and_purchases_at_once_on_two_replicas_lose_nothing(
    members_replicas: Stack, mongo: MongoClient[Any]
) -> None:
    async with replicas(members_replicas) as apis:
        member = await enrol(apis[0], "+8613955500005")
        api = itertools.cycle(apis)

        def update(**fields: Any) -> Any:
            request = members_pb2.UpdateProfileRequest(tenant_id=TENANT, member_id=member.id, **fields)
            return next(api).UpdateProfile(request, timeout=60)

        def consent(channel: str) -> Any:
            request = members_pb2.SetConsentRequest(
                tenant_id=TENANT, member_id=member.id, channel=channel, granted=True, source="store_app"
            )
            return next(api).SetConsent(request, timeout=60)

        calls = [
            update(name="Lan"),
            update(surname="Zhou"),
            update(notes="prefers matte"),
            update(gender="female"),
            update(tags=["vip", "matte"]),
            update(birthday=members_pb2.Birthday(month=6, day=1)),
            update(preferred_channel="wechat"),
            consent("sms"),
            consent("wechat"),
            consent("app"),
            *(next(api).RecordPurchase(purchase(member.id, f"P-{i}", 20_000), timeout=60) for i in range(10)),
        ]
        await asyncio.gather(*calls)
        final = await apis[0].GetMember(members_pb2.GetMemberRequest(tenant_id=TENANT, member_id=member.id))
    assert (final.name, final.surname, final.notes, final.gender) == (
        "Lan",
        "Zhou",
        "prefers matte",
        "female",
    )
    assert sorted(final.tags) == ["matte", "vip"]
    assert (final.birthday.month, final.birthday.day, final.preferred_channel) == (6, 1, "wechat")
    assert dict(final.consent) == {"sms": True, "wechat": True, "app": True, "phone": False}
    stored = members_db(mongo, members_replicas)["members"].find_one({"_id": member.id})
    assert stored is not None
    assert stored["points_balance"] == 2_000
    assert (stored["stats"]["purchase_count"], stored["stats"]["total_spend"]) == (10, 200_000)
    assert stored["tier"] == "silver"


def refund(purchase_id: str, refund_id: str, amount: int) -> members_pb2.RefundPurchaseRequest:
    at = Timestamp()
    at.FromDatetime(datetime.now(UTC))
    return members_pb2.RefundPurchaseRequest(
        tenant_id=TENANT,
        purchase_id=purchase_id,
        refund_id=refund_id,
        lines=[members_pb2.RefundLine(sku="LIP-01", quantity=0, amount=amount)],
        occurred_at=at,
    )


async def test_refunds_of_one_purchase_on_two_replicas_at_once_never_give_back_more_than_was_paid(
    members_replicas: Stack, mongo: MongoClient[Any]
) -> None:
    async with replicas(members_replicas) as apis:
        member = await enrol(apis[0], "+8613955500006")
        bought = (await apis[0].RecordPurchase(purchase(member.id, "F-1", 100_000), timeout=20)).purchase
        answers = await asyncio.gather(
            *(
                apis[i % 2].RefundPurchase(refund(bought.id, f"RF-{i}", 10_000), timeout=120)
                for i in range(12)
            ),
            return_exceptions=True,
        )
        points = await apis[1].GetPoints(members_pb2.GetPointsRequest(tenant_id=TENANT, member_id=member.id))
    refused = [a for a in answers if isinstance(a, grpc.aio.AioRpcError)]
    done = [a for a in answers if not isinstance(a, BaseException)]
    assert len(done) == 10
    assert {r.code() for r in refused} == {grpc.StatusCode.INVALID_ARGUMENT}
    assert all(d.created for d in done)
    assert sum(d.points_reversed for d in done) == 1_000
    assert points.balance == 0
    stored = members_db(mongo, members_replicas)["members"].find_one({"_id": member.id})
    assert stored is not None
    assert (stored["stats"]["total_spend"], stored["stats"]["purchase_count"]) == (0, 1)
    entries = members_db(mongo, members_replicas)["points_entries"]
    assert entries.count_documents({"member_id": member.id, "reason": "refund"}) == 10


async def test_a_member_erased_on_two_replicas_at_once_is_erased_and_announced_once(
    members_replicas: Stack,
) -> None:
    async with replicas(members_replicas) as apis:
        member = await enrol(apis[0], "+8613955500007")
        request = members_pb2.EraseMemberRequest(tenant_id=TENANT, member_id=member.id, reason="asked")
        answers = await asyncio.gather(*(apis[i % 2].EraseMember(request, timeout=60) for i in range(8)))
    assert sum(a.erased_now for a in answers) == 1
    await asyncio.sleep(1)  # let a second announcement, if any, be relayed too
    erased = await asyncio.to_thread(
        published, members_replicas, "regulars.members.v1.member_erased", member.id, 1
    )
    assert len(erased) == 1


async def test_a_referral_code_asked_for_on_two_replicas_at_once_is_one_code(
    members_replicas: Stack, mongo: MongoClient[Any]
) -> None:
    async with replicas(members_replicas) as apis:
        member = await enrol(apis[0], "+8613955500008")
        request = members_pb2.GetReferralCodeRequest(tenant_id=TENANT, member_id=member.id)
        codes = await asyncio.gather(*(apis[i % 2].GetReferralCode(request, timeout=60) for i in range(10)))
    assert len({c.code for c in codes}) == 1
    db = members_db(mongo, members_replicas)
    assert db["referral_codes"].count_documents({"member_id": member.id}) == 1
    stored = db["members"].find_one({"_id": member.id})
    assert stored is not None
    assert stored["referral_code"] == codes[0].code


async def test_a_duplicate_merged_into_two_survivors_at_once_moves_into_one_of_them_only(
    members_replicas: Stack, mongo: MongoClient[Any]
) -> None:
    async with replicas(members_replicas) as apis:
        first = await enrol(apis[0], "+8613955500009")
        second = await enrol(apis[0], "+8613955500010")
        duplicate = await enrol(apis[0], "+8613955500011")
        await apis[0].RecordPurchase(purchase(duplicate.id, "D-1", 50_000), timeout=20)

        def merge(api: Any, survivor_id: str) -> Any:
            request = members_pb2.MergeMembersRequest(
                tenant_id=TENANT, survivor_id=survivor_id, duplicate_id=duplicate.id
            )
            return api.MergeMembers(request, timeout=60)

        answers = await asyncio.gather(
            *(merge(apis[i % 2], (first, second)[i // 2 % 2].id) for i in range(8)), return_exceptions=True
        )
    refused = [a for a in answers if isinstance(a, grpc.aio.AioRpcError)]
    assert {r.code() for r in refused} <= {grpc.StatusCode.FAILED_PRECONDITION}
    assert len(refused) < len(answers)
    db = members_db(mongo, members_replicas)
    gone = db["members"].find_one({"_id": duplicate.id})
    assert gone is not None
    winner = gone["merged_into"]
    assert winner in (first.id, second.id)
    assert "merging_into" not in gone
    balances = {m["_id"]: m["points_balance"] for m in db["members"].find({"tenant_id": TENANT})}
    assert balances[winner] == 500
    assert balances[duplicate.id] == 0
    assert balances[first.id] + balances[second.id] == 500
    survivor = db["members"].find_one({"_id": winner})
    assert survivor is not None
    assert survivor["stats"]["purchase_count"] == 1


async def test_two_replicas_running_one_calendar_day_at_once_announce_and_change_each_member_once(
    members_replicas: Stack, mongo: MongoClient[Any]
) -> None:
    day = datetime(datetime.now(UTC).year + 3, 5, 1, tzinfo=UTC)
    db = members_db(mongo, members_replicas)
    async with replicas(members_replicas) as apis:
        member = await enrol(apis[0], "+8613955500012")
        db["members"].update_one(
            {"_id": member.id},
            {
                "$set": {
                    "tier": "gold",
                    "birthday": {"month": 5, "day": 1, "year": None},
                    # gold today too: each replica's own daily run reviews tiers for today
                    "stats.spend_by_month": {f"{datetime.now(UTC):%Y-%m}": 900_000},
                }
            },
        )
        request = members_pb2.RunCalendarDayRequest(date=f"{day:%Y-%m-%d}")
        runs = await asyncio.gather(*(apis[i % 2].RunCalendarDay(request, timeout=120) for i in range(6)))
    assert sum(r.tiers_changed for r in runs) == 1
    assert sum(r.birthdays for r in runs) == 1
    assert sum(r.birthday_months_started for r in runs) == 1
    stored = db["members"].find_one({"_id": member.id})
    assert stored is not None
    assert stored["tier"] == "normal"
    await asyncio.sleep(1)  # let a second announcement, if any, be relayed too
    changed = await asyncio.to_thread(
        published, members_replicas, "regulars.members.v1.member_tier_changed", member.id, 1
    )
    assert len(changed) == 1
