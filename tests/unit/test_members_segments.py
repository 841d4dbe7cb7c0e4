from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from chassis.errors import InvalidArgument
from services.members.domain import segments
from services.members.domain.purchases import brand_key
from services.members.domain.segments import SegmentSpec, parse_segment, spec_to_dict, to_filter

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
WALLS = {
    "tenant_id": "t1",
    "blacklist": {"$exists": False},
    "erased": {"$exists": False},
    "merged_into": {"$exists": False},
}


def criteria(spec: SegmentSpec) -> dict[str, Any]:
    """The filter without the walls every filter carries."""
    f = to_filter(spec, "t1", NOW)
    return {k: v for k, v in f.items() if k not in WALLS}


def test_an_empty_spec_still_walls_off_the_tenant_and_excludes_blacklisted_erased_and_merged() -> None:
    assert to_filter(SegmentSpec(), "t1", NOW) == WALLS


def test_the_walls_are_present_whatever_the_spec_asks() -> None:
    spec = SegmentSpec(tiers=("gold",), tags_none=("vip",), consent_channel="sms", not_seen_for_days=30)
    f = to_filter(spec, "t1", NOW)
    for key, value in WALLS.items():
        assert f[key] == value


def test_a_filter_without_a_tenant_is_refused() -> None:
    with pytest.raises(InvalidArgument) as err:
        to_filter(SegmentSpec(), "  ", NOW)
    assert err.value.field == "tenant_id"


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        to_filter(SegmentSpec(), "t1", datetime(2026, 3, 15))


def test_now_in_another_zone_is_converted_to_utc() -> None:
    beijing = NOW.astimezone(timezone(timedelta(hours=8)))
    since = to_filter(SegmentSpec(joined_within_days=1), "t1", beijing)["registered_at"]["$gte"]
    assert since == NOW - timedelta(days=1)
    assert since.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (SegmentSpec(tiers=("gold", "diamond")), {"tier": {"$in": ["gold", "diamond"]}}),
        (SegmentSpec(tags_any=("a", "b")), {"tags": {"$in": ["a", "b"]}}),
        (SegmentSpec(tags_all=("a", "b")), {"tags": {"$all": ["a", "b"]}}),
        (SegmentSpec(tags_none=("a",)), {"tags": {"$nin": ["a"]}}),
        (
            SegmentSpec(tags_any=("a",), tags_all=("b",), tags_none=("c",)),
            {"tags": {"$in": ["a"], "$all": ["b"], "$nin": ["c"]}},
        ),
        (SegmentSpec(home_store_ids=("s1",)), {"home_store_id": {"$in": ["s1"]}}),
        (SegmentSpec(owner_staff_ids=("st1", "st2")), {"owner_staff_id": {"$in": ["st1", "st2"]}}),
        (SegmentSpec(bought_brand="Estée Lauder"), {"stats.brands.estée_lauder": {"$exists": True}}),
        (
            SegmentSpec(bought_brand="Chanel", bought_brand_within_days=30),
            {"stats.brands.chanel.last_at": {"$gte": NOW - timedelta(days=30)}},
        ),
        (SegmentSpec(bought_category="Lip Stick"), {"stats.categories.lip_stick": {"$exists": True}}),
        (
            SegmentSpec(bought_category="rings", bought_category_within_days=7),
            {"stats.categories.rings.last_at": {"$gte": NOW - timedelta(days=7)}},
        ),
        (SegmentSpec(total_spend_min=100_00), {"stats.total_spend": {"$gte": 100_00}}),
        (SegmentSpec(total_spend_max=500_00), {"stats.total_spend": {"$lte": 500_00}}),
        (
            SegmentSpec(total_spend_min=1, total_spend_max=2),
            {"stats.total_spend": {"$gte": 1, "$lte": 2}},
        ),
        (
            SegmentSpec(trailing_spend_min=30_000_00, trailing_spend_max=90_000_00),
            {"stats.trailing_12m_spend": {"$gte": 30_000_00, "$lte": 90_000_00}},
        ),
        (SegmentSpec(discount_share_min=0.5), {"stats.discount_share": {"$gte": 0.5}}),
        (
            SegmentSpec(not_seen_for_days=30),
            {"stats.last_purchase_at": {"$lt": NOW - timedelta(days=30)}},
        ),
        (SegmentSpec(birthday_month=2), {"birthday.month": {"$eq": 2}}),
        (SegmentSpec(joined_within_days=14), {"registered_at": {"$gte": NOW - timedelta(days=14)}}),
        (SegmentSpec(consent_channel="wechat"), {"consent.wechat": {"$eq": True}}),
    ],
)
def test_each_criterion_becomes_its_filter_clause(spec: SegmentSpec, expected: dict[str, Any]) -> None:
    assert criteria(spec) == expected


def test_criteria_are_anded_as_separate_clauses() -> None:
    spec = SegmentSpec(tiers=("gold",), total_spend_min=1000, consent_channel="sms", birthday_month=5)
    assert criteria(spec) == {
        "tier": {"$in": ["gold"]},
        "stats.total_spend": {"$gte": 1000},
        "birthday.month": {"$eq": 5},
        "consent.sms": {"$eq": True},
    }


def test_never_seen_members_are_left_out_of_not_seen_for_days_by_using_lt() -> None:
    # $lt does not match a missing field, which is the documented rule.
    assert list(criteria(SegmentSpec(not_seen_for_days=30))["stats.last_purchase_at"]) == ["$lt"]


def test_only_operators_ferretdb_understands_are_used() -> None:
    allowed = {"$in", "$nin", "$all", "$gte", "$lte", "$lt", "$gt", "$exists", "$eq", "$and"}
    spec = parse_segment(
        {
            "tiers": ["gold"],
            "tags_any": ["a"],
            "tags_all": ["b"],
            "tags_none": ["c"],
            "home_store_ids": ["s"],
            "owner_staff_ids": ["st"],
            "bought_brand": "x",
            "bought_brand_within_days": 3,
            "bought_category": "y",
            "total_spend_min": 1,
            "total_spend_max": 9,
            "trailing_spend_min": 1,
            "trailing_spend_max": 9,
            "discount_share_min": 0.3,
            "not_seen_for_days": 30,
            "birthday_month": 1,
            "joined_within_days": 10,
            "consent_channel": "app",
        }
    )
    used: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key.startswith("$"):
                    used.add(key)
                walk(value)

    walk(to_filter(spec, "t1", NOW))
    assert used <= allowed
    assert used == {"$in", "$nin", "$all", "$gte", "$lte", "$lt", "$exists", "$eq"}


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Chanel", "chanel"),
        ("  Estée   Lauder ", "estée_lauder"),
        ("Dr.Jart+", "drjart+"),
        ("$where", "where"),
        ("$$x", "x"),
        ("...", "unknown"),
        ("", "unknown"),
        ("雅诗兰黛", "雅诗兰黛"),
    ],
)
def test_brand_and_category_keys_follow_the_purchase_key_rule(name: str, key: str) -> None:
    assert brand_key(name) == key


def test_a_brand_that_looks_like_an_operator_cannot_escape_its_path() -> None:
    f = criteria(SegmentSpec(bought_brand="$where.x"))
    assert f == {"stats.brands.wherex": {"$exists": True}}


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"colour": "red"}, "criteria.colour"),
        ({"birthday_month": 0}, "criteria.birthday_month"),
        ({"birthday_month": 13}, "criteria.birthday_month"),
        ({"birthday_month": "5"}, "criteria.birthday_month"),
        ({"birthday_month": 5.0}, "criteria.birthday_month"),
        ({"not_seen_for_days": 0}, "criteria.not_seen_for_days"),
        ({"not_seen_for_days": 3651}, "criteria.not_seen_for_days"),
        ({"not_seen_for_days": True}, "criteria.not_seen_for_days"),
        ({"joined_within_days": -1}, "criteria.joined_within_days"),
        ({"bought_brand": "x", "bought_brand_within_days": 4000}, "criteria.bought_brand_within_days"),
        ({"bought_brand_within_days": 3}, "criteria.bought_brand_within_days"),
        ({"bought_category_within_days": 3}, "criteria.bought_category_within_days"),
        ({"total_spend_min": 10, "total_spend_max": 9}, "criteria.total_spend_max"),
        ({"trailing_spend_min": 10, "trailing_spend_max": 9}, "criteria.trailing_spend_max"),
        ({"total_spend_min": -1}, "criteria.total_spend_min"),
        ({"total_spend_max": 2**63}, "criteria.total_spend_max"),
        ({"discount_share_min": 1.5}, "criteria.discount_share_min"),
        ({"discount_share_min": -0.1}, "criteria.discount_share_min"),
        ({"discount_share_min": float("nan")}, "criteria.discount_share_min"),
        ({"discount_share_min": "high"}, "criteria.discount_share_min"),
        ({"consent_channel": "carrier_pigeon"}, "criteria.consent_channel"),
        ({"consent_channel": 1}, "criteria.consent_channel"),
        ({"tiers": "gold"}, "criteria.tiers"),
        ({"tiers": ["gold", ""]}, "criteria.tiers"),
        ({"tags_any": ["   "]}, "criteria.tags_any"),
        ({"tags_all": [1]}, "criteria.tags_all"),
        ({"tags_none": [{"$ne": 1}]}, "criteria.tags_none"),
        ({"home_store_ids": ["s"] * 101}, "criteria.home_store_ids"),
        ({"owner_staff_ids": ["x" * 65]}, "criteria.owner_staff_ids"),
        ({"bought_brand": ""}, "criteria.bought_brand"),
        ({"bought_category": "x" * 65}, "criteria.bought_category"),
        ({"bought_brand": {"$gt": ""}}, "criteria.bought_brand"),
    ],
)
def test_invalid_criteria_are_rejected_naming_the_field(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_segment(raw)
    assert err.value.field == field


def test_criteria_that_are_not_an_object_are_rejected() -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_segment(["tiers"])  # type: ignore[arg-type]
    assert err.value.field == "criteria"


def test_a_spec_built_in_code_is_validated_too() -> None:
    with pytest.raises(InvalidArgument) as err:
        SegmentSpec(birthday_month=13)
    assert err.value.field == "criteria.birthday_month"


def test_limits_at_their_edges_are_accepted() -> None:
    spec = parse_segment(
        {
            "not_seen_for_days": 3650,
            "joined_within_days": 1,
            "birthday_month": 12,
            "discount_share_min": 1,
            "total_spend_min": 5,
            "total_spend_max": 5,
            "tags_any": ["x" * 64] * 100,
        }
    )
    assert spec.discount_share_min == 1.0
    assert spec.total_spend_min == spec.total_spend_max == 5


def test_nulls_and_empty_lists_mean_not_given() -> None:
    assert parse_segment({"tiers": [], "bought_brand": None, "birthday_month": None}) == SegmentSpec()


def test_strings_are_trimmed_and_lists_become_tuples() -> None:
    spec = parse_segment({"tiers": [" gold ", "silver"], "bought_brand": " Chanel "})
    assert spec.tiers == ("gold", "silver")
    assert spec.bought_brand == "Chanel"


# --- storing ----------------------------------------------------------------------------------


def test_a_full_spec_round_trips_through_its_stored_form() -> None:
    spec = SegmentSpec(
        tiers=("gold",),
        tags_any=("a", "b"),
        tags_all=("c",),
        tags_none=("d",),
        home_store_ids=("s1",),
        owner_staff_ids=("st1",),
        bought_brand="Chanel",
        bought_brand_within_days=30,
        bought_category="rings",
        bought_category_within_days=90,
        total_spend_min=0,
        total_spend_max=100,
        trailing_spend_min=1,
        trailing_spend_max=2,
        discount_share_min=0.25,
        not_seen_for_days=30,
        birthday_month=6,
        joined_within_days=7,
        consent_channel="phone",
    )
    stored = spec_to_dict(spec)
    assert set(stored) == {f.name for f in fields(SegmentSpec)}
    assert stored["tiers"] == ["gold"]
    assert parse_segment(stored) == spec


def test_the_stored_form_leaves_out_unset_criteria() -> None:
    spec = SegmentSpec(tiers=("gold",), total_spend_min=0)
    assert spec_to_dict(spec) == {"tiers": ["gold"], "total_spend_min": 0}
    assert spec_to_dict(SegmentSpec()) == {}
    assert parse_segment(spec_to_dict(spec)) == spec


def test_every_criterion_is_covered_by_exactly_one_validation_kind() -> None:
    kinds = (
        *segments._LIST_FIELDS,
        *segments._TEXT_FIELDS,
        *segments._INT_FIELDS,
        *segments._FLOAT_FIELDS,
    )
    assert sorted(kinds) == sorted(f.name for f in fields(SegmentSpec))
