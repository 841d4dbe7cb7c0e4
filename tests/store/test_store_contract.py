"""The store's contract: the MongoDB semantics the services rely on for data safety.

Concurrent `$inc`, conditional decrements and state transitions, upserts of one key, unique
indexes, `find_one_and_update` with conditions, tenant-scoped point reads, and equality on one
element of an array. Only standard MongoDB behaviour is asserted, so these pass on MongoDB 7
and must pass on the embedded FerretDB (with the patches in infra/ferretdb/patches; as released,
v1.24.2 loses concurrent updates). Each test has a database of its own (conftest.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from bson import ObjectId
from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, OperationFailure
from pymongo.results import UpdateResult

pytestmark = pytest.mark.servers

Doc = dict[str, Any]
T = TypeVar("T")

NOW = datetime(2026, 3, 15, 12, 0, 0, 123000, tzinfo=UTC)

# An insert that breaks a unique index raises DuplicateKeyError on both stores. An update that
# does is refused on both, but FerretDB v1.24.2 reports it as InternalError (code 1, "UNIQUE
# constraint failed") where MongoDB reports E11000: code must not count on DuplicateKeyError
# from an update (none does today: every DuplicateKeyError caught in the code is an insert's).
UPDATE_REFUSED = OperationFailure

# Races show when the writes of a burst are in flight together: several documents are written at
# once, among other documents (a read that scans takes long enough for the others to overlap it).
OTHERS = 200
COUPONS = 5  # redeemed at once, each by 100 tills


async def retrying_duplicates(op: Callable[[], Awaitable[T]], attempts: int = 10) -> T:
    """Run `op` again when a racing upsert inserted the same key first (legal on MongoDB;
    the driver documentation advises retrying the upsert, which then updates)."""
    for attempt in range(attempts):
        try:
            return await op()
        except DuplicateKeyError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


# --- concurrent increments and conditional decrements ------------------------------------------------


async def test_two_hundred_concurrent_increments_all_count(adb: AsyncDatabase[Doc]) -> None:
    counters = adb["counters"]
    await counters.insert_many([{"_id": f"other{k:04d}", "n": 0} for k in range(OTHERS)])
    await counters.insert_one({"_id": "c", "n": 0})

    results = await asyncio.gather(
        *(counters.update_one({"_id": "c"}, {"$inc": {"n": 1}}) for _ in range(200))
    )

    assert [r.modified_count for r in results] == [1] * 200
    assert await counters.find_one({"_id": "c"}) == {"_id": "c", "n": 200}


async def test_a_thousand_conditional_decrements_sell_exactly_the_stock(adb: AsyncDatabase[Doc]) -> None:
    stock = adb["stock"]
    await stock.insert_one({"_id": "sku", "stock": 300})

    results = await asyncio.gather(
        *(stock.update_one({"_id": "sku", "stock": {"$gt": 0}}, {"$inc": {"stock": -1}}) for _ in range(1000))
    )

    assert sorted({r.modified_count for r in results}) == [0, 1]
    assert sum(r.modified_count for r in results) == 300
    assert await stock.find_one({"_id": "sku"}) == {"_id": "sku", "stock": 0}


async def test_a_thousand_conditional_find_and_decrements_hand_out_each_unit_once(
    adb: AsyncDatabase[Doc],
) -> None:
    stock = adb["stock"]
    await stock.insert_one({"_id": "sku", "stock": 300})

    docs = await asyncio.gather(
        *(
            stock.find_one_and_update(
                {"_id": "sku", "stock": {"$gt": 0}},
                {"$inc": {"stock": -1}},
                return_document=ReturnDocument.AFTER,
            )
            for _ in range(1000)
        )
    )

    won = [d for d in docs if d is not None]
    assert len(won) == 300
    # Each winner saw its own decrement: the stock after it is 299, 298, ..., 0, each exactly once.
    assert sorted(d["stock"] for d in won) == list(range(300))
    assert await stock.find_one({"_id": "sku"}) == {"_id": "sku", "stock": 0}


# --- upserts of one key --------------------------------------------------------------------------------

KEYS = 5  # upserted at once, each 50 times


async def test_fifty_concurrent_upserts_of_one_id_make_one_document_counting_fifty(
    adb: AsyncDatabase[Doc],
) -> None:
    coll = adb["upserts"]
    await coll.insert_many([{"_id": f"other{k:04d}", "n": 0} for k in range(OTHERS)])

    def upsert(key: str) -> Callable[[], Awaitable[UpdateResult]]:
        return lambda: coll.update_one(
            {"_id": key}, {"$setOnInsert": {"created_at": NOW}, "$inc": {"n": 1}}, upsert=True
        )

    results = await asyncio.gather(
        *(retrying_duplicates(upsert(f"k{k}")) for _ in range(50) for k in range(KEYS))
    )

    assert sum(r.upserted_id is not None for r in results) == KEYS  # one insert per key
    assert await coll.find({"_id": {"$regex": "^k"}}).sort("_id", ASCENDING).to_list() == [
        {"_id": f"k{k}", "created_at": NOW, "n": 50} for k in range(KEYS)
    ]


async def test_fifty_concurrent_upserts_on_a_unique_compound_key_make_one_document_counting_fifty(
    adb: AsyncDatabase[Doc],
) -> None:
    coll = adb["upserts"]
    await coll.create_index([("tenant_id", ASCENDING), ("code", ASCENDING)], unique=True)
    await coll.insert_many([{"tenant_id": "t1", "code": f"other{k:04d}", "n": 0} for k in range(OTHERS)])

    def upsert(code: str) -> Callable[[], Awaitable[UpdateResult]]:
        return lambda: coll.update_one(
            {"tenant_id": "t1", "code": code},
            {"$setOnInsert": {"created_at": NOW}, "$inc": {"n": 1}},
            upsert=True,
        )

    results = await asyncio.gather(
        *(retrying_duplicates(upsert(f"K{k}")) for _ in range(50) for k in range(KEYS))
    )

    assert sum(r.upserted_id is not None for r in results) == KEYS
    docs = await coll.find({"code": {"$regex": "^K"}}, {"_id": 0}).sort("code", ASCENDING).to_list()
    assert docs == [{"tenant_id": "t1", "code": f"K{k}", "created_at": NOW, "n": 50} for k in range(KEYS)]


# --- unique indexes ------------------------------------------------------------------------------------


def test_a_unique_index_on_one_field_rejects_the_duplicate_and_keeps_one_document(
    db: Database[Doc],
) -> None:
    codes = db["codes"]
    codes.create_index([("code", ASCENDING)], unique=True)
    codes.insert_one({"_id": 1, "code": "A"})
    codes.insert_one({"_id": 2, "code": "B"})

    with pytest.raises(DuplicateKeyError):
        codes.insert_one({"_id": 3, "code": "A"})
    with pytest.raises(UPDATE_REFUSED):
        codes.update_one({"_id": 2}, {"$set": {"code": "A"}})
    with pytest.raises(UPDATE_REFUSED):
        codes.find_one_and_update({"_id": 2}, {"$set": {"code": "A"}})

    assert list(codes.find({}).sort("_id", ASCENDING)) == [{"_id": 1, "code": "A"}, {"_id": 2, "code": "B"}]


def test_a_unique_compound_index_rejects_the_duplicate_pair_only(db: Database[Doc]) -> None:
    codes = db["codes"]
    codes.create_index([("tenant_id", ASCENDING), ("code", ASCENDING)], unique=True)
    codes.insert_one({"_id": 1, "tenant_id": "t1", "code": "A"})
    codes.insert_one({"_id": 2, "tenant_id": "t2", "code": "A"})  # same code, other tenant
    codes.insert_one({"_id": 3, "tenant_id": "t1", "code": "B"})  # same tenant, other code

    with pytest.raises(DuplicateKeyError):
        codes.insert_one({"_id": 4, "tenant_id": "t1", "code": "A"})
    with pytest.raises(DuplicateKeyError):  # an upsert that inserts
        codes.update_one({"tenant_id": "t1", "code": "A", "v": 2}, {"$set": {"w": 1}}, upsert=True)
    with pytest.raises(UPDATE_REFUSED):
        codes.update_one({"_id": 2}, {"$set": {"tenant_id": "t1"}})
    with pytest.raises(UPDATE_REFUSED):
        codes.update_one({"_id": 3}, {"$set": {"code": "A"}})

    assert list(codes.find({}).sort("_id", ASCENDING)) == [
        {"_id": 1, "tenant_id": "t1", "code": "A"},
        {"_id": 2, "tenant_id": "t2", "code": "A"},
        {"_id": 3, "tenant_id": "t1", "code": "B"},
    ]
    assert codes.count_documents({"tenant_id": "t1", "code": "A"}) == 1


def test_the_id_is_unique(db: Database[Doc]) -> None:
    coll = db["ids"]
    coll.insert_one({"_id": "x", "v": 1})

    with pytest.raises(DuplicateKeyError):
        coll.insert_one({"_id": "x", "v": 2})

    assert list(coll.find({})) == [{"_id": "x", "v": 1}]


# --- update_many over many documents (the embedded store writes them in batches) ----------------------


def test_an_update_many_of_hundreds_of_documents_modifies_each_matching_one(db: Database[Doc]) -> None:
    coll = db["many"]
    coll.insert_many([{"_id": i, "n": i} for i in range(350)])

    result = coll.update_many({"n": {"$gte": 20}}, {"$set": {"seen": True}, "$inc": {"n": 1000}})

    assert (result.matched_count, result.modified_count) == (330, 330)
    docs = {d["_id"]: d for d in coll.find({})}
    assert all(docs[i] == {"_id": i, "n": i} for i in range(20))
    assert all(docs[i] == {"_id": i, "n": i + 1000, "seen": True} for i in range(20, 350))


def test_an_update_many_that_breaks_a_unique_index_keeps_the_write_before_the_refusal(
    db: Database[Doc],
) -> None:
    """An update of many documents stops at the first it may not write; the one written before
    stays written (no transaction undoes it), on MongoDB and on the store's batched writes."""
    codes = db["codes"]
    codes.create_index([("code", ASCENDING)], unique=True)
    codes.insert_many([{"_id": i, "code": f"c{i}"} for i in range(250)])

    with pytest.raises(UPDATE_REFUSED):
        codes.update_many({}, {"$set": {"code": "same"}})

    assert codes.count_documents({"code": "same"}) == 1
    assert codes.count_documents({"code": {"$ne": "same"}}) == 249


# --- find_one_and_update with conditions -----------------------------------------------------------------


def _coupons(db: Database[Doc]) -> list[Doc]:
    docs: list[Doc] = [
        {"_id": "c1", "tenant_id": "t1", "code": "A", "state": "available", "version": 0},
        {"_id": "c2", "tenant_id": "t1", "code": "B", "state": "available", "version": 0},
        {"_id": "c3", "tenant_id": "t1", "code": "C", "state": "locked", "version": 0},
        {"_id": "c4", "tenant_id": "t2", "code": "B", "state": "available", "version": 0},
    ]
    db["coupons"].insert_many([dict(d) for d in docs])
    return docs


def test_a_conditional_find_one_and_update_returns_the_document_before_or_after(db: Database[Doc]) -> None:
    coupons = db["coupons"]
    _coupons(db)
    lock = {"$set": {"state": "locked"}, "$inc": {"version": 1}}

    before = coupons.find_one_and_update(
        {"_id": "c1", "state": "available"}, lock, return_document=ReturnDocument.BEFORE
    )
    after = coupons.find_one_and_update(
        {"_id": "c2", "state": "available"}, lock, return_document=ReturnDocument.AFTER
    )

    assert before == {"_id": "c1", "tenant_id": "t1", "code": "A", "state": "available", "version": 0}
    assert after == {"_id": "c2", "tenant_id": "t1", "code": "B", "state": "locked", "version": 1}
    assert coupons.find_one({"_id": "c1"}) == {**before, "state": "locked", "version": 1}


def test_a_conditional_find_one_and_update_picks_the_one_matching_document(db: Database[Doc]) -> None:
    coupons = db["coupons"]
    docs = _coupons(db)

    got = coupons.find_one_and_update(
        {"tenant_id": "t2", "code": "B", "state": "available"},
        {"$set": {"state": "locked"}},
        return_document=ReturnDocument.AFTER,
    )

    assert got == {**docs[3], "state": "locked"}
    assert list(coupons.find({"_id": {"$ne": "c4"}}).sort("_id", ASCENDING)) == docs[:3]


def test_a_find_one_and_update_whose_condition_fails_returns_none_and_changes_nothing(
    db: Database[Doc],
) -> None:
    coupons = db["coupons"]
    docs = _coupons(db)

    for condition in (
        {"_id": "c3", "state": "available"},  # the document, in another state
        {"_id": "c1", "tenant_id": "t2"},  # the document, of another tenant
        {"_id": "nope"},
    ):
        for when in (ReturnDocument.BEFORE, ReturnDocument.AFTER):
            got = coupons.find_one_and_update(
                condition, {"$set": {"state": "redeemed"}, "$inc": {"version": 1}}, return_document=when
            )
            assert got is None, condition

    assert list(coupons.find({}).sort("_id", ASCENDING)) == docs


def test_a_sorted_conditional_find_one_and_update_claims_the_earliest_due_item(db: Database[Doc]) -> None:
    jobs = db["jobs"]
    jobs.insert_many(
        [
            {"_id": "j1", "state": "pending", "due_at": NOW + timedelta(minutes=5)},
            {"_id": "j2", "state": "pending", "due_at": NOW - timedelta(minutes=5)},
            {"_id": "j3", "state": "running", "due_at": NOW - timedelta(minutes=9)},
            {"_id": "j4", "state": "pending", "due_at": NOW - timedelta(minutes=1)},
        ]
    )
    claim = {"$set": {"state": "running", "lease_until": NOW + timedelta(minutes=1)}}
    due = {"state": "pending", "due_at": {"$lte": NOW}}

    first = jobs.find_one_and_update(due, claim, sort=[("due_at", ASCENDING)])
    second = jobs.find_one_and_update(due, claim, sort=[("due_at", ASCENDING)])
    third = jobs.find_one_and_update(due, claim, sort=[("due_at", ASCENDING)])

    assert (first or {}).get("_id") == "j2"
    assert (second or {}).get("_id") == "j4"
    assert third is None
    assert jobs.find_one({"_id": "j1"}) == {
        "_id": "j1",
        "state": "pending",
        "due_at": NOW + timedelta(minutes=5),
    }


# --- conditional state transitions ---------------------------------------------------------------------


async def _locked_coupons(coupons: AsyncCollection[Doc]) -> None:
    await coupons.insert_many(
        [{"_id": f"other{k:04d}", "tenant_id": "t1", "state": "available"} for k in range(OTHERS)]
    )
    locked = [{"_id": f"c{k}", "tenant_id": "t1", "state": "locked"} for k in range(COUPONS)]
    await coupons.insert_many(locked)


async def test_a_hundred_concurrent_conditional_transitions_let_exactly_one_win(
    adb: AsyncDatabase[Doc],
) -> None:
    coupons = adb["coupons"]
    await _locked_coupons(coupons)
    attempts = [(f"c{k}", f"r{i}") for i in range(100) for k in range(COUPONS)]

    results = await asyncio.gather(
        *(
            coupons.update_one({"_id": c, "state": "locked"}, {"$set": {"state": "redeemed", "receipt": r}})
            for c, r in attempts
        )
    )

    winners = {c: r for (c, r), res in zip(attempts, results, strict=True) if res.modified_count == 1}
    assert sum(res.modified_count for res in results) == COUPONS  # one till per coupon, not more
    assert sum(res.matched_count for res in results) == COUPONS
    assert len(winners) == COUPONS
    stored = await coupons.find({"state": "redeemed"}).sort("_id", ASCENDING).to_list()
    assert stored == [
        {"_id": c, "tenant_id": "t1", "state": "redeemed", "receipt": winners[c]} for c in sorted(winners)
    ]


async def test_a_hundred_concurrent_conditional_find_and_transitions_return_one_document(
    adb: AsyncDatabase[Doc],
) -> None:
    coupons = adb["coupons"]
    await _locked_coupons(coupons)

    docs = await asyncio.gather(
        *(
            coupons.find_one_and_update(
                {"_id": f"c{k}", "tenant_id": "t1", "state": "locked"},
                {"$set": {"state": "redeemed", "receipt": f"r{i}"}},
                return_document=ReturnDocument.AFTER,
            )
            for i in range(100)
            for k in range(COUPONS)
        )
    )

    won = sorted((d for d in docs if d is not None), key=lambda d: str(d["_id"]))
    assert [d["_id"] for d in won] == sorted(f"c{k}" for k in range(COUPONS))  # one winner each
    assert await coupons.find({"state": "redeemed"}).sort("_id", ASCENDING).to_list() == won


# --- tenant-scoped point reads ---------------------------------------------------------------------------


@pytest.mark.parametrize("make_id", [str, lambda i: ObjectId(f"{i:024x}")], ids=["string_id", "object_id"])
def test_a_point_read_with_the_tenant_finds_the_document_only_for_its_tenant(
    db: Database[Doc], make_id: Callable[[int], Any]
) -> None:
    members = db["members"]
    members.create_index([("tenant_id", ASCENDING), ("phone", ASCENDING)], unique=True)
    a, b = make_id(1), make_id(2)
    members.insert_many(
        [
            {"_id": a, "tenant_id": "ta", "phone": "+8613800000001", "points": 0},
            {"_id": b, "tenant_id": "tb", "phone": "+8613800000001", "points": 0},
        ]
    )

    assert members.find_one({"_id": a, "tenant_id": "ta"}) == {
        "_id": a,
        "tenant_id": "ta",
        "phone": "+8613800000001",
        "points": 0,
    }
    assert members.find_one({"_id": a, "tenant_id": "tb"}) is None
    assert members.find_one({"tenant_id": "tb", "_id": a}) is None  # key order does not matter
    assert members.count_documents({"_id": a, "tenant_id": "tb"}) == 0
    assert members.update_one({"_id": a, "tenant_id": "tb"}, {"$inc": {"points": 5}}).matched_count == 0
    assert members.find_one_and_update({"_id": a, "tenant_id": "tb"}, {"$inc": {"points": 5}}) is None
    assert members.delete_one({"_id": a, "tenant_id": "tb"}).deleted_count == 0
    assert members.update_one({"_id": b, "tenant_id": "tb"}, {"$inc": {"points": 5}}).modified_count == 1

    assert [(d["_id"], d["points"]) for d in members.find({}).sort("tenant_id", ASCENDING)] == [
        (a, 0),
        (b, 5),
    ]


# --- arrays at indexed fields ----------------------------------------------------------------------------


def _ids(docs: Any) -> list[Any]:
    return sorted(d["_id"] for d in docs)


def test_a_document_holding_an_array_at_an_indexed_field_is_found_by_one_element(db: Database[Doc]) -> None:
    items = db["items"]
    for keys in (
        [("code", ASCENDING)],
        [("tenant_id", ASCENDING), ("code", ASCENDING)],
        [("n", ASCENDING)],
        [("at", ASCENDING)],
        [("flag", ASCENDING)],
    ):
        items.create_indexes([IndexModel(keys)])  # one per command (chassis.mongo.ensure_indexes)
    day = timedelta(days=1)
    items.insert_many(
        [
            {"_id": 1, "tenant_id": "t1", "code": "A", "n": 1, "at": NOW, "flag": False},
            {"_id": 2, "tenant_id": "t1", "code": ["A", "B"], "n": [1, 10], "at": [NOW - day, NOW + day]},
            {"_id": 3, "tenant_id": "t1", "code": "C", "n": 7, "at": NOW + 2 * day, "flag": [True]},
            {"_id": 4, "tenant_id": "t2", "code": ["B"], "n": [], "at": [], "flag": True},
            {"_id": 5, "tenant_id": "t1", "code": "[B]", "n": "10", "at": "now", "flag": "true"},
        ]
    )

    assert _ids(items.find({"code": "A"})) == [1, 2]
    assert _ids(items.find({"code": "B"})) == [2, 4]
    assert _ids(items.find({"code": {"$eq": "B"}})) == [2, 4]
    assert _ids(items.find({"code": "[B]"})) == [5]
    assert _ids(items.find({"tenant_id": "t1", "code": "B"})) == [2]
    assert _ids(items.find({"n": 10})) == [2]
    assert _ids(items.find({"n": {"$gt": 5}})) == [2, 3]
    assert _ids(items.find({"n": {"$gte": 2, "$lte": 4}})) == [2]  # 10 >= 2 and 1 <= 4, as MongoDB has it
    assert _ids(items.find({"at": NOW + day})) == [2]
    assert _ids(items.find({"at": {"$lte": NOW - day}})) == [2]
    assert _ids(items.find({"flag": True})) == [3, 4]
    assert items.count_documents({"tenant_id": "t1", "code": "A"}) == 2
    assert items.find_one({"_id": 2, "code": "B"}) is not None

    # Writes select the same documents as reads.
    assert items.update_many({"code": "B"}, {"$inc": {"hits": 1}}).modified_count == 2
    assert _ids(items.find({"hits": 1})) == [2, 4]
    assert items.delete_many({"n": {"$gte": 10}}).deleted_count == 1
    assert _ids(items.find({})) == [1, 3, 4, 5]


def test_an_indexed_field_that_becomes_an_array_is_still_found_by_one_element(db: Database[Doc]) -> None:
    items = db["items"]
    items.create_index([("tenant_id", ASCENDING), ("code", ASCENDING)])
    items.insert_many([{"_id": i, "tenant_id": "t1", "code": f"c{i}"} for i in range(20)])
    assert _ids(items.find({"tenant_id": "t1", "code": "c7"})) == [7]

    items.update_one({"_id": 7}, {"$set": {"code": ["c5", "c7", "c9"]}})

    assert _ids(items.find({"tenant_id": "t1", "code": "c7"})) == [7]
    assert _ids(items.find({"tenant_id": "t1", "code": "c5"})) == [5, 7]
    assert _ids(items.find({"code": "c9"})) == [7, 9]


# --- aggregation and array updates the services use ---------------------------------------------------


def test_a_group_computes_every_accumulator_it_names(db: Database[Doc]) -> None:
    """Several accumulators in one `$group` (as released, FerretDB v1.24.2 computed only the
    first: the others read an iterator the first had used up)."""
    sales = [("a", 5, 50), ("a", 7, 0), ("b", 1, 10), ("a", 3, 30), ("b", 9, 0)]
    db.sales.insert_many([{"k": k, "v": v, "paid": paid} for k, v, paid in sales])
    group = {"_id": "$k", "n": {"$sum": 1}, "total": {"$sum": "$v"}, "paid": {"$sum": "$paid"}}
    rows = db.sales.aggregate([{"$group": group}, {"$sort": {"_id": 1}}])
    assert list(rows) == [
        {"_id": "a", "n": 3, "total": 15, "paid": 80},
        {"_id": "b", "n": 2, "total": 10, "paid": 10},
    ]


@pytest.mark.parametrize(
    ("modifiers", "expected"),
    [
        ({"$slice": -3}, [3, 4, 5]),  # the last three: a bounded history
        ({"$slice": 2}, [1, 2]),
        ({"$slice": 0}, []),
        ({"$slice": -10}, [1, 2, 3, 4, 5]),
        ({"$position": 0}, [4, 5, 1, 2, 3]),
        ({"$position": -1}, [1, 2, 4, 5, 3]),
        ({"$position": 99}, [1, 2, 3, 4, 5]),
        ({"$position": 0, "$slice": 3}, [4, 5, 1]),  # newest first, three kept
    ],
)
def test_a_push_applies_position_then_slice(db: Database[Doc], modifiers: Doc, expected: list[int]) -> None:
    """`$push` with `$each` and `$position` / `$slice`, as MongoDB applies them (as released,
    FerretDB v1.24.2 ignored both and appended)."""
    db.lists.insert_one({"_id": "l", "a": [1, 2, 3]})
    db.lists.update_one({"_id": "l"}, {"$push": {"a": {"$each": [4, 5], **modifiers}}})
    assert db.lists.find_one({"_id": "l"}) == {"_id": "l", "a": expected}


def test_a_push_with_slice_creates_a_missing_array_already_cut(db: Database[Doc]) -> None:
    db.lists.insert_one({"_id": "l"})
    db.lists.update_one({"_id": "l"}, {"$push": {"recent": {"$each": [1, 2, 3], "$slice": -2}}})
    assert db.lists.find_one({"_id": "l"}) == {"_id": "l", "recent": [2, 3]}


@pytest.mark.parametrize("modifiers", [{"$bogus": 1}, {"$slice": "two"}, {"$position": 1.5}])
def test_a_push_with_a_bad_modifier_is_refused_and_changes_nothing(db: Database[Doc], modifiers: Doc) -> None:
    db.lists.insert_one({"_id": "l", "a": [1]})
    with pytest.raises(OperationFailure):
        db.lists.update_one({"_id": "l"}, {"$push": {"a": {"$each": [2], **modifiers}}})
    assert db.lists.find_one({"_id": "l"}) == {"_id": "l", "a": [1]}
