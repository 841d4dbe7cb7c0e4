"""Feedback's store adapters on the real store, each in a database of its own: reviews and cases
read back exactly as written; an insert is once per id and its events are written once; a stale
save writes and announces nothing; the clock's queries find exactly the cases due (by their
indexes, on the embedded FerretDB); a store-month budget is charged once per case and never
past its limit however many charges race; a policy version is made current once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from regulars.feedback.v1 import events_pb2

from chassis import mongo, outbox
from services.feedback.adapters import budget_mongo, cases_mongo, policy_mongo, reviews_mongo
from services.feedback.adapters.budget_mongo import MongoBudgets, case_key
from services.feedback.adapters.cases_mongo import MongoCases
from services.feedback.adapters.documents import case_doc, review_doc
from services.feedback.adapters.policy_mongo import MongoPolicies
from services.feedback.adapters.reviews_mongo import MongoReviews
from services.feedback.domain import transitions
from services.feedback.domain.cases import (
    Action,
    Case,
    CaseState,
    Category,
    Remedy,
    RemedyKind,
    Settlement,
    Source,
    TimelineEntry,
)
from services.feedback.domain.events import (
    ComplaintAcknowledged,
    ComplaintOpened,
    ComplaintSlaBreached,
    ReviewPosted,
    case_facts,
)
from services.feedback.domain.policy import defaults
from services.feedback.domain.reviews import Channel, RatingClass, Reply, Review, ReviewVersion
from services.feedback.domain.risk import RiskAssessment, RiskDecision
from services.feedback.domain.sla import Severity
from tests.support import fresh_namespace, server_urls

pytestmark = pytest.mark.servers

Doc = dict[str, Any]
TOPIC = "feedback-store-topic"
# To the millisecond: what BSON keeps of an instant.
T0 = datetime(2026, 5, 4, 9, 30, 12, 345000, tzinfo=UTC)
HOUR = timedelta(hours=1)
INDEXES = reviews_mongo.INDEXES | cases_mongo.INDEXES | policy_mongo.INDEXES | budget_mongo.INDEXES


class _Relay:
    """Stands in for the outbox relay: counts wake-ups, never publishes."""

    def __init__(self) -> None:
        self.woken = 0

    def wake(self) -> None:
        self.woken += 1


@dataclass
class Store:
    db: AsyncDatabase[Doc]
    reviews: MongoReviews
    cases: MongoCases
    policies: MongoPolicies
    budgets: MongoBudgets
    relay: _Relay


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    mongodb, _ = server_urls()
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongodb, tz_aware=True, maxPoolSize=120)
    db = client[f"{fresh_namespace()}feedback"]
    await mongo.ensure_indexes(db, INDEXES)
    counting = _Relay()
    relay = cast(outbox.Outbox, counting)  # only woken: nothing is published here
    try:
        yield Store(
            db,
            MongoReviews(db, TOPIC, relay),
            MongoCases(db, TOPIC, relay),
            MongoPolicies(db),
            MongoBudgets(db),
            counting,
        )
    finally:
        await client.drop_database(db.name)
        await client.close()


def a_review(review_id: str = "R1", tenant_id: str = "t1", **changes: Any) -> Review:
    return replace(
        Review(
            id=review_id,
            tenant_id=tenant_id,
            member_id="m1",
            store_id="s1",
            receipt_no="RC-7",
            sku="SKU-1",
            rating=2,
            text="cold coffee",
            image_urls=("https://img.example/1.jpg",),
            channel=Channel.MINI_PROGRAM,
            posted_at=T0,
        ),
        **changes,
    )


def a_full_review() -> Review:
    first = Reply("sorry", "cold coffee", 2, "staff-1", T0 + HOUR)
    return a_review(
        rating=3,
        text="better now",
        image_urls=("https://img.example/1.jpg", "https://img.example/2.jpg"),
        channel=Channel.STORE_APP,
        updated_at=T0 + 2 * HOUR,
        history=(ReviewVersion(2, "cold coffee", ("https://img.example/1.jpg",), T0),),
        reply=Reply("thank you", "better now", 3, "staff-2", T0 + 3 * HOUR),
        earlier_replies=(first,),
        case_id="C1",
        verified_purchase=True,
        version=4,
    )


def a_case(case_id: str = "C1", tenant_id: str = "t1", **changes: Any) -> Case:
    return replace(
        Case(
            id=case_id,
            tenant_id=tenant_id,
            member_id="m1",
            store_id="s1",
            category=Category.PRODUCT_QUALITY,
            severity=Severity.MEDIUM,
            description="the milk was sour",
            state=CaseState.OPEN,
            source=Source.CUSTOMER,
            opened_by="m1",
            opened_at=T0,
            first_response_due=T0 + 4 * HOUR,
            resolution_due=T0 + 24 * HOUR,
            timeline=(TimelineEntry(Action.OPENED, "m1", T0, "the milk was sour"),),
        ),
        **changes,
    )


def a_full_case() -> Case:
    remedy = Remedy(RemedyKind.COUPON, "sorry", "tpl-bad", 1000, "CODE1")
    return a_case(
        state=CaseState.IN_PROGRESS,
        source=Source.REVIEW,
        review_id="R1",
        receipt_no="RC-7",
        rating_class=RatingClass.BAD,
        assigned_store_id="s2",
        assigned_staff_id="a7",
        timeline=(
            TimelineEntry(Action.OPENED, "m1", T0, "sour"),
            TimelineEntry(Action.ACKNOWLEDGED, "staff-1", T0 + HOUR, "we are sorry"),
            TimelineEntry(Action.SLA_BREACHED, "clock", T0 + 30 * HOUR, "resolution"),
        ),
        remedy=remedy,
        risk=RiskAssessment(
            70, ("no purchase at this store", "joined today"), True, RiskDecision.APPROVED, "mgr"
        ),
        satisfaction=4,
        follow_up_at=T0 + 200 * HOUR,
        sla_breaches=("resolution",),
        first_responded_at=T0 + HOUR,
        resolved_at=T0 + 40 * HOUR,
        rejected_at=T0 + 41 * HOUR,
        pending=Settlement(
            Remedy(RemedyKind.POINTS, "for the trouble", points=300),
            "staff-1",
            T0 + 39 * HOUR,
            "2026-05",
            50000,
            10,
        ),
        version=7,
    )


async def outbox_of(db: AsyncDatabase[Doc], collection: str, doc_id: str) -> dict[str, Doc]:
    doc = await db[collection].find_one({"_id": doc_id})
    assert doc is not None
    return dict(doc.get("_outbox") or {})


# Round trips


async def test_a_review_reads_back_exactly_as_stored(store: Store) -> None:
    full, plain = a_full_review(), a_review("R2")

    assert await store.reviews.insert(full, ReviewPosted(full)) == (full, True)
    await store.reviews.insert(plain, ReviewPosted(plain))

    assert await store.reviews.get("t1", "R1") == full
    assert await store.reviews.get("t1", "R2") == plain
    assert await store.reviews.get("t2", "R1") is None  # another tenant's id is nothing of ours


async def test_a_case_reads_back_exactly_as_stored(store: Store) -> None:
    full, plain = a_full_case(), a_case("C2")

    assert await store.cases.insert(full, []) == (full, True)
    await store.cases.insert(plain, case_facts(None, plain, T0))

    assert await store.cases.get("t1", "C1") == full
    assert await store.cases.get("t1", "C2") == plain
    assert await store.cases.get("t2", "C1") is None


def test_documents_hold_every_field_of_a_review_and_a_case() -> None:
    stored = {"_id" if f.name == "id" else f.name for f in fields(Review)} | {"rating_class"}
    assert set(review_doc(a_full_review())) == stored
    assert set(case_doc(a_full_case())) == {"_id" if f.name == "id" else f.name for f in fields(Case)} | {
        "next_due",
        "pending_at",
    }


# Insert once


async def test_a_review_inserted_twice_is_stored_once_with_the_first_ones_event(store: Store) -> None:
    first = a_review()
    second = a_review(text="a retry that says something else")

    stored_first = await store.reviews.insert(first, ReviewPosted(first))
    stored_again = await store.reviews.insert(second, ReviewPosted(second))

    assert stored_first == (first, True)
    assert stored_again == (first, False)
    assert await store.db["reviews"].count_documents({}) == 1
    events = list((await outbox_of(store.db, "reviews", "R1")).values())
    assert [e["type"] for e in events] == ["regulars.feedback.v1.review_posted"]
    posted = events_pb2.ReviewPosted.FromString(bytes(events[0]["data"]))
    assert (posted.review.text, events[0]["subject"], events[0]["tenant_id"]) == ("cold coffee", "m1", "t1")
    assert store.relay.woken == 1


async def test_a_case_inserted_twice_is_stored_once_with_the_first_ones_facts(store: Store) -> None:
    first = a_case()
    second = a_case(description="opened again by a retry")

    assert await store.cases.insert(first, case_facts(None, first, T0)) == (first, True)
    assert await store.cases.insert(second, case_facts(None, second, T0)) == (first, False)

    assert await store.db["cases"].count_documents({}) == 1
    events = list((await outbox_of(store.db, "cases", "C1")).values())
    assert [e["type"] for e in events] == ["regulars.feedback.v1.complaint_opened"]
    opened = events_pb2.ComplaintOpened.FromString(bytes(events[0]["data"]))
    assert opened.case.description == "the milk was sour"


async def test_concurrent_inserts_of_one_case_store_it_once(store: Store) -> None:
    tries = [a_case(description=f"attempt {i}") for i in range(10)]

    results = await asyncio.gather(*(store.cases.insert(c, case_facts(None, c, T0)) for c in tries))

    created = [case for case, now in results if now]
    assert len(created) == 1
    assert all(case == created[0] for case, _ in results)
    assert len(await outbox_of(store.db, "cases", "C1")) == 1


# Saves guarded by the version


async def test_a_review_saved_on_a_stale_version_writes_nothing(store: Store) -> None:
    review = a_review()
    await store.reviews.insert(review, ReviewPosted(review))
    amended = replace(review, text="fine after all", rating=4, updated_at=T0 + HOUR, version=2)

    assert await store.reviews.save(amended, 1) is True
    assert await store.reviews.save(replace(review, text="lost update", version=2), 1) is False

    assert await store.reviews.get("t1", "R1") == amended
    # the save kept the review_posted the relay has not sent yet
    assert len(await outbox_of(store.db, "reviews", "R1")) == 1
    other_tenant = replace(amended, tenant_id="t2", text="not yours", version=3)
    assert await store.reviews.save(other_tenant, 2) is False


async def test_a_case_saved_writes_its_facts_and_a_stale_save_writes_and_announces_nothing(
    store: Store,
) -> None:
    case = a_case()
    await store.cases.insert(case, case_facts(None, case, T0))
    at = T0 + 5 * HOUR  # after the first response was due
    acked = replace(transitions.acknowledge(case, "staff-1", "so sorry", at), version=2)
    facts = case_facts(case, acked, at)
    assert [type(f) for f in facts] == [ComplaintAcknowledged, ComplaintSlaBreached]

    assert await store.cases.save(acked, 1, facts) is True
    stale = replace(transitions.reject(case, "staff-2", "no receipt", at), version=2)
    assert await store.cases.save(stale, 1, case_facts(case, stale, at)) is False

    assert await store.cases.get("t1", "C1") == acked
    events = await outbox_of(store.db, "cases", "C1")
    assert sorted(e["type"] for e in events.values()) == [
        "regulars.feedback.v1.complaint_acknowledged",
        "regulars.feedback.v1.complaint_opened",
        "regulars.feedback.v1.complaint_sla_breached",
    ]
    breached = next(e for e in events.values() if e["type"].endswith("sla_breached"))
    payload = events_pb2.ComplaintSlaBreached.FromString(bytes(breached["data"]))
    assert (payload.sla, payload.severity, payload.case_id) == ("first_response", "medium", "C1")
    assert payload.due.ToDatetime(UTC) == case.first_response_due
    assert breached["time"] == at


# Listing


async def test_listings_filter_sort_and_keep_to_the_tenant(store: Store) -> None:
    rows = [
        a_review("R1", rating=5, posted_at=T0),
        a_review("R2", rating=1, posted_at=T0 + HOUR),
        a_review("R3", rating=2, posted_at=T0 + 2 * HOUR, store_id="s2"),
        a_review("R4", rating=3, posted_at=T0 + 3 * HOUR, member_id="m2"),
        a_review("R5", rating=1, posted_at=T0 + 4 * HOUR, tenant_id="t2"),
    ]
    for r in rows:
        await store.reviews.insert(r, ReviewPosted(r))

    def ids(found: list[Review]) -> list[str]:
        return [r.id for r in found]

    assert ids(await store.reviews.find("t1", "", "", None, 10)) == ["R4", "R3", "R2", "R1"]
    assert ids(await store.reviews.find("t1", "", "", None, 2)) == ["R4", "R3"]
    assert ids(await store.reviews.find("t1", "s1", "", None, 10)) == ["R4", "R2", "R1"]
    assert ids(await store.reviews.find("t1", "", "m1", RatingClass.BAD, 10)) == ["R3", "R2"]
    assert ids(await store.reviews.of_member("t1", "m1")) == ["R1", "R2", "R3"]
    assert ids(await store.reviews.bad_since("t1", "m1", T0 + HOUR)) == ["R2", "R3"]
    assert ids(await store.reviews.bad_since("t1", "m1", T0 + HOUR + timedelta(milliseconds=1))) == ["R3"]

    cases = [
        a_case("C1", opened_at=T0),
        a_case("C2", opened_at=T0 + HOUR, state=CaseState.RESOLVED),
        a_case("C3", opened_at=T0 + 2 * HOUR, store_id="s2"),
        a_case("C4", opened_at=T0 + 3 * HOUR, member_id="m2"),
        a_case("C5", opened_at=T0 + 4 * HOUR, tenant_id="t2"),
    ]
    for c in cases:
        await store.cases.insert(c, [])

    def case_ids(found: list[Case]) -> list[str]:
        return [c.id for c in found]

    assert case_ids(await store.cases.find("t1", None, "", "", 10)) == ["C4", "C3", "C2", "C1"]
    assert case_ids(await store.cases.find("t1", CaseState.OPEN, "s1", "", 10)) == ["C4", "C1"]
    assert case_ids(await store.cases.find("t1", None, "", "m1", 2)) == ["C3", "C2"]
    assert case_ids(await store.cases.of_member("t1", "m1")) == ["C1", "C2", "C3"]


# The clock's queries


NOW = T0 + 30 * HOUR  # past the first response (T0+4h) and resolution (T0+24h) of a_case()
LATER = T0 + 100 * HOUR
SETTLEMENT = Settlement(Remedy(RemedyKind.POINTS, "", points=100), "staff-1", NOW - 2 * HOUR)


def clock_cases() -> dict[str, Case]:
    """Cases of two tenants, each named for whether the clock's queries should find it."""
    ack: dict[str, Any] = {"state": CaseState.ACKNOWLEDGED, "first_responded_at": T0 + HOUR}
    return {
        # overdue
        "open_late": a_case(),
        "open_late_t2": a_case(tenant_id="t2"),
        "open_first_response_recorded": a_case(sla_breaches=("first_response",)),  # resolution still
        "acked_resolution_late": a_case(**ack),
        "settling_decided_late": a_case(
            state=CaseState.IN_PROGRESS,
            first_responded_at=T0 + HOUR,
            pending=replace(SETTLEMENT, at=T0 + 26 * HOUR),
            resolution_due=T0 + 25 * HOUR,
        ),
        # not overdue
        "open_in_time": a_case(first_response_due=NOW + HOUR, resolution_due=NOW + 9 * HOUR),
        "both_recorded": a_case(sla_breaches=("first_response", "resolution")),
        "acked_resolution_recorded": a_case(**ack, sla_breaches=("resolution",)),
        "acked_in_time": a_case(**ack, resolution_due=NOW + HOUR),
        "settling_decided_in_time": a_case(
            state=CaseState.IN_PROGRESS,
            first_responded_at=T0 + HOUR,
            pending=SETTLEMENT,
            resolution_due=NOW - HOUR,
        ),
        "rejected": a_case(state=CaseState.REJECTED, rejected_at=T0 + 40 * HOUR),
        "closed": a_case(state=CaseState.CLOSED, resolved_at=T0 + HOUR, follow_up_at=T0 + 2 * HOUR),
        # follow-ups due (resolved: their SLAs are met)
        "resolved_follow_up_due": a_case(
            state=CaseState.RESOLVED, resolved_at=T0 + HOUR, first_responded_at=T0, follow_up_at=NOW - HOUR
        ),
        "resolved_follow_up_now_t2": a_case(
            tenant_id="t2",
            state=CaseState.RESOLVED,
            resolved_at=T0 + HOUR,
            first_responded_at=T0,
            follow_up_at=NOW,
        ),
        "resolved_follow_up_later": a_case(
            state=CaseState.RESOLVED, resolved_at=T0 + HOUR, first_responded_at=T0, follow_up_at=NOW + HOUR
        ),
        "follow_up_already": a_case(
            state=CaseState.FOLLOW_UP, resolved_at=T0 + HOUR, first_responded_at=T0, follow_up_at=NOW - HOUR
        ),
    }


async def _store_clock_cases(store: Store) -> None:
    for name, case in clock_cases().items():
        await store.cases.insert(replace(case, id=name), [])


def names(found: list[Case]) -> set[str]:
    return {c.id for c in found}


async def test_overdue_finds_the_cases_with_an_sla_past_due_and_unrecorded_only(store: Store) -> None:
    await _store_clock_cases(store)

    assert names(await store.cases.overdue(NOW, 100)) == {
        "open_late",
        "open_late_t2",
        "open_first_response_recorded",
        "acked_resolution_late",
        "settling_decided_late",
    }
    assert len(await store.cases.overdue(NOW, 2)) == 2
    assert names(await store.cases.overdue(T0 + 5 * HOUR, 100)) == {"open_late", "open_late_t2"}
    assert await store.cases.overdue(T0, 100) == []


async def test_an_overdue_case_leaves_the_clocks_query_once_its_breaches_are_recorded(store: Store) -> None:
    case = a_case()
    await store.cases.insert(case, [])
    first = replace(transitions.record_breaches(case, T0 + 5 * HOUR), version=2)
    await store.cases.save(first, 1, case_facts(case, first, T0 + 5 * HOUR))

    assert names(await store.cases.overdue(T0 + 5 * HOUR, 10)) == set()  # resolution not due yet
    assert names(await store.cases.overdue(NOW, 10)) == {"C1"}  # now the resolution is
    second = replace(transitions.record_breaches(first, NOW), version=3)
    await store.cases.save(second, 2, case_facts(first, second, NOW))
    assert await store.cases.overdue(LATER, 10) == []


async def test_follow_ups_due_finds_resolved_cases_whose_day_came_only(store: Store) -> None:
    await _store_clock_cases(store)

    assert names(await store.cases.follow_ups_due(NOW, 100)) == {
        "resolved_follow_up_due",
        "resolved_follow_up_now_t2",
    }
    assert names(await store.cases.follow_ups_due(LATER, 1)) == {"resolved_follow_up_due"}  # earliest first


async def test_settling_finds_pending_settlements_decided_before_then_only(store: Store) -> None:
    await _store_clock_cases(store)

    assert names(await store.cases.settling(NOW, 100)) == {
        "settling_decided_late",
        "settling_decided_in_time",
    }
    assert names(await store.cases.settling(NOW - 2 * HOUR, 100)) == {"settling_decided_late"}
    assert await store.cases.settling(T0 + 26 * HOUR, 100) == []
    done = await store.cases.get("t1", "settling_decided_late")
    assert done is not None
    finished = replace(transitions.finish_resolution(done, NOW), version=2)
    assert await store.cases.save(finished, 1, case_facts(done, finished, NOW))
    assert names(await store.cases.settling(LATER, 100)) == {"settling_decided_in_time"}


async def _is_ferretdb(db: AsyncDatabase[Doc]) -> bool:
    return "ferretdbVersion" in await db.command("buildInfo")


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ({"next_due": {"$lt": NOW}}, "sla_due"),
        ({"state": "resolved", "follow_up_at": {"$lte": NOW}}, "follow_up_due"),
        ({"pending_at": {"$lt": NOW}}, "settling"),
        ({"tenant_id": "t1", "member_id": "m1"}, "member_cases"),
        ({"tenant_id": "t1", "_id": "open_late"}, "_id_"),
    ],
    ids=["overdue", "follow_ups_due", "settling", "of_member", "get"],
)
async def test_the_clocks_queries_search_their_index(store: Store, query: Doc, index: str) -> None:
    if not await _is_ferretdb(store.db):
        pytest.skip(
            "query plans are checked on the embedded FerretDB only (tests/store/test_store_indexes.py)"
        )
    await _store_clock_cases(store)

    explained = await store.db.command("explain", {"find": "cases", "filter": query})
    plan = [str(line) for line in explained["queryPlanner"]["Plan"]]

    assert not any("SCAN" in line for line in plan), plan
    assert any("SEARCH" in line and f"_{index} (" in line for line in plan), plan


# Budgets


async def test_concurrent_charges_of_different_cases_stop_at_the_limit(store: Store) -> None:
    charges = [store.budgets.charge("t1", "s1", "2026-05", f"CASE{i:02d}", 500, 5000) for i in range(50)]

    results = await asyncio.gather(*charges)

    assert results.count(True) == 10
    doc = await store.db["compensation_budgets"].find_one({"_id": "t1:s1:2026-05"})
    assert doc is not None
    assert doc["spent"] == 10 * 500
    assert sorted(doc["cases"]) == sorted(f"CASE{i:02d}" for i, ok in enumerate(results) if ok)
    # a refused case stays refused, a charged one is still charged
    refused = next(i for i, ok in enumerate(results) if not ok)
    charged = next(i for i, ok in enumerate(results) if ok)
    assert await store.budgets.charge("t1", "s1", "2026-05", f"CASE{refused:02d}", 500, 5000) is False
    assert await store.budgets.charge("t1", "s1", "2026-05", f"CASE{charged:02d}", 500, 5000) is True


async def test_one_case_charged_concurrently_is_charged_once(store: Store) -> None:
    results = await asyncio.gather(
        *(store.budgets.charge("t1", "s1", "2026-05", "C1", 700, 5000) for _ in range(10))
    )

    assert results == [True] * 10
    doc = await store.db["compensation_budgets"].find_one({"_id": "t1:s1:2026-05"})
    assert doc is not None
    assert (doc["spent"], doc["cases"]) == (700, {"C1": 700})


async def test_budgets_are_per_tenant_store_and_month_and_odd_case_ids_are_safe(store: Store) -> None:
    assert await store.budgets.charge("t1", "s1", "2026-05", "a.b", 400, 1000)
    assert await store.budgets.charge("t1", "s1", "2026-05", "$x", 400, 1000)
    assert await store.budgets.charge("t1", "s1", "2026-05", "a.b", 400, 1000)  # again: charged before
    assert not await store.budgets.charge("t1", "s1", "2026-05", "C3", 400, 1000)  # 200 left
    assert await store.budgets.charge("t1", "s2", "2026-05", "C3", 400, 1000)
    assert await store.budgets.charge("t1", "s1", "2026-06", "C3", 400, 1000)
    assert await store.budgets.charge("t2", "s1", "2026-05", "C3", 400, 1000)
    assert not await store.budgets.charge("t1", "s1", "2026-07", "C4", 1001, 1000)  # more than the limit

    doc = await store.db["compensation_budgets"].find_one({"_id": "t1:s1:2026-05"})
    assert doc is not None
    assert doc["spent"] == 800
    assert sorted(doc["cases"]) == sorted([case_key("a.b"), case_key("$x")])
    assert case_key("a.b").startswith("~")
    assert case_key("CASE1") == "CASE1"
    assert await store.db["compensation_budgets"].count_documents({}) == 5


# Policies


async def test_a_policy_version_is_made_current_once(store: Store) -> None:
    assert await store.policies.current("t1") == defaults("t1")
    v1 = replace(defaults("t1"), store_monthly_budget=5000, version=1, changed_by="admin", changed_at=T0)
    rival = replace(v1, store_monthly_budget=9000, changed_by="rival")

    assert await store.policies.save(v1) is True
    assert await store.policies.save(rival) is False  # version 1 is taken
    assert await store.policies.current("t1") == v1
    v2 = replace(v1, follow_up_days=3, version=2, changed_at=T0 + HOUR)
    assert await store.policies.save(replace(v2, version=3)) is False  # skips a version
    assert await store.policies.save(v2) is True
    assert await store.policies.save(replace(v2, risk_threshold=80)) is False  # version 2 again

    current = await store.policies.current("t1")
    assert (current, current.changed_at, current.changed_by) == (v2, T0 + HOUR, "admin")
    assert await store.policies.current("t2") == defaults("t2")


async def test_concurrent_first_saves_of_a_policy_make_one_current(store: Store) -> None:
    tries = [replace(defaults("t1"), store_monthly_budget=100 * (i + 1), version=1) for i in range(10)]

    results = await asyncio.gather(*(store.policies.save(p) for p in tries))

    assert results.count(True) == 1
    assert await store.policies.current("t1") == tries[results.index(True)]


def test_the_facts_of_a_new_case_are_its_opening() -> None:
    assert [type(f) for f in case_facts(None, a_case(), T0)] == [ComplaintOpened]
