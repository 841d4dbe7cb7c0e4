"""Segment filters against the real store (FerretDB locally): the operators must work there,
not just look right as dicts. Hand-made member documents, one spec at a time."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.collection import Collection

from services.members.domain.segments import SegmentSpec, to_filter
from tests.support import fresh_namespace

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
Doc = dict[str, Any]


def ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


def member(
    _id: str,
    *,
    tenant: str = "t1",
    tier: str = "normal",
    tags: tuple[str, ...] = (),
    store: str = "s1",
    staff: str = "st1",
    consent: tuple[str, ...] = (),
    joined: int = 365,
    birthday_month: int | None = None,
    stats: Doc | None = None,
    **extra: Any,
) -> Doc:
    doc: Doc = {
        "_id": _id,
        "tenant_id": tenant,
        "phone": f"+86138001380{len(_id):02d}",
        "name": _id,
        "surname": "",
        "gender": "unknown",
        "home_store_id": store,
        "owner_staff_id": staff,
        "tags": list(tags),
        "tier": tier,
        "consent": {ch: ch in consent for ch in ("sms", "wechat", "app", "phone")},
        "registered_at": ago(joined),
        "stats": stats
        or {
            "purchase_count": 0,
            "total_spend": 0,
            "trailing_12m_spend": 0,
            "discount_share": 0.0,
            "brands": {},
            "categories": {},
        },
        **extra,
    }
    if birthday_month is not None:
        doc["birthday"] = {"month": birthday_month, "day": 14, "year": None}
    return doc


def bought(
    *,
    total: int,
    trailing: int,
    discount: float,
    last: int,
    brands: dict[str, int] | None = None,
    categories: dict[str, int] | None = None,
) -> Doc:
    """Stats of a member whose last purchase was `last` days ago; brands/categories: key -> days ago."""
    return {
        "purchase_count": 3,
        "total_spend": total,
        "trailing_12m_spend": trailing,
        "first_purchase_at": ago(last + 300),
        "last_purchase_at": ago(last),
        "discount_share": discount,
        "brands": {k: {"spend": 100_00, "last_at": ago(d)} for k, d in (brands or {}).items()},
        "categories": {k: {"spend": 100_00, "last_at": ago(d)} for k, d in (categories or {}).items()},
    }


M01_STATS = bought(
    total=3000_00, trailing=2000_00, discount=0.1, last=5, brands={"chanel": 5}, categories={"lipstick": 5}
)
M01_LIKE: Doc = dict(tier="gold", tags=("vip", "pearls"), consent=("sms",), joined=400, birthday_month=3)

MEMBERS = [
    member("m01", **M01_LIKE, stats=M01_STATS),
    member(
        "m02",
        tier="silver",
        tags=("vip",),
        staff="st2",
        consent=("wechat",),
        joined=800,
        birthday_month=7,
        stats=bought(total=800_00, trailing=0, discount=0.6, last=200, brands={"chanel": 200}),
    ),
    member(
        "m03",
        tags=("coupon_lover",),
        consent=("sms",),
        joined=100,
        birthday_month=3,
        stats=bought(
            total=150_00,
            trailing=150_00,
            discount=0.9,
            last=40,
            brands={"estée_lauder": 40},
            categories={"skincare": 40},
        ),
    ),
    member("m04", joined=3),  # never bought
    member(
        "m05",
        tier="diamond",
        tags=("vip", "pearls", "wedding"),
        store="s2",
        staff="st2",
        consent=("sms", "phone"),
        joined=1000,
        birthday_month=12,
        stats=bought(
            total=90_000_00,
            trailing=50_000_00,
            discount=0.0,
            last=60,
            brands={"雅诗兰黛": 60},
            categories={"rings": 60},
        ),
    ),
    member(
        "m06",
        tags=("new",),
        store="s2",
        staff="",
        consent=("app",),
        joined=10,
        stats=bought(total=99_00, trailing=99_00, discount=0.5, last=9, brands={"drjart+": 9}),
    ),
    member("m07", **M01_LIKE, stats=M01_STATS, blacklist={"reason": "extortion", "at": ago(1)}),
    member("m08", **M01_LIKE, stats=M01_STATS, erased=True),
    member("m09", **M01_LIKE, stats=M01_STATS, merged_into="m01"),
    member("m10", **M01_LIKE, stats=M01_STATS, tenant="t2"),
    member(
        "m11",
        tier="gold",
        tags=("pearls",),
        staff="",
        joined=500,
        birthday_month=3,
        stats=bought(total=5000_00, trailing=4000_00, discount=0.2, last=35, brands={"chanel": 35}),
    ),
    member(
        "m12",
        tier="silver",
        tags=("vip", "wedding"),
        consent=("wechat",),
        joined=600,
        birthday_month=11,
        stats=bought(total=1200_00, trailing=1200_00, discount=0.45, last=31, categories={"rings": 31}),
    ),
    member(
        "m13",
        consent=("phone",),
        joined=200,
        birthday_month=3,
        stats=bought(
            total=20_000_00,
            trailing=20_000_00,
            discount=0.05,
            last=2,
            brands={"tiffany": 2, "555": 2},
            categories={"rings": 2},
        ),
    ),
    member("m14", tier="gold", consent=("sms",), joined=400, birthday_month=3),  # never bought
    member("m15", tags=("vip",), consent=("sms",), joined=20, birthday_month=1),  # never bought
]

LIVE_T1 = {"m01", "m02", "m03", "m04", "m05", "m06", "m11", "m12", "m13", "m14", "m15"}


@pytest.fixture(scope="module")
def members() -> Iterator[Collection[Doc]]:
    url = os.environ.get("MONGODB_URL", "")
    if not url:
        pytest.fail(
            "MONGODB_URL must be set (e.g. mongodb://127.0.0.1:27017/): run the tests with `make test`"
        )
    client: MongoClient[Doc] = MongoClient(url, tz_aware=True, serverSelectionTimeoutMS=10_000)
    name = fresh_namespace() + "segments_test"
    try:
        collection = client[name]["members"]
        collection.insert_many(MEMBERS)
        yield collection
    finally:
        client.drop_database(name)
        client.close()


def selected(members: Collection[Doc], spec: SegmentSpec, tenant: str = "t1") -> set[str]:
    return {doc["_id"] for doc in members.find(to_filter(spec, tenant, NOW), {"_id": 1})}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(SegmentSpec(), LIVE_T1, id="empty spec: every live member of the tenant"),
        pytest.param(SegmentSpec(tiers=("gold",)), {"m01", "m11", "m14"}, id="tier"),
        pytest.param(SegmentSpec(tags_all=("vip", "pearls")), {"m01", "m05"}, id="tags_all"),
        pytest.param(
            SegmentSpec(tags_none=("vip",)), {"m03", "m04", "m06", "m11", "m13", "m14"}, id="tags_none"
        ),
        pytest.param(SegmentSpec(tags_any=("wedding", "coupon_lover")), {"m03", "m05", "m12"}, id="tags_any"),
        pytest.param(
            SegmentSpec(tags_any=("vip",), tags_all=("wedding",), tags_none=("pearls",)),
            {"m12"},
            id="three tag rules on one field",
        ),
        pytest.param(
            SegmentSpec(bought_brand="Chanel", bought_brand_within_days=30), {"m01"}, id="brand within days"
        ),
        pytest.param(SegmentSpec(bought_brand="CHANEL"), {"m01", "m02", "m11"}, id="brand ever"),
        pytest.param(SegmentSpec(bought_brand="Estée  Lauder"), {"m03"}, id="accented brand"),
        pytest.param(
            SegmentSpec(bought_brand="雅诗兰黛", bought_brand_within_days=90), {"m05"}, id="chinese brand"
        ),
        pytest.param(SegmentSpec(bought_brand="Dr.Jart+"), {"m06"}, id="brand with a dot"),
        pytest.param(SegmentSpec(bought_brand="555"), {"m13"}, id="numeric brand key in a dotted path"),
        pytest.param(
            SegmentSpec(bought_category="Rings", bought_category_within_days=45),
            {"m12", "m13"},
            id="category within days",
        ),
        pytest.param(SegmentSpec(discount_share_min=0.5), {"m02", "m03", "m06"}, id="discount share"),
        pytest.param(
            SegmentSpec(not_seen_for_days=30),
            {"m02", "m03", "m05", "m11", "m12"},
            id="not seen for 30 days leaves out who never bought",
        ),
        pytest.param(SegmentSpec(birthday_month=3), {"m01", "m03", "m11", "m13", "m14"}, id="birthday month"),
        pytest.param(SegmentSpec(consent_channel="sms"), {"m01", "m03", "m05", "m14", "m15"}, id="consent"),
        pytest.param(
            SegmentSpec(total_spend_min=1000_00, total_spend_max=10_000_00),
            {"m01", "m11", "m12"},
            id="spend range",
        ),
        pytest.param(SegmentSpec(total_spend_max=100_00), {"m04", "m06", "m14", "m15"}, id="spend at most"),
        pytest.param(SegmentSpec(trailing_spend_min=10_000_00), {"m05", "m13"}, id="trailing spend"),
        pytest.param(SegmentSpec(joined_within_days=30), {"m04", "m06", "m15"}, id="joined recently"),
        pytest.param(SegmentSpec(home_store_ids=("s2",)), {"m05", "m06"}, id="home store"),
        pytest.param(SegmentSpec(owner_staff_ids=("st2",)), {"m02", "m05"}, id="owning assistant"),
        pytest.param(
            SegmentSpec(tiers=("gold",), total_spend_min=1000_00, consent_channel="sms"),
            {"m01"},
            id="gold members who spent over 1000 and accept sms",
        ),
    ],
)
def test_the_filter_selects_exactly_the_expected_members(
    members: Collection[Doc], spec: SegmentSpec, expected: set[str]
) -> None:
    assert selected(members, spec) == expected


def test_copies_of_a_matching_member_that_are_blacklisted_erased_or_merged_are_left_out(
    members: Collection[Doc],
) -> None:
    # m07, m08 and m09 are copies of m01 that are blacklisted, erased and merged away.
    spec = SegmentSpec(tiers=("gold",), tags_all=("vip",), bought_brand="chanel", bought_brand_within_days=7)
    assert members.count_documents({"tenant_id": "t1", "tier": "gold", "tags": "vip"}) == 4
    assert selected(members, spec) == {"m01"}


def test_the_tenant_wall_holds_in_both_directions(members: Collection[Doc]) -> None:
    assert selected(members, SegmentSpec(), tenant="t2") == {"m10"}
    assert selected(members, SegmentSpec(tiers=("gold",)), tenant="t3") == set()
    assert "m10" not in selected(members, SegmentSpec(tiers=("gold",)))
