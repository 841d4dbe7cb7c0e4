"""Versions of a tenant's programme: each change makes the next version, lists what it changed,
keeps the sections it does not name, and is refused naming the field when it would break the
programme — a ladder that strands a rule's tier included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chassis.errors import InvalidArgument, NotFound
from services.members.domain import programme_versions as pv
from services.members.domain.programme import DEFAULT_PROGRAMME

AT = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
GOLD_RULE = {"id": "gold-3x", "name": "3x for gold", "multiplier": 3, "tiers": ["gold"]}
LADDER = {
    "tiers": [{"name": "basic", "min_trailing_spend": 0}, {"name": "vip", "min_trailing_spend": 500_000}]
}


def test_a_tenant_without_versions_runs_the_defaults_as_version_0() -> None:
    v0 = pv.defaults("t1")
    assert (v0.version, v0.programme, v0.rules, v0.changed_by) == (0, DEFAULT_PROGRAMME, (), "")


def test_a_settings_change_makes_the_next_version_and_keeps_other_sections() -> None:
    v1 = pv.with_settings(pv.defaults("t1"), {"points": {"points_per_unit": 2}}, "key-1", AT)
    assert v1 is not None
    v2 = pv.with_settings(v1, {"time_zone": "Asia/Shanghai"}, "key-2", AT)
    assert v2 is not None
    assert (v1.version, v1.sections, v1.changed_by) == (1, ("points",), "key-1")
    assert (v2.version, v2.sections) == (2, ("time_zone",))
    assert v2.programme.points.points_per_unit == 2  # kept from version 1
    assert v2.programme.time_zone == "Asia/Shanghai"


def test_a_change_that_changes_nothing_makes_no_version() -> None:
    assert pv.with_settings(pv.defaults("t1"), {"dormant_days": [30, 60, 90]}, "key-1", AT) is None
    v1 = pv.with_rule(pv.defaults("t1"), GOLD_RULE, "key-1", AT)
    assert v1 is not None
    assert pv.with_rule(v1, GOLD_RULE, "key-1", AT) is None


@pytest.mark.parametrize(
    ("sections", "field"),
    [
        (
            {"ladder": {"tiers": [{"name": "a", "min_trailing_spend": 5}]}},
            "ladder.tiers[0].min_trailing_spend",
        ),
        ({"points": {"rounding": "sideways"}}, "points.rounding"),
        ({"colour": "red"}, "sections"),
        ({}, "settings"),
    ],
)
def test_a_bad_change_is_refused_naming_the_field(sections: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        pv.with_settings(pv.defaults("t1"), sections, "key-1", AT)
    assert err.value.field == field


def test_rules_are_added_replaced_and_removed_each_as_a_version() -> None:
    v1 = pv.with_rule(pv.defaults("t1"), GOLD_RULE, "key-1", AT)
    assert v1 is not None
    v2 = pv.with_rule(v1, GOLD_RULE | {"multiplier": 2}, "key-1", AT)
    assert v2 is not None
    v3 = pv.without_rule(v2, "gold-3x", "key-1", AT)
    assert [len(v.rules) for v in (v1, v2, v3)] == [1, 1, 0]
    assert (v3.version, v3.sections) == (3, ("earning_rules",))
    with pytest.raises(NotFound):
        pv.without_rule(v3, "gold-3x", "key-1", AT)


def test_a_rule_for_a_tier_off_the_ladder_and_a_ladder_that_strands_a_rule_are_refused() -> None:
    with pytest.raises(InvalidArgument) as err:
        pv.with_rule(pv.defaults("t1"), GOLD_RULE | {"tiers": ["platinum"]}, "key-1", AT)
    assert err.value.field == "rule.tiers[0]"
    v1 = pv.with_rule(pv.defaults("t1"), GOLD_RULE, "key-1", AT)
    assert v1 is not None
    with pytest.raises(InvalidArgument) as stranded:
        pv.with_settings(v1, {"ladder": LADDER}, "key-1", AT)
    assert stranded.value.field == "earning_rules[0].tiers[0]"


def test_who_made_the_change_is_required() -> None:
    with pytest.raises(InvalidArgument) as err:
        pv.with_settings(pv.defaults("t1"), {"time_zone": "Asia/Tokyo"}, " ", AT)
    assert err.value.field == "changed_by"
