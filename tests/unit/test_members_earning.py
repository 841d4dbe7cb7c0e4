import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chassis.errors import InvalidArgument
from services.members.domain import points as pts
from services.members.domain.earning import (
    Bonus,
    EarningRule,
    MemberFacts,
    Multiplier,
    PurchaseFacts,
    Scored,
    Share,
    ShareSource,
    Weekday,
    check_rules,
    parse_rule,
    parse_rules,
    parse_scored,
    reverse,
    rule_to_dict,
    score,
    scored_to_dict,
)
from services.members.domain.programme import (
    DEFAULT_PROGRAMME,
    Basis,
    BirthdayRules,
    BirthdayWindow,
    PointsRules,
    Programme,
    Rounding,
)
from services.members.domain.purchases import Line, Payment, parse_purchase
from services.members.domain.tiers import Tier, TierLadder

SHANGHAI = ZoneInfo("Asia/Shanghai")
SH = Programme(time_zone="Asia/Shanghai")
AT = datetime(2026, 3, 4, 12, tzinfo=UTC)  # a Wednesday
NOBODY = MemberFacts()


def line(
    paid: int,
    *,
    sku: str = "sku-1",
    brand: str = "Acme",
    category: str = "skin",
    list_price: int | None = None,
) -> Line:
    return Line(sku, brand, category, 1, paid if list_price is None else list_price, paid)


def cart(*lines: Line, store: str = "store-1", payments: tuple[Payment, ...] = ()) -> PurchaseFacts:
    return PurchaseFacts(store, lines, payments)


def rule(rule_id: str = "r1", **kw: Any) -> EarningRule:
    kw.setdefault("effect", Multiplier(2))
    return EarningRule(id=rule_id, name=kw.pop("name", rule_id), **kw)


def shares(scored: Scored) -> list[tuple[str, str, int]]:
    return [(s.source.value, s.rule_id, s.points) for s in scored.shares]


# --- the default programme with no rules is today's rule ----------------------------------------


@pytest.mark.parametrize(
    ("paid", "at", "birthday"),
    [
        ((12_399,), AT, None),
        ((99,), AT, None),
        ((50, 50), AT, None),  # two half-yuan lines make one yuan: rounding is on the total
        ((0,), AT, None),
        ((12_399, 1), AT, (3, 4)),  # the birthday doubles
        ((12_399,), AT, (3, 5)),
        ((10_000,), datetime(2027, 2, 28, 23, tzinfo=UTC), (2, 29)),  # 29 Feb on 28 Feb in common years
        ((10_000,), datetime(2028, 2, 28, 23, tzinfo=UTC), (2, 29)),
        ((10_000,), datetime(2026, 3, 4, 23, tzinfo=SHANGHAI), (3, 4)),  # 15:00 UTC, still the day
        ((10_000,), datetime(2026, 3, 5, 7, tzinfo=SHANGHAI), (3, 5)),  # 4 March in UTC: not today
    ],
)
def test_the_default_programme_scores_as_points_for_purchase(
    paid: tuple[int, ...], at: datetime, birthday: tuple[int, int] | None
) -> None:
    purchase = cart(*(line(p, sku=f"s{i}") for i, p in enumerate(paid)))
    scored = score(DEFAULT_PROGRAMME, [], purchase, MemberFacts(birthday=birthday), at)
    assert scored.total == pts.points_for_purchase(pts.PointsPolicy(), sum(paid), at, birthday)


def test_the_birthday_is_its_own_share() -> None:
    scored = score(DEFAULT_PROGRAMME, [], cart(line(12_345)), MemberFacts(birthday=(3, 4)), AT)
    assert shares(scored) == [("base", "", 123), ("birthday", "", 123)]
    assert (scored.base, scored.birthday, scored.total) == (123, 123, 246)
    none = score(DEFAULT_PROGRAMME, [], cart(line(12_345)), NOBODY, AT)
    assert shares(none) == [("base", "", 123)]


def test_a_purchase_earns_from_its_facts() -> None:
    purchase = parse_purchase(
        tenant_id="t",
        member_id="m",
        store_id="s1",
        receipt_no="r1",
        served_by_staff_id="",
        owner_staff_id="",
        lines=[line(5_000, sku="a"), line(7_000, sku="b")],
        coupon_codes=[],
        occurred_at=AT,
        currency="CNY",
    )
    facts = PurchaseFacts.of(purchase, [Payment("cash", 12_000)])
    assert (facts.store_id, facts.total_paid) == ("s1", 12_000)
    assert score(DEFAULT_PROGRAMME, [], facts, NOBODY, purchase.occurred_at).total == 120


# --- the programme's points rules ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("rounding", "points"), [(Rounding.FLOOR, 1), (Rounding.NEAREST, 2), (Rounding.CEIL, 2)]
)
def test_rounding_of_the_base(rounding: Rounding, points: int) -> None:
    programme = Programme(points=PointsRules(rounding=rounding))
    assert score(programme, [], cart(line(100), line(50, sku="b")), NOBODY, AT).base == points


def test_only_the_share_paid_by_earning_types_earns() -> None:
    programme = Programme(points=PointsRules(earning_payment_types=frozenset({"cash", "card"})))
    paid = cart(line(10_000), payments=(Payment("Cash", 6_000), Payment("points", 4_000)))
    assert score(programme, [], paid, NOBODY, AT).base == 60
    all_card = cart(line(10_000), payments=(Payment("card", 10_000),))
    assert score(programme, [], all_card, NOBODY, AT).base == 100
    none_reported = cart(line(10_000))
    assert score(programme, [], none_reported, NOBODY, AT).base == 0
    # With no restriction every payment earns, whatever the type.
    assert score(DEFAULT_PROGRAMME, [], paid, NOBODY, AT).base == 100


def test_the_payment_share_applies_to_each_line_proportionally() -> None:
    programme = Programme(points=PointsRules(earning_payment_types=frozenset({"card"})))
    purchase = cart(
        line(3_000, sku="a", brand="Dior"),
        line(7_000, sku="b"),
        payments=(Payment("card", 5_000), Payment("gift_card", 5_000)),
    )
    dior = rule(brands=frozenset({"Dior"}), effect=Multiplier(3))
    scored = score(programme, [dior], purchase, NOBODY, AT)
    # half of the ¥100 earns: base 50; Dior's line earns on half of ¥30: 15 base points, 2 × 15 extra.
    assert shares(scored) == [("base", "", 50), ("rule", "r1", 30)]


def test_payments_must_add_up() -> None:
    with pytest.raises(InvalidArgument) as err:
        score(DEFAULT_PROGRAMME, [], cart(line(10_000), payments=(Payment("cash", 9_000),)), NOBODY, AT)
    assert err.value.field == "payments"
    with pytest.raises(InvalidArgument) as err:
        score(
            DEFAULT_PROGRAMME,
            [],
            cart(line(0), payments=(Payment("cash", -1), Payment("card", 1))),
            NOBODY,
            AT,
        )
    assert err.value.field == "payments[0].amount"
    with pytest.raises(InvalidArgument) as err:
        score(DEFAULT_PROGRAMME, [], cart(line(1), payments=(Payment(" ", 1),)), NOBODY, AT)
    assert err.value.field == "payments[0].type"


def test_list_or_paid_basis() -> None:
    marked_down = cart(line(9_000, list_price=12_000))
    assert score(DEFAULT_PROGRAMME, [], marked_down, NOBODY, AT).base == 90
    assert score(Programme(points=PointsRules(basis=Basis.LIST)), [], marked_down, NOBODY, AT).base == 120


def test_a_rate_and_unit_of_the_tenant() -> None:
    programme = Programme(points=PointsRules(points_per_unit=3, unit_minor=1_000))
    assert score(programme, [], cart(line(25_999)), NOBODY, AT).base == 75


def test_a_birthday_week_with_a_bigger_multiplier() -> None:
    programme = Programme(birthday=BirthdayRules(3, BirthdayWindow.WEEK))
    member = MemberFacts(birthday=(3, 8))  # Sunday; the week is 2-8 March 2026
    assert shares(score(programme, [], cart(line(10_000)), member, AT)) == [
        ("base", "", 100),
        ("birthday", "", 200),
    ]
    later = datetime(2026, 3, 9, tzinfo=UTC)
    assert score(programme, [], cart(line(10_000)), member, later).total == 100


def test_a_birthday_multiplier_of_one_gives_no_share() -> None:
    programme = Programme(birthday=BirthdayRules(1))
    assert shares(score(programme, [], cart(line(10_000)), MemberFacts(birthday=(3, 4)), AT)) == [
        ("base", "", 100)
    ]


# --- rules -------------------------------------------------------------------------------------

WEEKEND = frozenset({Weekday.FRI, Weekday.SAT, Weekday.SUN})


def test_a_friday_to_sunday_rule_on_the_tenants_clock() -> None:
    double = rule(days_of_week=WEEKEND, brands=frozenset({"Acme"}))
    purchase = cart(line(10_000))
    saturday_1am = datetime(2026, 3, 7, 1, tzinfo=SHANGHAI)  # Friday 17:00 in UTC
    monday_1am = datetime(2026, 3, 9, 1, tzinfo=SHANGHAI)  # Sunday 17:00 in UTC
    friday_1am = datetime(2026, 3, 6, 1, tzinfo=SHANGHAI)  # Thursday 17:00 in UTC
    assert score(SH, [double], purchase, NOBODY, saturday_1am).total == 200
    assert score(SH, [double], purchase, NOBODY, friday_1am).total == 200
    assert score(SH, [double], purchase, NOBODY, monday_1am).total == 100
    # The same instants on a UTC tenant's clock.
    assert score(DEFAULT_PROGRAMME, [double], purchase, NOBODY, friday_1am).total == 100
    assert score(DEFAULT_PROGRAMME, [double], purchase, NOBODY, monday_1am).total == 200


def test_the_validity_window_is_from_inclusive_until_exclusive() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    end = datetime(2026, 4, 1, tzinfo=UTC)
    march = rule(valid_from=start, valid_until=end)
    purchase = cart(line(10_000))
    assert score(DEFAULT_PROGRAMME, [march], purchase, NOBODY, start).total == 200
    assert score(DEFAULT_PROGRAMME, [march], purchase, NOBODY, start - timedelta(microseconds=1)).total == 100
    assert score(DEFAULT_PROGRAMME, [march], purchase, NOBODY, end - timedelta(microseconds=1)).total == 200
    assert score(DEFAULT_PROGRAMME, [march], purchase, NOBODY, end).total == 100
    paused = rule(valid_from=start, valid_until=end, active=False)
    assert score(DEFAULT_PROGRAMME, [paused], purchase, NOBODY, AT).total == 100


def test_a_first_purchase_in_store_bonus() -> None:
    welcome = rule("welcome", effect=Bonus(200), stores=frozenset({"store-y"}), first_purchase_in_store=True)
    first = MemberFacts(first_purchase_in_store=True)
    in_y = cart(line(10_000), store="store-y")
    assert shares(score(DEFAULT_PROGRAMME, [welcome], in_y, first, AT)) == [
        ("base", "", 100),
        ("rule", "welcome", 200),
    ]
    assert (
        score(DEFAULT_PROGRAMME, [welcome], in_y, MemberFacts(first_purchase_in_store=False), AT).total == 100
    )
    assert score(DEFAULT_PROGRAMME, [welcome], cart(line(10_000), store="store-z"), first, AT).total == 100
    # A bonus is once per purchase, however many lines match.
    two_lines = cart(line(10_000), line(5_000, sku="b"), store="store-y")
    assert score(DEFAULT_PROGRAMME, [welcome], two_lines, first, AT).total == 350
    # A free sample earns no bonus.
    assert (
        score(DEFAULT_PROGRAMME, [welcome], cart(line(0, list_price=500), store="store-y"), first, AT).total
        == 0
    )


def test_a_bonus_needs_money_that_earns() -> None:
    programme = Programme(points=PointsRules(earning_payment_types=frozenset({"cash"})))
    bonus = rule("b", effect=Bonus(50))
    by_points = cart(line(1_000), payments=(Payment("points", 1_000),))
    assert score(programme, [bonus], by_points, NOBODY, AT).total == 0
    by_cash = cart(line(1_000), payments=(Payment("cash", 1), Payment("points", 999)))
    assert shares(score(programme, [bonus], by_cash, NOBODY, AT)) == [("base", "", 0), ("rule", "b", 50)]


def test_a_tier_restricted_triple_on_a_category() -> None:
    gold_skin = rule(
        "gold-skin", effect=Multiplier(3), tiers=frozenset({"gold"}), categories=frozenset({"Skin Care"})
    )
    purchase = cart(line(10_000, category="skin  care"), line(5_000, sku="b", category="make-up"))
    gold = score(DEFAULT_PROGRAMME, [gold_skin], purchase, MemberFacts(tier="gold"), AT)
    assert shares(gold) == [("base", "", 150), ("rule", "gold-skin", 200)]
    assert score(DEFAULT_PROGRAMME, [gold_skin], purchase, MemberFacts(tier="silver"), AT).total == 150
    # A member not yet placed is on the lowest tier.
    for_normal = rule("n", tiers=frozenset({"normal"}))
    assert score(DEFAULT_PROGRAMME, [for_normal], purchase, MemberFacts(tier=""), AT).total == 300


def test_skus_and_brands_filter_lines() -> None:
    only = rule(skus=frozenset({"b"}), brands=frozenset({"ACME"}))
    purchase = cart(line(10_000, sku="a"), line(5_000, sku="b"), line(3_000, sku="c", brand="Other"))
    assert shares(score(DEFAULT_PROGRAMME, [only], purchase, NOBODY, AT)) == [
        ("base", "", 180),
        ("rule", "r1", 50),
    ]
    nothing = rule(skus=frozenset({"zzz"}))
    assert score(DEFAULT_PROGRAMME, [nothing], purchase, NOBODY, AT).total == 180


def test_a_partly_used_cap_gives_the_remainder() -> None:
    capped = rule("capped", effect=Multiplier(3), cap_per_member=500)
    purchase = cart(line(100_000))  # base 1,000; the rule would add 2,000
    fresh = score(DEFAULT_PROGRAMME, [capped], purchase, NOBODY, AT)
    assert shares(fresh) == [("base", "", 1_000), ("rule", "capped", 500)]
    used = MemberFacts(rule_points_given={"capped": 400})
    assert shares(score(DEFAULT_PROGRAMME, [capped], purchase, used, AT)) == [
        ("base", "", 1_000),
        ("rule", "capped", 100),
    ]
    spent = MemberFacts(rule_points_given={"capped": 500})
    assert shares(score(DEFAULT_PROGRAMME, [capped], purchase, spent, AT)) == [("base", "", 1_000)]
    bonus = rule("bonus", effect=Bonus(200), cap_per_member=300)
    assert score(
        DEFAULT_PROGRAMME, [bonus], purchase, MemberFacts(rule_points_given={"bonus": 200}), AT
    ).by_rule() == {"bonus": 100}


def test_several_rules_on_one_purchase_each_have_a_share() -> None:
    programme = Programme(time_zone="Asia/Shanghai")
    rules = [
        rule("c-skin-3x", effect=Multiplier(3), categories=frozenset({"skin"}), tiers=frozenset({"gold"})),
        rule("a-acme-2x", effect=Multiplier(2), brands=frozenset({"Acme"}), days_of_week=WEEKEND),
        rule("b-welcome", effect=Bonus(200), first_purchase_in_store=True),
        rule("d-other-store", effect=Bonus(999), stores=frozenset({"elsewhere"})),
        rule("e-capped", effect=Multiplier(2), cap_per_member=30),
    ]
    purchase = cart(
        line(10_000, sku="a", brand="Acme", category="skin"),  # 100 base: 2x and 3x apply
        line(5_050, sku="b", brand="Acme", category="hair"),  # 50 base: 2x applies
        line(2_000, sku="c", brand="Zed", category="skin"),  # 20 base: 3x applies
    )
    member = MemberFacts(
        tier="gold", birthday=(3, 7), first_purchase_in_store=True, rule_points_given={"e-capped": 10}
    )
    saturday = datetime(2026, 3, 7, 15, tzinfo=SHANGHAI)
    scored = score(programme, list(reversed(rules)), purchase, member, saturday)
    assert shares(scored) == [
        ("base", "", 170),
        ("birthday", "", 170),  # on the base only
        ("rule", "a-acme-2x", 150),  # (2-1) × the 150.50 yuan of Acme lines, floored
        ("rule", "b-welcome", 200),
        ("rule", "c-skin-3x", 240),  # (3-1) × 120
        ("rule", "e-capped", 20),  # 170 wanted, 20 left of 30
    ]
    assert scored.total == sum(s.points for s in scored.shares) == 950
    assert scored.by_rule() == {"a-acme-2x": 150, "b-welcome": 200, "c-skin-3x": 240, "e-capped": 20}


def test_rules_with_the_same_id_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        score(DEFAULT_PROGRAMME, [rule("x"), rule("x")], cart(line(1)), NOBODY, AT)


def test_the_scoring_time_must_be_aware() -> None:
    with pytest.raises(InvalidArgument):
        score(DEFAULT_PROGRAMME, [], cart(line(1)), NOBODY, datetime(2026, 1, 1))


# --- reversal ----------------------------------------------------------------------------------

EARNED = Scored(
    (
        Share(ShareSource.BASE, "", 170),
        Share(ShareSource.BIRTHDAY, "", 170),
        Share(ShareSource.RULE, "a", 151),
        Share(ShareSource.RULE, "b", 200),
    )
)


def test_a_partial_refund_reverses_each_share_proportionally_and_the_last_the_remainder() -> None:
    paid = 17_000
    first = reverse(EARNED, paid, 5_000)
    assert shares(first) == [("base", "", 50), ("birthday", "", 50), ("rule", "a", 44), ("rule", "b", 58)]
    second = reverse(EARNED, paid, 5_000, already_refunded=5_000, already_reversed=first)
    assert shares(second) == [("base", "", 50), ("birthday", "", 50), ("rule", "a", 44), ("rule", "b", 59)]
    done = first.plus(second)
    last = reverse(EARNED, paid, 7_000, already_refunded=10_000, already_reversed=done)
    assert shares(last) == [("base", "", 70), ("birthday", "", 70), ("rule", "a", 63), ("rule", "b", 83)]
    assert shares(done.plus(last)) == shares(EARNED)
    # Nothing more to take back.
    assert reverse(EARNED, paid, 0, already_refunded=paid, already_reversed=done.plus(last)).total == 0


def test_each_share_reverses_like_points_to_reverse() -> None:
    for share in EARNED.shares:
        one = Scored((share,))
        assert reverse(one, 17_000, 3_333).total == pts.points_to_reverse(share.points, 17_000, 3_333)


def test_a_refund_cannot_exceed_the_purchase() -> None:
    with pytest.raises(ValueError, match="more than was paid"):
        reverse(EARNED, 100, 60, already_refunded=50)


@given(
    points=st.lists(st.integers(0, 10_000), min_size=1, max_size=5),
    paid=st.integers(1, 100_000),
    cuts=st.lists(st.integers(0, 100_000), max_size=6),
)
def test_reversals_never_overshoot_and_end_exactly(points: list[int], paid: int, cuts: list[int]) -> None:
    earned = Scored(
        (
            Share(ShareSource.BASE, "", points[0]),
            *(Share(ShareSource.RULE, f"r{i}", p) for i, p in enumerate(points[1:])),
        )
    )
    amounts = sorted({c % paid for c in cuts} | {0, paid})
    done = Scored(())
    refunded = 0
    for upto in amounts[1:]:
        step = reverse(earned, paid, upto - refunded, already_refunded=refunded, already_reversed=done)
        done = done.plus(step)
        refunded = upto
        for share in earned.shares:
            taken = {s.key: s.points for s in done.shares}.get(share.key, 0)
            assert taken <= share.points * refunded // paid
    assert done.total == earned.total
    assert [s for s in done.shares if s.points] == [s for s in earned.shares if s.points]


def test_scored_is_stored_as_plain_values() -> None:
    data = scored_to_dict(EARNED)
    assert json.loads(json.dumps(data)) == data
    assert parse_scored(data) == EARNED
    with pytest.raises(InvalidArgument) as err:
        parse_scored({"shares": [{"source": "luck", "rule_id": "", "points": 1}]})
    assert err.value.field == "shares[0].source"


# --- the dict form of rules ----------------------------------------------------------------------


def full_rule() -> dict[str, Any]:
    return {
        "id": "gold-skin-weekend",
        "name": "3× skin care for gold, Fri-Sun",
        "multiplier": 3,
        "valid_from": "2026-03-01T00:00:00+08:00",
        "valid_until": "2026-04-01T00:00:00Z",
        "days_of_week": ["Friday", "sat", "SUN"],
        "stores": ["s1", "s2"],
        "tiers": ["gold"],
        "brands": ["Estée  Lauder"],
        "categories": ["skin care"],
        "skus": ["A-1"],
        "first_purchase_in_store": False,
        "cap_per_member": 1_000,
        "active": True,
    }


def test_a_rule_round_trips() -> None:
    parsed = parse_rule(full_rule())
    assert parsed.effect == Multiplier(3)
    assert parsed.valid_from == datetime(2026, 2, 28, 16, tzinfo=UTC)
    assert parsed.days_of_week == WEEKEND
    assert parsed.brands == frozenset({"Estée Lauder"})
    data = rule_to_dict(parsed)
    assert json.loads(json.dumps(data)) == data
    assert parse_rule(data) == parsed
    assert data["days_of_week"] == ["fri", "sat", "sun"]
    bonus = parse_rule({"id": "b", "name": "welcome", "bonus_points": 200.0})
    assert bonus.effect == Bonus(200)
    assert (bonus.valid_from, bonus.valid_until, bonus.active, bonus.cap_per_member) == (
        None,
        None,
        True,
        None,
    )
    assert parse_rule(rule_to_dict(bonus)) == bonus


def with_(**changes: Any) -> dict[str, Any]:
    data = full_rule()
    for key, value in changes.items():
        if value is ...:
            del data[key]
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (with_(id=...), "earning_rules[0].id"),
        (with_(id="has space"), "earning_rules[0].id"),
        (with_(id="x" * 65), "earning_rules[0].id"),
        (with_(name=" "), "earning_rules[0].name"),
        (with_(name="x" * 101), "earning_rules[0].name"),
        (with_(multiplier=1), "earning_rules[0].multiplier"),
        (with_(multiplier=101), "earning_rules[0].multiplier"),
        (with_(multiplier=1.5), "earning_rules[0].multiplier"),
        (with_(multiplier=...), "earning_rules[0].multiplier"),
        (with_(bonus_points=10), "earning_rules[0].multiplier"),
        (with_(multiplier=..., bonus_points=0), "earning_rules[0].bonus_points"),
        (with_(valid_from="yesterday"), "earning_rules[0].valid_from"),
        (with_(valid_from="2026-03-01T00:00:00"), "earning_rules[0].valid_from"),
        (with_(valid_until=20260401), "earning_rules[0].valid_until"),
        (with_(valid_until="2026-02-28T16:00:00Z"), "earning_rules[0].valid_until"),
        (with_(days_of_week=["fri", "someday"]), "earning_rules[0].days_of_week[1]"),
        (with_(days_of_week=["fri", "friday"]), "earning_rules[0].days_of_week[1]"),
        (with_(days_of_week="fri"), "earning_rules[0].days_of_week"),
        (with_(stores=["s1", ""]), "earning_rules[0].stores[1]"),
        (with_(stores=["s1", "s1"]), "earning_rules[0].stores[1]"),
        (with_(stores=[1]), "earning_rules[0].stores[0]"),
        (with_(tiers=["platinum"]), "earning_rules[0].tiers[0]"),
        (with_(brands=["Dior", "DIOR"]), "earning_rules[0].brands[1]"),
        (with_(categories=["x" * 65]), "earning_rules[0].categories[0]"),
        (with_(skus=["a\tb"]), "earning_rules[0].skus[0]"),
        (with_(first_purchase_in_store=1), "earning_rules[0].first_purchase_in_store"),
        (with_(cap_per_member=0), "earning_rules[0].cap_per_member"),
        (with_(active="yes"), "earning_rules[0].active"),
        (with_(priority=1), "earning_rules[0].priority"),
    ],
)
def test_every_rule_mistake_names_its_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_rules([data], DEFAULT_PROGRAMME)
    assert err.value.field == field


def test_rules_are_checked_together() -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_rules([full_rule(), full_rule()], DEFAULT_PROGRAMME)
    assert err.value.field == "earning_rules[1].id"
    with pytest.raises(InvalidArgument) as err:
        parse_rules({"id": "x"}, DEFAULT_PROGRAMME)
    assert err.value.field == "earning_rules"
    with pytest.raises(InvalidArgument) as err:
        parse_rules([{"id": f"r{i}", "name": "x", "bonus_points": 1} for i in range(101)], DEFAULT_PROGRAMME)
    assert err.value.field == "earning_rules"
    assert len(parse_rules([full_rule()], DEFAULT_PROGRAMME)) == 1


def test_a_ladder_change_that_strands_a_rules_tier_is_found() -> None:
    rules = parse_rules([full_rule()], DEFAULT_PROGRAMME)
    bakery = Programme(ladder=TierLadder((Tier("normal", 0),)))
    with pytest.raises(InvalidArgument) as err:
        check_rules(bakery, rules)
    assert err.value.field == "earning_rules[0].tiers[0]"


def test_a_rule_built_directly_is_validated() -> None:
    with pytest.raises(InvalidArgument) as err:
        rule(effect=Bonus(0))
    assert err.value.field == "bonus_points"
    with pytest.raises(InvalidArgument) as err:
        rule(valid_from=datetime(2026, 1, 1))
    assert err.value.field == "valid_from"
