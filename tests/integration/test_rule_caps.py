"""Earning-rule caps per member on the real store: purchases of one member at the same instant,
on two replicas, never take more than a rule's cap between them; a reservation a crash left
before its purchase was written is freed by the reconciler, one whose purchase was written is
kept; a retried receipt counts once; a refund gives the rule back what it reverses; a merge
brings the duplicate's per-store and per-rule counters to the survivor."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import MongoClient
from regulars.members.v1 import members_pb2
from ulid import ULID

from devstack.processes import Stack
from services.members.domain.purchases import purchase_key
from tests.integration.test_members_concurrency import replicas
from tests.integration.test_programmes import enrol, line, receipt, stamp
from tests.support import eventually

BONUS = members_pb2.EarningRule(id="welcome-bonus", name="100 points a visit, 250 at most", bonus_points=100)
CAP = 250


def members_db(mongo: MongoClient[Any], stack: Stack) -> Any:
    return mongo[f"{stack.namespace}regulars_members"]


async def capped_rule(api: Any, tenant: str, rule: members_pb2.EarningRule = BONUS, cap: int = CAP) -> None:
    capped = members_pb2.EarningRule()
    capped.CopyFrom(rule)
    capped.cap_per_member = cap
    await api.PutEarningRule(members_pb2.PutEarningRuleRequest(tenant_id=tenant, rule=capped, changed_by="t"))


def rule_total(member: dict[str, Any], rule_id: str = BONUS.id) -> int:
    return sum(
        int(v["points"]) for v in (member.get("rule_points") or {}).values() if v["rule_id"] == rule_id
    )


def rule_share(purchase: Any, rule_id: str = BONUS.id) -> int:
    return sum(s.points for s in purchase.points_shares if s.rule_id == rule_id)


async def test_ten_purchases_at_once_on_two_replicas_never_take_more_than_the_cap(
    members_replicas: Stack, mongo: MongoClient[Any]
) -> None:
    tenant = f"caps-{ULID()}"
    async with replicas(members_replicas) as apis:
        await capped_rule(apis[0], tenant)
        member = await enrol(apis[0], tenant, "+8613900002001")
        now = datetime.now(UTC)
        answers = await asyncio.gather(
            *(
                apis[i % 2].RecordPurchase(receipt(tenant, member, [line(1_000)], now), timeout=60)
                for i in range(10)
            )
        )
        points = await apis[1].GetPoints(members_pb2.GetPointsRequest(tenant_id=tenant, member_id=member))

    shares = sorted((rule_share(a.purchase) for a in answers), reverse=True)
    assert all(a.created for a in answers)
    assert shares == [100, 100, 50, 0, 0, 0, 0, 0, 0, 0]  # exactly the cap, in whole visits then the rest
    db = members_db(mongo, members_replicas)
    stored = db["members"].find_one({"_id": member})
    assert stored is not None
    assert rule_total(stored) == CAP
    assert not stored.get("cap_holds")
    assert "cap_holds_since" not in stored
    awarded = [a.purchase.points_awarded for a in answers]
    assert [sum(s.points for s in a.purchase.points_shares) for a in answers] == awarded
    assert stored["points_balance"] == points.balance == sum(awarded) == 10 * 10 + CAP
    entries = list(db["points_entries"].find({"member_id": member}))
    assert sum(e["delta"] for e in entries) == points.balance
    recorded = list(db["purchases"].find({"member_id": member}))
    assert sum(p["cap_hold"]["points"][0]["points"] for p in recorded if p.get("cap_hold")) == CAP


async def test_a_reservation_left_by_a_crash_is_freed_and_one_whose_purchase_was_written_is_kept(
    stack: Stack, mongo: MongoClient[Any]
) -> None:
    tenant = f"caps-{ULID()}"
    async with replicas(stack) as [api]:
        await capped_rule(api, tenant)
        member = await enrol(api, tenant, "+8613900002002")
        first = await api.RecordPurchase(receipt(tenant, member, [line(1_000)], datetime.now(UTC)))
    db = members_db(mongo, stack)
    template = db["purchases"].find_one({"_id": first.purchase.id})
    assert template is not None
    assert rule_share(first.purchase) == 100
    # What two crashes leave, ten minutes ago (past the reconciler's grace): each a reservation of
    # 100 on the member; the first crashed before its purchase's insert, the second right after it.
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    ghost, written = purchase_key(tenant, "st-1", "GHOST"), purchase_key(tenant, "st-1", "WRITTEN")
    holds = {
        key: {
            "purchase_id": key,
            "hold_id": str(ULID()),
            "points": [{"rule_id": BONUS.id, "points": 100}],
            "at": long_ago,
        }
        for key in (ghost, written)
    }
    db["members"].update_one(
        {"_id": member},
        {
            "$set": {f"cap_holds.{k}": h for k, h in holds.items()} | {"cap_holds_since": long_ago},
            "$inc": {f"rule_points.{BONUS.id}.points": 200, "_v": 1},
        },
    )
    db["purchases"].insert_one(
        {k: v for k, v in template.items() if not k.startswith("_outbox")}
        | {
            "_id": written,
            "receipt_no": "WRITTEN",
            "cap_hold": holds[written],
            "pending": True,
            "pending_since": datetime.now(UTC) - timedelta(seconds=10),
        }
    )

    def settled() -> dict[str, Any] | None:
        doc = db["members"].find_one({"_id": member})
        return doc if doc and not doc.get("cap_holds") and written in doc.get("_applied", {}) else None

    doc = await asyncio.to_thread(eventually, settled, 30)
    assert rule_total(doc) == 200  # the first purchase's and the written one's; the ghost's freed
    assert "cap_holds_since" not in doc
    assert doc["points_balance"] == 2 * (10 + 100)
    assert db["purchases"].count_documents({"_id": ghost}) == 0


async def test_a_retried_receipt_counts_its_capped_share_once(stack: Stack, mongo: MongoClient[Any]) -> None:
    tenant = f"caps-{ULID()}"
    async with replicas(stack) as [api]:
        await capped_rule(api, tenant)
        member = await enrol(api, tenant, "+8613900002003")
        till = receipt(tenant, member, [line(1_000)], datetime.now(UTC))
        together = await asyncio.gather(*(api.RecordPurchase(till) for _ in range(5)))
        later = await api.RecordPurchase(till)  # after it was completed: its hold is gone by now
        again = await api.RecordPurchase(receipt(tenant, member, [line(1_000)], datetime.now(UTC)))

    assert sorted(a.created for a in together) == [False, False, False, False, True]
    assert {rule_share(a.purchase) for a in (*together, later)} == {100}
    assert rule_share(again.purchase) == 100
    doc = members_db(mongo, stack)["members"].find_one({"_id": member})
    assert doc is not None
    assert rule_total(doc) == 200
    assert not doc.get("cap_holds")
    assert "cap_holds_since" not in doc


async def test_a_refund_gives_the_rule_back_the_points_it_reverses(
    stack: Stack, mongo: MongoClient[Any]
) -> None:
    tenant = f"caps-{ULID()}"
    async with replicas(stack) as [api]:
        await capped_rule(api, tenant, cap=100)
        member = await enrol(api, tenant, "+8613900002004")
        first = await api.RecordPurchase(receipt(tenant, member, [line(1_000)], datetime.now(UTC)))
        capped_out = await api.RecordPurchase(receipt(tenant, member, [line(1_000)], datetime.now(UTC)))
        await api.RefundPurchase(
            members_pb2.RefundPurchaseRequest(
                tenant_id=tenant,
                purchase_id=first.purchase.id,
                refund_id="R-1",
                occurred_at=stamp(datetime.now(UTC)),
            )
        )
        after_refund = await api.RecordPurchase(receipt(tenant, member, [line(1_000)], datetime.now(UTC)))

    assert [rule_share(p.purchase) for p in (first, capped_out, after_refund)] == [100, 0, 100]
    doc = members_db(mongo, stack)["members"].find_one({"_id": member})
    assert doc is not None
    assert rule_total(doc) == 100


async def test_a_merge_brings_the_duplicates_store_visits_and_rule_points_to_the_survivor(
    stack: Stack, mongo: MongoClient[Any]
) -> None:
    tenant = f"caps-{ULID()}"
    first_visit = members_pb2.EarningRule(
        id="first-visit",
        name="50 for a first purchase in a store",
        bonus_points=50,
        first_purchase_in_store=True,
    )
    async with replicas(stack) as [api]:
        await capped_rule(api, tenant, cap=150)
        await api.PutEarningRule(
            members_pb2.PutEarningRuleRequest(tenant_id=tenant, rule=first_visit, changed_by="t")
        )
        survivor = await enrol(api, tenant, "+8613900002005")
        duplicate = await enrol(api, tenant, "+8613900002006")
        bought = await api.RecordPurchase(
            receipt(tenant, duplicate, [line(1_000)], datetime.now(UTC), store="st-dup")
        )
        await api.MergeMembers(
            members_pb2.MergeMembersRequest(tenant_id=tenant, survivor_id=survivor, duplicate_id=duplicate)
        )
        preview = await api.PreviewEarning(
            members_pb2.PreviewEarningRequest(
                tenant_id=tenant,
                member_id=survivor,
                store_id="st-dup",
                lines=[line(1_000)],
                at=stamp(datetime.now(UTC)),
            )
        )
        next_visit = await api.RecordPurchase(
            receipt(tenant, survivor, [line(1_000)], datetime.now(UTC), store="st-dup")
        )

    assert {s.rule_id: s.points for s in bought.purchase.points_shares if s.rule_id} == {
        BONUS.id: 100,
        "first-visit": 50,
    }
    assert {s.rule_id: s.points for s in preview.shares if s.rule_id} == {BONUS.id: 50}  # not a first visit
    assert {s.rule_id: s.points for s in next_visit.purchase.points_shares if s.rule_id} == {BONUS.id: 50}
    doc = members_db(mongo, stack)["members"].find_one({"_id": survivor})
    assert doc is not None
    assert rule_total(doc) == 150
    assert doc["stats"]["stores"]["st-dup"] == 2


async def test_a_retry_after_a_crash_finds_its_own_reservation_and_records_what_it_took(
    stack: Stack, mongo: MongoClient[Any]
) -> None:
    tenant = f"caps-{ULID()}"
    async with replicas(stack) as [api]:
        await capped_rule(api, tenant, cap=100)
        member = await enrol(api, tenant, "+8613900002007")
        till = receipt(tenant, member, [line(1_000)], datetime.now(UTC))
        # The first attempt took the whole cap for this receipt and crashed before the insert.
        key, hold_id = purchase_key(tenant, "st-1", till.receipt_no), str(ULID())
        hold = {"purchase_id": key, "hold_id": hold_id, "points": [{"rule_id": BONUS.id, "points": 100}]}
        members_db(mongo, stack)["members"].update_one(
            {"_id": member},
            {
                "$set": {f"cap_holds.{key}": hold | {"at": datetime.now(UTC) - timedelta(minutes=2)}}
                | {
                    "cap_holds_since": datetime.now(UTC) - timedelta(minutes=2),
                    f"rule_points.{BONUS.id}.rule_id": BONUS.id,
                },
                "$inc": {f"rule_points.{BONUS.id}.points": 100, "_v": 1},
            },
        )
        retried = await api.RecordPurchase(till)

    assert rule_share(retried.purchase) == 100  # what its reservation took, though the cap reads full
    db = members_db(mongo, stack)
    stored = db["purchases"].find_one({"_id": key})
    assert stored is not None
    assert stored["cap_hold"]["hold_id"] == hold_id
    doc = db["members"].find_one({"_id": member})
    assert doc is not None
    assert rule_total(doc) == 100
    assert not doc.get("cap_holds")
