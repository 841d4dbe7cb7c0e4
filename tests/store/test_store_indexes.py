"""The services' hot query shapes use an index on the embedded FerretDB (SQLite), never a scan.

FerretDB v1.24.2 as released scans its SQLite table for every query; our patches
(infra/ferretdb/patches/0001) push `_id` equalities and conditions on indexed fields down to
SQLite. Only the query plan is checked (`explain`), never a time. FerretDB's `explain` reads the
`filter` of a `find` and the `$match` of an `aggregate` (what count_documents sends); updates,
findAndModify and deletes have no plan of their own there, but they run the very same backend
query with the same filter (the patch pushes down in Query), so the find plan is theirs too.

Skipped on MongoDB: its plans have another shape, and its indexes are not in question.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import Int64, ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.database import Database

from chassis.outbox import EMBEDDED_INDEX

pytestmark = pytest.mark.servers

Doc = dict[str, Any]

NOW = datetime(2026, 3, 15, 12, 0, 0, 123000, tzinfo=UTC)
HOUR = timedelta(hours=1)
OID = [ObjectId(f"65f4{i:020x}") for i in range(4)]


@dataclass(frozen=True)
class Case:
    """One query shape: the collection's indexes, a few documents, the filter, what it finds."""

    name: str
    indexes: list[IndexModel]
    docs: list[Doc]
    filter: Doc
    expect: list[Any]  # the _ids found, sorted
    index: str  # the index the plan must name ("_id_" for the _id index)


def _members() -> list[Doc]:
    return [
        {"_id": f"m{i}", "tenant_id": t, "phone": f"+86138000000{i:02d}", "points_balance": 50 * i}
        for i, t in enumerate(["ta", "ta", "tb", "ta", "tb", "ta"])
    ]


def _coupons() -> list[Doc]:
    states = ["available", "locked", "redeemed", "available", "expired", "available"]
    return [
        {
            "_id": f"c{i}",
            "tenant_id": "ta" if i % 2 else "tb",
            "member_id": f"m{i % 3}",
            "code": f"CODE{i}",
            "state": s,
            "issued_at": NOW - i * HOUR,
            "valid_until": NOW + (i - 2) * HOUR,
        }
        for i, s in enumerate(states)
    ]


TENANT_PHONE = IndexModel([("tenant_id", ASCENDING), ("phone", ASCENDING)], unique=True, name="tenant_phone")

CASES = [
    Case(
        "id_string",
        [TENANT_PHONE],
        _members(),
        {"_id": "m3"},
        ["m3"],
        "_id_",
    ),
    Case(
        "id_object_id",
        [],
        [{"_id": oid, "tenant_id": "ta", "n": i} for i, oid in enumerate(OID)],
        {"_id": OID[2]},
        [OID[2]],
        "_id_",
    ),
    Case(
        "id_in_a_list_with_the_tenant",
        [TENANT_PHONE],
        _members(),
        {"_id": {"$in": ["m1", "m4", "m9"]}, "tenant_id": "ta"},
        ["m1"],
        "_id_",
    ),
    Case(
        "id_and_tenant",
        [TENANT_PHONE],
        _members(),
        {"_id": "m2", "tenant_id": "tb"},
        ["m2"],
        "_id_",
    ),
    Case(
        "id_and_tenant_of_another_tenant",
        [TENANT_PHONE],
        _members(),
        {"_id": "m2", "tenant_id": "ta"},
        [],
        "_id_",
    ),
    Case(
        "id_and_state",
        [],
        _coupons(),
        {"_id": "c1", "state": "locked"},
        ["c1"],
        "_id_",
    ),
    Case(
        "id_and_state_in_and_other_conditions",
        [IndexModel([("state", ASCENDING)], name="state")],
        _coupons(),
        {
            "_id": "c3",
            "tenant_id": "ta",
            "state": {"$in": ["available", "locked"]},
            "valid_until": {"$gt": NOW},
            "lock": {"$exists": False},
        },
        ["c3"],
        "_id_",
    ),
    Case(
        "id_and_outbox_entry",
        [EMBEDDED_INDEX],
        [
            {"_id": "a1", "tenant_id": "ta", "_outbox": {"e1": {"topic": "x"}}, "_outbox_at": NOW},
            {"_id": "a2", "tenant_id": "ta"},
        ],
        {"_id": "a1", "_outbox.e1": {"$exists": True}},
        ["a1"],
        "_id_",
    ),
    Case(
        "tenant_and_phone_on_the_unique_compound_index",
        [TENANT_PHONE],
        _members(),
        {"tenant_id": "ta", "phone": "+8613800000003"},
        ["m3"],
        "tenant_phone",
    ),
    Case(
        "tenant_and_code",
        [IndexModel([("tenant_id", ASCENDING), ("code", ASCENDING)], unique=True, name="tenant_code")],
        _coupons(),
        {"tenant_id": "ta", "code": "CODE3"},
        ["c3"],
        "tenant_code",
    ),
    Case(
        "tenant_and_openid",
        [IndexModel([("tenant_id", ASCENDING), ("openid", ASCENDING)], unique=True, name="tenant_openid")],
        [
            {"_id": f"o{i}", "tenant_id": "ta", "openid": f"oWx{i:04d}", "member_id": f"m{i}"}
            for i in range(5)
        ],
        {"tenant_id": "ta", "openid": "oWx0003"},
        ["o3"],
        "tenant_openid",
    ),
    Case(
        "tenant_and_member_on_the_wallet_index",
        [
            IndexModel(
                [("tenant_id", ASCENDING), ("member_id", ASCENDING), ("issued_at", DESCENDING)], name="wallet"
            )
        ],
        _coupons(),
        {"tenant_id": "ta", "member_id": "m0"},
        ["c3"],
        "wallet",
    ),
    Case(
        "tenant_kind_and_source_event_on_a_three_field_unique_index",
        [
            IndexModel(
                [("tenant_id", ASCENDING), ("kind", ASCENDING), ("source_event_id", ASCENDING)],
                unique=True,
                name="one_message_per_event",
            )
        ],
        [
            {"_id": f"i{i}", "tenant_id": "ta", "kind": k, "source_event_id": f"01J{i:04d}"}
            for i, k in enumerate(["welcome", "birthday", "welcome", "coupon"])
        ],
        {"tenant_id": "ta", "kind": "welcome", "source_event_id": "01J0002"},
        ["i2"],
        "one_message_per_event",
    ),
    Case(
        "tenant_and_state",
        [IndexModel([("tenant_id", ASCENDING), ("state", ASCENDING)], name="tenant_state")],
        _coupons(),
        {"tenant_id": "tb", "state": "available"},
        ["c0"],
        "tenant_state",
    ),
    Case(
        "due_before_now_on_a_date_index",
        [IndexModel([("due_at", ASCENDING)], name="due")],
        [{"_id": f"s{i}", "due_at": NOW + (i - 3) * HOUR, "step": i} for i in range(6)],
        {"due_at": {"$lte": NOW}},
        ["s0", "s1", "s2", "s3"],
        "due",
    ),
    Case(
        "outbox_sweep",
        [EMBEDDED_INDEX],
        [
            {"_id": "a1", "_outbox": {"e1": {"topic": "x"}}, "_outbox_at": NOW - HOUR},
            {"_id": "a2", "_outbox": {"e2": {"topic": "x"}}, "_outbox_at": NOW},
            {"_id": "a3", "tenant_id": "ta"},
        ],
        {"_outbox_at": {"$lte": NOW - timedelta(seconds=30)}},
        ["a1"],
        str(EMBEDDED_INDEX.document["name"]),
    ),
    Case(
        "integer_range",
        [IndexModel([("points_balance", ASCENDING)], name="points")],
        _members(),
        {"points_balance": {"$gte": 100, "$lt": Int64(200)}},
        ["m2", "m3"],
        "points",
    ),
    Case(
        "boolean_equality",
        [IndexModel([("active", ASCENDING)], name="active")],
        [{"_id": f"r{i}", "active": i % 3 == 0} for i in range(6)],
        {"active": True},
        ["r0", "r3"],
        "active",
    ),
    Case(
        "tenant_and_trigger_with_a_condition_left_to_the_handler",
        [IndexModel([("tenant_id", ASCENDING), ("trigger", ASCENDING)], name="tenant_trigger")],
        [
            {"_id": f"u{i}", "tenant_id": "ta", "trigger": t, "state": s}
            for i, (t, s) in enumerate(
                [("purchase", "active"), ("purchase", "paused"), ("birthday", "active")]
            )
        ],
        {"tenant_id": "ta", "trigger": "purchase", "state": {"$ne": "paused"}},
        ["u0"],
        "tenant_trigger",
    ),
]


def _is_ferretdb(db: Database[Doc]) -> bool:
    return "ferretdbVersion" in db.command("buildInfo")


def _plan(db: Database[Doc], command: Doc) -> list[str]:
    explained = db.command("explain", command)
    return [str(line) for line in explained["queryPlanner"]["Plan"]]


def _assert_indexed(plan: list[str], table_index: str, what: str) -> None:
    assert plan, f"{what}: no plan"
    assert not any("SCAN" in line for line in plan), f"{what} scans: {plan}"
    assert any(
        "SEARCH" in line and ("USING INDEX" in line or "USING PRIMARY KEY" in line) and table_index in line
        for line in plan
    ), f"{what} does not search the index {table_index.strip('_ (')}: {plan}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_hot_query_shape_searches_its_index(db: Database[Doc], case: Case) -> None:
    if not _is_ferretdb(db):
        pytest.skip("query plans are checked on the embedded FerretDB only (MONGODB_URL is another server)")
    coll = db["things"]
    for model in case.indexes:
        coll.create_indexes([model])  # one per command (chassis.mongo.ensure_indexes)
    coll.insert_many(case.docs)

    # SQLite names an index <table>_<name>; the name is followed by its condition.
    table_index = f"_{case.index} ("
    _assert_indexed(_plan(db, {"find": "things", "filter": case.filter}), table_index, "find")
    _assert_indexed(
        _plan(db, {"aggregate": "things", "pipeline": [{"$match": case.filter}], "cursor": {}}),
        table_index,
        "aggregate $match",
    )
    assert sorted(d["_id"] for d in coll.find(case.filter)) == case.expect
    assert coll.count_documents(case.filter) == len(case.expect)
