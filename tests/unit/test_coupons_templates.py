from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chassis.errors import FailedPrecondition, InvalidArgument
from services.coupons.domain.templates import (
    Audience,
    AudienceKind,
    Benefit,
    CouponKind,
    Limits,
    Period,
    Scope,
    Template,
    TemplateState,
    Terms,
    edit,
    period_key,
    transition,
)
from services.coupons.domain.validity import Validity

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 2, tzinfo=UTC)
THRESHOLD = Benefit.parse("threshold", threshold=30_000, amount_off=5_000)


def template(state: TemplateState = TemplateState.DRAFT, **overrides: Any) -> Template:
    fields: dict[str, Any] = {
        "id": "tpl1",
        "tenant_id": "t1",
        "name": "Spend 300 get 50 off",
        "benefit": THRESHOLD,
        "validity": Validity.parse(duration=timedelta(days=7)),
        "created_at": NOW,
        "limits": Limits.parse(total_stock=1_000, per_member_limit=2),
        "stackable": True,
        "state": state,
    }
    return Template.parse(**{**fields, **overrides})


def test_a_threshold_benefit_keeps_exactly_what_was_configured() -> None:
    assert Benefit.parse(
        "threshold", threshold=30_000, amount_off=5_000, repeating=True, min_spend=0
    ) == Benefit(CouponKind.THRESHOLD, amount_off=5_000, threshold=30_000, repeating=True)
    assert Benefit.parse("gift", gift_sku=" socks-1 ") == Benefit(CouponKind.GIFT, gift_sku="socks-1")


@pytest.mark.parametrize(
    ("kind", "kwargs", "field"),
    [
        ("cashback", {}, "benefit.kind"),
        ("amount_off", {}, "benefit.amount_off"),
        ("amount_off", {"amount_off": -1}, "benefit.amount_off"),
        ("amount_off", {"amount_off": 500, "percent_off": 1000}, "benefit.percent_off"),
        ("amount_off", {"amount_off": 500, "max_discount": 100}, "benefit.max_discount"),
        ("percent_off", {}, "benefit.percent_off"),
        ("percent_off", {"percent_off": 10_000}, "benefit.percent_off"),
        ("percent_off", {"percent_off": -5}, "benefit.percent_off"),
        ("percent_off", {"percent_off": 1500, "max_discount": -1}, "benefit.max_discount"),
        ("threshold", {"amount_off": 5_000}, "benefit.threshold"),
        ("threshold", {"threshold": 30_000}, "benefit.amount_off"),
        ("threshold", {"threshold": 30_000, "amount_off": 30_000}, "benefit.amount_off"),
        (
            "threshold",
            {"threshold": 30_000, "amount_off": 5_000, "max_discount": 9_000},
            "benefit.max_discount",
        ),
        ("amount_off", {"amount_off": 500, "repeating": True}, "benefit.repeating"),
        ("gift", {}, "benefit.gift_sku"),
        ("gift", {"gift_sku": "   "}, "benefit.gift_sku"),
        ("gift", {"gift_sku": "s" * 65}, "benefit.gift_sku"),
        ("gift", {"gift_sku": "socks", "amount_off": 100}, "benefit.amount_off"),
        ("gift", {"gift_sku": "socks", "min_spend": -1}, "benefit.min_spend"),
    ],
)
def test_a_bad_benefit_is_rejected_naming_the_field(kind: str, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        Benefit.parse(kind, **kwargs)
    assert err.value.field == field


def test_a_scope_is_stripped_and_deduplicated_brands_ignoring_case() -> None:
    scope = Scope.parse(include_brands=[" Acme ", "ACME", "Luxe"], exclude_skus=["a", "a", "A"])
    assert scope == Scope(include_brands=("Acme", "Luxe"), exclude_skus=("a", "A"))


@pytest.mark.parametrize(
    ("lists", "field"),
    [
        ({"include_brands": ["Acme", " "]}, "scope.include_brands[1]"),
        ({"exclude_categories": ["x" * 65]}, "scope.exclude_categories[0]"),
        ({"include_skus": ["ok", "b\x07d"]}, "scope.include_skus[1]"),
        ({"include_stores": [f"s{i}" for i in range(201)]}, "scope.include_stores"),
        ({"include_colours": ["red"]}, "scope.include_colours"),
        ({"include_brands": "Acme"}, "scope.include_brands"),
    ],
)
def test_a_bad_scope_is_rejected_naming_the_entry(lists: dict[str, list[str]], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        Scope.parse(**lists)
    assert err.value.field == field


def test_a_store_scope_includes_and_excludes() -> None:
    assert Scope().store_applies("s9") is True
    assert Scope.parse(include_stores=["s1"]).store_applies("s1") is True
    assert Scope.parse(include_stores=["s1"]).store_applies("s2") is False
    assert Scope.parse(include_stores=["s1"], exclude_stores=["s1"]).store_applies("s1") is False


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"total_stock": -1}, "limits.total_stock"),
        ({"budget": -100}, "limits.budget"),
        ({"per_member_limit": 1_001}, "limits.per_member_limit"),
        ({"per_period_limit": 1}, "limits.period"),
        ({"period": "week"}, "limits.per_period_limit"),
        ({"per_period_limit": 1, "period": "year"}, "limits.period"),
        ({"per_member_limit": 2, "per_period_limit": 3, "period": "day"}, "limits.per_period_limit"),
    ],
)
def test_bad_limits_are_rejected_naming_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        Limits.parse(**kwargs)
    assert err.value.field == field


def test_period_keys_name_the_local_day_iso_week_and_month() -> None:
    at = datetime(2026, 11, 22, 16, 30, tzinfo=UTC)  # 00:30 on Monday 23 November in Shanghai
    assert [period_key(p, at, SHANGHAI) for p in ("day", "week", "month")] == [
        "2026-11-23",
        "2026-W48",
        "2026-11",
    ]
    assert period_key("day", at, UTC) == "2026-11-22"
    assert period_key(Period.WEEK, datetime(2027, 1, 1, 12, tzinfo=SHANGHAI), SHANGHAI) == "2026-W53"
    with pytest.raises(ValueError, match="needs a period"):
        period_key("", at, SHANGHAI)
    with pytest.raises(ValueError, match="timezone-aware"):
        period_key("day", datetime(2026, 11, 23), SHANGHAI)


def test_an_audience_admits_its_tiers_or_its_segment() -> None:
    gold = Audience.parse("tiers", tiers=["gold", " gold ", "platinum"])
    assert gold == Audience(AudienceKind.TIERS, ("gold", "platinum"))
    assert (gold.admits("gold"), gold.admits("silver")) == (True, False)
    segment = Audience.parse("segment", segment_id="seg-1")
    assert (segment.admits("gold", in_segment=False), segment.admits("", in_segment=True)) == (False, True)
    assert Audience.parse("").admits("anyone") is True


@pytest.mark.parametrize(
    ("kind", "kwargs", "field"),
    [
        ("vip", {}, "audience.kind"),
        ("tiers", {}, "audience.tiers"),
        ("all", {"tiers": ["gold"]}, "audience.tiers"),
        ("tiers", {"tiers": ["gold", ""]}, "audience.tiers[1]"),
        ("segment", {}, "audience.segment_id"),
        ("all", {"segment_id": "seg-1"}, "audience.segment_id"),
    ],
)
def test_a_bad_audience_is_rejected_naming_the_field(kind: str, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        Audience.parse(kind, **kwargs)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("draft", "active"),
        ("active", "paused"),
        ("paused", "active"),
        ("draft", "ended"),
        ("active", "ended"),
        ("paused", "ended"),
    ],
)
def test_allowed_state_transitions(current: str, target: str) -> None:
    assert transition(TemplateState(current), TemplateState(target)) is TemplateState(target)


@pytest.mark.parametrize(
    ("current", "target", "message"),
    [
        ("ended", "active", "an ended template cannot be reactivated"),
        ("ended", "paused", "an ended template cannot be made paused"),
        ("ended", "ended", "the template is already ended"),
        ("active", "active", "the template is already active"),
        ("active", "draft", "a template that went live (active) cannot go back to draft"),
        ("paused", "draft", "a template that went live (paused) cannot go back to draft"),
        ("draft", "paused", "a draft template cannot be paused; activate it first"),
    ],
)
def test_other_state_transitions_are_refused_with_a_reason(current: str, target: str, message: str) -> None:
    with pytest.raises(FailedPrecondition) as err:
        transition(TemplateState(current), TemplateState(target))
    assert err.value.message == message


def test_a_template_normalises_its_name_and_defaults_its_settings() -> None:
    t = template(name="  Spend  300\tget 50 off ", description="  For regulars.  ")
    assert (t.name, t.description, t.version) == ("Spend 300 get 50 off", "For regulars.", 1)
    assert (t.scope, t.audience, t.claimable, t.shareable) == (Scope(), Audience(), False, False)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "n" * 81}, "name"),
        ({"description": "d" * 501}, "description"),
        (
            {
                "benefit": Benefit.parse("gift", gift_sku="socks"),
                "scope": Scope.parse(exclude_skus=["socks"]),
            },
            "benefit.gift_sku",
        ),
        (
            {
                "benefit": Benefit.parse("gift", gift_sku="socks"),
                "scope": Scope.parse(include_skus=["boots"]),
            },
            "benefit.gift_sku",
        ),
    ],
)
def test_a_bad_template_is_rejected_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        template(**overrides)
    assert err.value.field == field


def test_terms_are_the_snapshot_a_coupon_carries() -> None:
    t = template(TemplateState.ACTIVE)
    assert t.terms() == Terms("tpl1", 1, "Spend 300 get 50 off", THRESHOLD, Scope(), True, False)


def test_a_draft_may_change_anything_and_moves_to_the_next_version() -> None:
    t = template()
    percent = Benefit.parse("percent_off", percent_off=1500)
    edited = edit(t, benefit=percent, scope=Scope.parse(include_brands=["Acme"]), stackable=False)
    assert (edited.benefit, edited.scope.include_brands, edited.stackable, edited.version) == (
        percent,
        ("Acme",),
        False,
        2,
    )


def test_editing_an_active_template_changes_new_coupons_only() -> None:
    t = template(TemplateState.ACTIVE)
    issued = t.terms()
    edited = edit(t, name="Spend 300, get 50 off", limits=Limits.parse(total_stock=2_000), already_issued=700)
    assert (edited.name, edited.limits.total_stock, edited.version) == ("Spend 300, get 50 off", 2_000, 2)
    assert issued == Terms("tpl1", 1, "Spend 300 get 50 off", THRESHOLD, Scope(), True, False)
    assert edited.terms() == Terms("tpl1", 2, "Spend 300, get 50 off", THRESHOLD, Scope(), True, False)


@pytest.mark.parametrize("field", ["benefit", "scope", "stackable"])
def test_what_a_live_coupon_gives_cannot_change(field: str) -> None:
    changes: dict[str, Any] = {
        "benefit": Benefit.parse("amount_off", amount_off=1_000),
        "scope": Scope.parse(exclude_brands=["Luxe"]),
        "stackable": False,
    }
    for state in (TemplateState.ACTIVE, TemplateState.PAUSED):
        with pytest.raises(FailedPrecondition) as err:
            edit(template(state), **{field: changes[field]})
        assert err.value.message == (
            f"{field} cannot change once the template has gone live; end it and create a new one"
        )


def test_stock_cannot_go_below_the_coupons_already_issued() -> None:
    t = template(TemplateState.ACTIVE)
    with pytest.raises(InvalidArgument) as err:
        edit(t, limits=Limits.parse(total_stock=699), already_issued=700)
    assert (err.value.field, err.value.message) == (
        "limits.total_stock",
        "total_stock cannot go below the 700 coupons already issued",
    )
    assert edit(t, limits=Limits.parse(total_stock=700), already_issued=700).limits.total_stock == 700
    assert edit(t, limits=Limits(), already_issued=700).limits.total_stock == 0  # 0 = unlimited


def test_an_ended_template_cannot_be_edited() -> None:
    with pytest.raises(FailedPrecondition, match="an ended template cannot be edited"):
        edit(template(TemplateState.ENDED), name="Again")


def test_an_edit_that_changes_nothing_keeps_the_version() -> None:
    t = template(TemplateState.ACTIVE)
    assert edit(t, name=" Spend 300 get 50 off ", stackable=True, benefit=THRESHOLD) is t


def test_an_edit_validates_like_creation() -> None:
    with pytest.raises(InvalidArgument) as err:
        edit(template(TemplateState.PAUSED), name="")
    assert err.value.field == "name"
