from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from chassis.errors import FailedPrecondition, InvalidArgument
from services.members.domain.purchases import (
    Line,
    Purchase,
    RefundLine,
    brand_key,
    category_key,
    credited_staff,
    parse_purchase,
    parse_refund,
    purchase_key,
)

AT = datetime(2026, 3, 5, 10, 30, tzinfo=UTC)


def line(sku: str = "A1", **overrides: Any) -> Line:
    fields: dict[str, Any] = dict(
        sku=sku, brand="Lancôme", category="Skin Care", quantity=1, list_price=10_000, paid_price=10_000
    )
    fields.update(overrides)
    return Line(**fields)


def purchase(**overrides: Any) -> Purchase:
    fields: dict[str, Any] = dict(
        tenant_id="t1",
        member_id="m1",
        store_id="s1",
        receipt_no="R-0001",
        served_by_staff_id="staff-served",
        owner_staff_id="staff-owner",
        lines=[line()],
        coupon_codes=[],
        occurred_at=AT,
        currency="CNY",
    )
    fields.update(overrides)
    return parse_purchase(**fields)


def two_sku_purchase() -> Purchase:
    return purchase(
        lines=[
            line("A1", quantity=2, list_price=20_000, paid_price=18_000),
            line("B2", brand="Estée Lauder", list_price=5_000, paid_price=5_000),
            line("A1", quantity=1, list_price=10_000, paid_price=7_000),
        ]
    )


def test_totals_and_discount_add_up_over_the_lines() -> None:
    p = two_sku_purchase()
    assert (p.total_list, p.total_paid, p.discount) == (35_000, 30_000, 5_000)
    assert p.discounted


def test_a_full_price_purchase_with_a_coupon_counts_as_discounted() -> None:
    assert not purchase().discounted
    assert purchase(coupon_codes=["SPRING50"]).discounted


def test_spend_is_grouped_by_brand_and_category_keys() -> None:
    p = two_sku_purchase()
    assert p.spend_by_brand() == {"lancôme": 25_000, "estée_lauder": 5_000}
    assert p.spend_by_category() == {"skin_care": 30_000}


def test_the_owning_assistant_is_credited_even_when_a_colleague_served() -> None:
    assert credited_staff("staff-owner", "staff-served") == "staff-owner"
    assert purchase().credited_staff_id == "staff-owner"


def test_the_serving_assistant_is_credited_when_the_member_has_no_owner() -> None:
    assert credited_staff("", "staff-served") == "staff-served"
    p = purchase(owner_staff_id="  ")
    assert (p.credited_staff_id, p.served_by_staff_id) == ("staff-served", "staff-served")


def test_purchase_key_is_deterministic_and_distinct_per_store() -> None:
    key = purchase_key("t1", "s1", "R-0001")
    assert key == purchase_key("t1", "s1", "R-0001")
    assert len(key) == 32
    assert key != purchase_key("t1", "s2", "R-0001")
    assert key != purchase_key("t2", "s1", "R-0001")
    assert purchase().id == key


def test_purchase_key_parts_cannot_be_shifted_into_each_other() -> None:
    with pytest.raises(ValueError, match="separator"):
        purchase_key("t1", "s1\x1fR", "0001")


def test_an_explicit_purchase_id_is_kept() -> None:
    assert purchase(purchase_id="p-42").id == "p-42"


def test_ids_are_trimmed_and_currency_upper_cased() -> None:
    p = purchase(
        receipt_no="  R-0001 ", currency="cny", occurred_at=AT.astimezone(timezone(timedelta(hours=8)))
    )
    assert (p.receipt_no, p.currency) == ("R-0001", "CNY")
    assert p.occurred_at == AT
    assert p.occurred_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tenant_id": ""}, "tenant_id"),
        ({"member_id": " "}, "member_id"),
        ({"store_id": ""}, "store_id"),
        ({"receipt_no": ""}, "receipt_no"),
        ({"receipt_no": "R" * 65}, "receipt_no"),
        ({"receipt_no": "R\x1f1"}, "receipt_no"),
        ({"currency": "¥"}, "currency"),
        ({"currency": "CNYX"}, "currency"),
        ({"occurred_at": datetime(2026, 3, 5)}, "occurred_at"),
        ({"lines": []}, "lines"),
        ({"lines": [line()] * 201}, "lines"),
        ({"lines": [line(), line(quantity=0)]}, "lines[1].quantity"),
        ({"lines": [line(list_price=-1, paid_price=-1)]}, "lines[0].list_price"),
        ({"lines": [line(), line(), line(paid_price=10_001)]}, "lines[2].paid_price"),
        ({"lines": [line(sku=" ")]}, "lines[0].sku"),
        ({"lines": [line(brand="B" * 65)]}, "lines[0].brand"),
        ({"lines": [line(category="a\x00b")]}, "lines[0].category"),
        ({"lines": [line(list_price=2**62, paid_price=0)] * 2}, "lines"),
        ({"coupon_codes": ["OK", ""]}, "coupon_codes[1]"),
        ({"purchase_id": " "}, "purchase_id"),
    ],
)
def test_a_bad_purchase_is_rejected_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        purchase(**overrides)
    assert err.value.field == field


def test_paying_the_list_price_or_nothing_is_allowed() -> None:
    p = purchase(lines=[line(paid_price=10_000), line("GIFT", list_price=0, paid_price=0)])
    assert p.total_paid == 10_000


def test_a_partial_refund_within_what_was_paid_is_accepted() -> None:
    p = two_sku_purchase()
    r = parse_refund(p, {"A1": 5_000}, [RefundLine("A1", 1, 20_000), RefundLine("B2", 0, 1_000)], "rf1", AT)
    assert r.amount == 21_000
    assert r.purchase_id == p.id


def test_refunding_more_than_is_left_for_a_sku_is_rejected() -> None:
    p = two_sku_purchase()  # A1 paid 25,000 over two lines
    with pytest.raises(InvalidArgument) as err:
        parse_refund(p, {"A1": 5_000}, [RefundLine("B2", 1, 5_000), RefundLine("A1", 1, 20_001)], "rf1", AT)
    assert err.value.field == "lines[1].amount"


def test_two_lines_of_one_sku_in_a_refund_count_together() -> None:
    p = two_sku_purchase()
    with pytest.raises(InvalidArgument) as err:
        parse_refund(p, {}, [RefundLine("A1", 1, 20_000), RefundLine("A1", 1, 5_001)], "rf1", AT)
    assert err.value.field == "lines[1].amount"


def test_an_unknown_sku_cannot_be_refunded() -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_refund(purchase(), {}, [RefundLine("ZZ", 1, 1)], "rf1", AT)
    assert err.value.field == "lines[0].sku"


@pytest.mark.parametrize(
    ("refund_line", "field"),
    [
        (RefundLine("A1", 2, 1), "lines[0].quantity"),
        (RefundLine("A1", -1, 1), "lines[0].quantity"),
        (RefundLine("A1", 1, -1), "lines[0].amount"),
        (RefundLine("A1", 0, 0), "lines[0].amount"),
    ],
)
def test_a_bad_refund_line_is_rejected_naming_the_field(refund_line: RefundLine, field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_refund(purchase(), {}, [refund_line], "rf1", AT)
    assert err.value.field == field


def test_a_refund_needs_lines_an_id_and_a_time_after_the_purchase() -> None:
    for args, field in (
        (([], "rf1", AT), "lines"),
        ((None, "", AT), "refund_id"),
        ((None, "rf1", AT - timedelta(seconds=1)), "occurred_at"),
    ):
        with pytest.raises(InvalidArgument) as err:
            parse_refund(purchase(), {}, *args)
        assert err.value.field == field


def test_a_whole_purchase_refund_gives_back_everything_not_yet_refunded() -> None:
    p = two_sku_purchase()
    r = parse_refund(p, {"A1": 5_000}, None, "rf2", AT)
    assert set(r.lines) == {RefundLine("A1", 0, 20_000), RefundLine("B2", 1, 5_000)}
    assert r.amount == p.total_paid - 5_000


def test_a_whole_purchase_refund_of_a_fully_refunded_purchase_is_refused() -> None:
    p = two_sku_purchase()
    with pytest.raises(FailedPrecondition):
        parse_refund(p, {"A1": 25_000, "B2": 5_000}, None, "rf3", AT)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Estée  Lauder", "estée_lauder"),
        ("  Skin Care\t", "skin_care"),
        ("Dr.Jart+", "drjart+"),
        ("$where", "where"),
        ("$$.", "unknown"),
        ("", "unknown"),
        ("   ", "unknown"),
        ("周大福", "周大福"),
    ],
)
def test_brand_and_category_keys_are_safe_mongodb_field_names(name: str, key: str) -> None:
    assert brand_key(name) == key
    assert category_key(name) == key
    assert "." not in key
    assert not key.startswith("$")
