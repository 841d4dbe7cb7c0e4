"""Feedback's report adapters on the real store, in a database of their own: a purchase is
counted once however often it is counted (and concurrently), the counts are grouped by store,
assistant and month within the tenant, a receipt finds its credited assistant; cases and
reviews of a period read back as the figures of what was stored, within [start, end), the
tenant and the store; and every report query searches its index on the embedded FerretDB."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, cast

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from chassis import mongo, outbox
from services.feedback.adapters import cases_mongo, purchases_mongo, reviews_mongo
from services.feedback.adapters.cases_mongo import MongoCases
from services.feedback.adapters.purchases_mongo import MongoPurchaseCounts, marker_id
from services.feedback.adapters.reviews_mongo import MongoReviews
from services.feedback.domain.events import ReviewPosted
from services.feedback.domain.reports import CaseFigures, CountedPurchase, PurchaseCount, ReviewFigures
from services.feedback.domain.reviews import ReviewVersion
from tests.integration.test_feedback_store import T0, a_case, a_full_case, a_review
from tests.support import fresh_namespace, server_urls

pytestmark = pytest.mark.servers

Doc = dict[str, Any]
HOUR = timedelta(hours=1)
INDEXES = cases_mongo.INDEXES | reviews_mongo.INDEXES | purchases_mongo.INDEXES


class _Relay:
    def wake(self) -> None:
        pass


@dataclass
class Store:
    db: AsyncDatabase[Doc]
    cases: MongoCases
    reviews: MongoReviews
    purchases: MongoPurchaseCounts


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    mongodb, _ = server_urls()
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongodb, tz_aware=True, maxPoolSize=60)
    db = client[f"{fresh_namespace()}feedback_reports"]
    await mongo.ensure_indexes(db, INDEXES)
    relay = cast(outbox.Outbox, _Relay())
    try:
        yield Store(db, MongoCases(db, "t", relay), MongoReviews(db, "t", relay), MongoPurchaseCounts(db))
    finally:
        await client.drop_database(db.name)
        await client.close()


def bought(
    receipt: str, store: str = "s1", assistant: str = "a1", month: str = "2026-05", tenant: str = "t1"
) -> CountedPurchase:
    return CountedPurchase(tenant, f"p-{receipt}", store, receipt, assistant, T0, month)


# Purchases


async def test_a_purchase_counted_again_or_concurrently_is_counted_once(store: Store) -> None:
    again = [await store.purchases.count(bought("R1")) for _ in range(3)]
    racing = await asyncio.gather(*(store.purchases.count(bought("R2")) for _ in range(20)))
    assert again == [True, False, False]
    assert sorted(racing) == [False] * 19 + [True]
    assert await store.purchases.counts("t1", "2026-05", "2026-05", "") == [
        PurchaseCount("s1", "a1", "2026-05", 2)
    ]


async def test_counts_are_per_store_assistant_and_month_of_the_tenant_within_the_months(store: Store) -> None:
    for p in (
        bought("R1"),
        bought("R2"),
        bought("R3", assistant=""),
        bought("R4", store="s2", assistant="a2"),
        bought("R5", month="2026-04"),
        bought("R6", month="2026-07"),  # after the months asked
        bought("R7", tenant="t2"),
        bought("R1", store="s2", assistant="a2"),  # the same receipt number at another store
    ):
        await store.purchases.count(p)

    def tally(counts: list[PurchaseCount]) -> list[tuple[str, str, str, int]]:
        return sorted((c.store_id, c.assistant_id, c.month, c.purchases) for c in counts)

    assert tally(await store.purchases.counts("t1", "2026-04", "2026-06", "")) == [
        ("s1", "", "2026-05", 1),
        ("s1", "a1", "2026-04", 1),
        ("s1", "a1", "2026-05", 2),
        ("s2", "a2", "2026-05", 2),
    ]
    assert tally(await store.purchases.counts("t1", "2026-05", "2026-05", "s2")) == [
        ("s2", "a2", "2026-05", 2)
    ]
    assert tally(await store.purchases.counts("t3", "2026-01", "2026-12", "")) == []


async def test_a_receipt_finds_the_assistant_credited_with_it(store: Store) -> None:
    await store.purchases.count(bought("R1", assistant="a1"))
    await store.purchases.count(bought("R:2%", assistant="a2"))  # separators are escaped
    await store.purchases.count(bought("R1", assistant="a9", tenant="t2"))
    found = await store.purchases.credited(
        "t1", [("s1", "R1"), ("s1", "R:2%"), ("s1", "R-none"), ("s2", "R1")]
    )
    assert found == {("s1", "R1"): "a1", ("s1", "R:2%"): "a2"}
    assert marker_id("t", "s:1", "R%") == "t:s%3A1:R%25"
    assert marker_id("t", "s1", "", "p1") == "t::p1"


# Cases and reviews of a period


async def test_cases_of_a_period_read_back_as_the_figures_of_the_stored_case(store: Store) -> None:
    full = replace(a_full_case(), id="full")
    cases = [
        full,
        a_case("just_before", opened_at=T0 - timedelta(milliseconds=1)),
        a_case("at_the_end", opened_at=T0 + 10 * HOUR),
        a_case("other_store", store_id="s2", opened_at=T0 + HOUR),
        a_case("other_tenant", tenant_id="t2", opened_at=T0 + HOUR),
    ]
    for c in cases:
        await store.cases.insert(c, [])

    found = await store.cases.opened_between("t1", T0, T0 + 10 * HOUR, "", 100)
    in_store = await store.cases.opened_between("t1", T0, T0 + 10 * HOUR, "s2", 100)
    limited = await store.cases.opened_between("t1", T0 - HOUR, T0 + 11 * HOUR, "", 2)

    assert sorted(found, key=lambda f: f.store_id) == [CaseFigures.of(full), CaseFigures.of(cases[3])]
    assert in_store == [CaseFigures.of(cases[3])]
    assert len(limited) == 2


async def test_reviews_of_a_period_carry_their_first_rating_and_their_rating_now(store: Store) -> None:
    amended = a_review(
        "amended",
        rating=5,
        updated_at=T0 + HOUR,
        history=(ReviewVersion(1, "bad", (), T0), ReviewVersion(3, "so-so", (), T0)),
    )
    for r in (amended, a_review("plain", rating=2, store_id="s2"), a_review("late", posted_at=T0 + HOUR)):
        await store.reviews.insert(r, ReviewPosted(r))
    await store.reviews.insert(
        a_review("theirs", tenant_id="t2"), ReviewPosted(a_review("theirs", tenant_id="t2"))
    )

    found = await store.reviews.posted_between("t1", T0, T0 + HOUR, "", 100)
    in_store = await store.reviews.posted_between("t1", T0, T0 + 2 * HOUR, "s2", 100)

    assert sorted(found, key=lambda r: r.first_rating) == [
        ReviewFigures("s1", T0, 1, 5),
        ReviewFigures("s2", T0, 2, 2),
    ]
    assert in_store == [ReviewFigures("s2", T0, 2, 2)]


# Index use


async def _is_ferretdb(db: AsyncDatabase[Doc]) -> bool:
    return "ferretdbVersion" in await db.command("buildInfo")


PERIOD = {"$gte": T0, "$lt": T0 + 24 * HOUR}


@pytest.mark.parametrize(
    ("command", "index"),
    [
        ({"find": "cases", "filter": {"tenant_id": "t1", "opened_at": PERIOD}}, "tenant_cases_opened"),
        (
            {"find": "cases", "filter": {"tenant_id": "t1", "opened_at": PERIOD, "store_id": "s1"}},
            "store_cases",
        ),
        ({"find": "reviews", "filter": {"tenant_id": "t1", "posted_at": PERIOD}}, "tenant_reviews_posted"),
        (
            {"find": "reviews", "filter": {"tenant_id": "t1", "posted_at": PERIOD, "store_id": "s1"}},
            "store_reviews",
        ),
        (
            {
                "aggregate": purchases_mongo.PURCHASES,
                "pipeline": [
                    {"$match": {"tenant_id": "t1", "month": {"$gte": "2026-04", "$lte": "2026-05"}}},
                    {"$group": {"_id": "$store_id", "n": {"$sum": 1}}},
                ],
                "cursor": {},
            },
            "report_purchase_months",
        ),
        (
            {
                "find": purchases_mongo.PURCHASES,
                "filter": {"_id": {"$in": ["t1:s1:R1", "t1:s1:R2"]}, "tenant_id": "t1"},
            },
            "_id_",
        ),
    ],
    ids=["cases", "cases_of_a_store", "reviews", "reviews_of_a_store", "purchase_counts", "credited"],
)
async def test_the_report_queries_search_their_index(store: Store, command: Doc, index: str) -> None:
    if not await _is_ferretdb(store.db):
        pytest.skip(
            "query plans are checked on the embedded FerretDB only (tests/store/test_store_indexes.py)"
        )
    await store.cases.insert(a_case("c1"), [])
    await store.reviews.insert(a_review("r1"), ReviewPosted(a_review("r1")))
    await store.purchases.count(bought("R1"))

    explained = await store.db.command("explain", command)
    plan = [str(line) for line in explained["queryPlanner"]["Plan"]]

    assert not any("SCAN" in line for line in plan), plan
    assert any("SEARCH" in line and f"_{index} (" in line for line in plan), plan
