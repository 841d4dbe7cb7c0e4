from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chassis.errors import InvalidArgument
from services.coupons.domain.discounts import (
    Cart,
    CartLine,
    Decision,
    Reason,
    check_window,
    compute,
    money,
    percent_of,
)
from services.coupons.domain.templates import Benefit, Scope

EVERYWHERE = Scope()


def line(
    sku: str, unit_price: int, quantity: int = 1, brand: str = "Acme", category: str = "shoes"
) -> CartLine:
    return CartLine(sku, brand, category, quantity, unit_price)


def cart(*lines: CartLine, store: str = "s1") -> Cart:
    return Cart(store, lines)


def test_percent_off_rounds_half_up_to_the_minor_unit() -> None:
    assert percent_of(333, 1500) == 50  # 49.95 → 50
    assert percent_of(10, 1500) == 2  # 1.5 → 2
    assert percent_of(3, 1500) == 0  # 0.45 → 0
    assert percent_of(1, 1500) == 0  # 0.15 → 0
    assert compute(
        Benefit.parse("percent_off", percent_off=1500), EVERYWHERE, cart(line("a", 333))
    ) == Decision(True, 50, Reason.OK, "takes 0.50 off", 333)


def test_a_receipt_line_counts_its_own_total_not_quantity_times_a_rounded_unit_price() -> None:
    three_for_ten = CartLine("a", "Acme", "shoes", 3, 1_000 // 3, line_total=1_000)
    ten_percent = Benefit.parse("percent_off", percent_off=1000)

    assert cart(three_for_ten).total == 1_000
    assert compute(ten_percent, EVERYWHERE, cart(three_for_ten)).discount == 100


def test_percent_off_is_capped() -> None:
    benefit = Benefit.parse("percent_off", percent_off=2000, max_discount=5_000)
    assert compute(benefit, EVERYWHERE, cart(line("a", 100_000))).discount == 5_000
    assert compute(benefit, EVERYWHERE, cart(line("a", 20_000))).discount == 4_000


def test_amount_off_bigger_than_the_eligible_subtotal_gives_the_subtotal() -> None:
    benefit = Benefit.parse("amount_off", amount_off=5_000)
    scope = Scope.parse(include_categories=["socks"])
    decision = compute(benefit, scope, cart(line("s", 1_500, 2, category="socks"), line("b", 10_000)))
    assert (decision.applies, decision.discount, decision.eligible_subtotal) == (True, 3_000, 3_000)


def test_a_repeating_threshold_counts_every_full_threshold_reached() -> None:
    repeating = Benefit.parse("threshold", threshold=30_000, amount_off=5_000, repeating=True)
    once = Benefit.parse("threshold", threshold=30_000, amount_off=5_000)
    basket = cart(line("a", 32_500, 2))  # ¥650
    assert compute(repeating, EVERYWHERE, basket).discount == 10_000
    assert compute(once, EVERYWHERE, basket).discount == 5_000
    assert compute(once, EVERYWHERE, cart(line("a", 30_000))).discount == 5_000


def test_a_repeating_threshold_may_be_capped() -> None:
    benefit = Benefit.parse(
        "threshold", threshold=30_000, amount_off=5_000, repeating=True, max_discount=12_000
    )
    assert compute(benefit, EVERYWHERE, cart(line("a", 100_000, 2))).discount == 12_000


def test_below_the_threshold_the_coupon_does_not_apply_and_says_how_far() -> None:
    benefit = Benefit.parse("threshold", threshold=30_000, amount_off=5_000)
    assert compute(benefit, EVERYWHERE, cart(line("a", 29_900))) == Decision(
        False,
        0,
        Reason.BELOW_THRESHOLD,
        "spend 300.00 on eligible items for 50.00 off; they come to 299.00",
        29_900,
    )


def test_an_excluded_brand_counts_toward_neither_the_minimum_spend_nor_the_discount() -> None:
    benefit = Benefit.parse("percent_off", percent_off=1000, min_spend=10_000)
    scope = Scope.parse(exclude_brands=["Luxe"])
    basket = cart(line("a", 9_000), line("l", 50_000, brand="luxe"))  # brands match ignoring case
    assert compute(benefit, scope, basket) == Decision(
        False,
        0,
        Reason.BELOW_MIN_SPEND,
        "spend 100.00 on eligible items to use this coupon; they come to 90.00",
        9_000,
    )
    assert compute(
        benefit, scope, cart(line("a", 9_000), line("b", 1_000), line("l", 50_000, brand="Luxe"))
    ) == (Decision(True, 1_000, Reason.OK, "takes 10.00 off", 10_000))


def test_an_exclusion_wins_over_an_inclusion() -> None:
    scope = Scope.parse(include_brands=["Acme"], exclude_skus=["acme-gift-card"])
    assert scope.line_applies("acme-boot", "Acme", "shoes") is True
    assert scope.line_applies("acme-gift-card", "Acme", "cards") is False
    assert scope.line_applies("other-boot", "Other", "shoes") is False
    decision = compute(
        Benefit.parse("amount_off", amount_off=2_000), scope, cart(line("acme-gift-card", 50_000))
    )
    assert (decision.reason, decision.discount) == (Reason.NO_ELIGIBLE_ITEMS, 0)


def test_scope_dimensions_combine_with_and() -> None:
    scope = Scope.parse(include_brands=["Acme"], include_categories=["Shoes"])
    assert scope.line_applies("x", " ACME ", "shoes") is True
    assert scope.line_applies("x", "Acme", "socks") is False
    assert scope.line_applies("x", "Other", "shoes") is False


def test_the_store_is_checked_before_anything_else() -> None:
    benefit = Benefit.parse("amount_off", amount_off=1_000, min_spend=1_000_000)
    only_s2 = Scope.parse(include_stores=["s2"])
    assert compute(benefit, only_s2, cart(line("a", 5_000))) == Decision(
        False, 0, Reason.WRONG_STORE, "this coupon cannot be used in store s1"
    )
    assert (
        compute(benefit, Scope.parse(exclude_stores=["s1"]), cart(line("a", 5_000))).reason
        == Reason.WRONG_STORE
    )
    assert compute(benefit, only_s2, cart(line("a", 5_000), store="s2")).reason == Reason.BELOW_MIN_SPEND


def test_a_gift_coupon_pays_for_one_unit_of_the_gift_sku() -> None:
    benefit = Benefit.parse("gift", gift_sku="socks-1")
    assert compute(benefit, EVERYWHERE, cart(line("boot", 40_000), line("socks-1", 2_900, 3))) == Decision(
        True, 2_900, Reason.OK, "takes 29.00 off", 48_700
    )


def test_a_gift_coupon_without_the_gift_in_the_cart_does_not_apply() -> None:
    benefit = Benefit.parse("gift", gift_sku="socks-1")
    assert compute(benefit, EVERYWHERE, cart(line("boot", 40_000))) == Decision(
        False, 0, Reason.GIFT_NOT_IN_CART, "add socks-1 to the cart to receive it free", 40_000
    )
    out_of_scope = Scope.parse(exclude_brands=["Cheapo"])
    basket = cart(line("boot", 40_000), line("socks-1", 2_900, brand="Cheapo"))
    assert compute(benefit, out_of_scope, basket).reason == Reason.GIFT_NOT_IN_CART


def test_a_cart_with_nothing_in_scope_has_no_eligible_items() -> None:
    decision = compute(
        Benefit.parse("amount_off", amount_off=500), Scope.parse(include_skus=["x"]), cart(line("y", 900))
    )
    assert decision == Decision(
        False, 0, Reason.NO_ELIGIBLE_ITEMS, "nothing in the cart is covered by this coupon"
    )


def test_a_cart_is_parsed_from_request_data() -> None:
    parsed = Cart.parse(
        " s1 ",
        [{"sku": " a ", "brand": "Acme", "category": "shoes", "quantity": 2, "unit_price": 1_250}],
        "m1",
    )
    assert parsed == Cart("s1", (CartLine("a", "Acme", "shoes", 2, 1_250),), "m1")
    assert parsed.total == 2_500


@pytest.mark.parametrize(
    ("store_id", "lines", "field"),
    [
        ("", [{"sku": "a", "quantity": 1, "unit_price": 1}], "store_id"),
        ("s1", [], "lines"),
        ("s1", [{"sku": "a", "quantity": 1, "unit_price": 1}] * 201, "lines"),
        (
            "s1",
            [{"sku": "a", "quantity": 1, "unit_price": 1}, {"sku": " ", "quantity": 1, "unit_price": 1}],
            "lines[1].sku",
        ),
        (
            "s1",
            [{"sku": "a", "quantity": 1, "unit_price": 1}] * 3
            + [{"sku": "a", "quantity": 0, "unit_price": 1}],
            "lines[3].quantity",
        ),
        ("s1", [{"sku": "a", "quantity": True, "unit_price": 1}], "lines[0].quantity"),
        ("s1", [{"sku": "a", "quantity": 1, "unit_price": -1}], "lines[0].unit_price"),
        ("s1", [{"sku": "a", "quantity": 1, "unit_price": 1.5}], "lines[0].unit_price"),
        ("s1", [{"sku": "a", "brand": 7, "quantity": 1, "unit_price": 1}], "lines[0].brand"),
    ],
)
def test_a_bad_cart_is_rejected_naming_the_field(
    store_id: str, lines: list[dict[str, Any]], field: str
) -> None:
    with pytest.raises(InvalidArgument) as err:
        Cart.parse(store_id, lines)
    assert err.value.field == field


def test_the_window_check_says_expired_or_not_yet_valid() -> None:
    start = datetime(2026, 11, 23, 10, tzinfo=UTC)
    end = start + timedelta(hours=2)
    assert check_window(start, end, start) is None
    assert check_window(start, end, end - timedelta(microseconds=1)) is None
    assert check_window(start, end, end) == Decision(
        False, 0, Reason.EXPIRED, "this coupon expired at 2026-11-23T12:00:00+00:00"
    )
    assert check_window(start, end, start - timedelta(seconds=1)) == Decision(
        False, 0, Reason.NOT_YET_VALID, "this coupon can be used from 2026-11-23T10:00:00+00:00"
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        check_window(start, end, datetime(2026, 11, 23, 11))


def test_money_is_printed_with_two_decimals() -> None:
    assert [money(0), money(5), money(5_000), money(123_456)] == ["0.00", "0.05", "50.00", "1234.56"]
