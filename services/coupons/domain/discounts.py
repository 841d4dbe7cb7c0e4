"""What one coupon takes off one cart, and why not when it doesn't. No I/O, integers only.

Money is minor units (fen); details print it with two decimals. A `Decision` always carries
a machine `reason` for the till and a sentence for the person at it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from chassis.errors import InvalidArgument
from services.coupons.domain.templates import BP, ID_MAX, MAX_MONEY, Benefit, CouponKind, Scope
from services.coupons.domain.validity import is_valid_at

MAX_LINES = 200
MAX_QUANTITY = 1_000_000


class Reason(StrEnum):
    OK = "ok"
    WRONG_STORE = "wrong_store"
    NO_ELIGIBLE_ITEMS = "no_eligible_items"
    BELOW_MIN_SPEND = "below_min_spend"
    BELOW_THRESHOLD = "below_threshold"
    GIFT_NOT_IN_CART = "gift_not_in_cart"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    NOT_STACKABLE = "not_stackable"
    NOT_AVAILABLE = "not_available"


@dataclass(frozen=True)
class CartLine:
    sku: str
    brand: str
    category: str
    quantity: int
    unit_price: int
    line_total: int | None = None  # a receipt's line total, when it is not quantity x unit price

    @property
    def total(self) -> int:
        """The line's money: the receipt's own total when given (3 for ¥10 is ¥10, not 3 x ¥3.33)."""
        return self.quantity * self.unit_price if self.line_total is None else self.line_total


@dataclass(frozen=True)
class Cart:
    store_id: str
    lines: tuple[CartLine, ...]
    member_id: str = ""

    @property
    def total(self) -> int:
        return sum(line.total for line in self.lines)

    @classmethod
    def parse(cls, store_id: str, lines: Sequence[Mapping[str, object]], member_id: str = "") -> Cart:
        """A cart from request data: lines are mappings with sku, brand, category, quantity, unit_price."""
        store_id = _text("store_id", store_id, required=True)
        if not lines:
            raise InvalidArgument("lines", "the cart has no lines")
        if len(lines) > MAX_LINES:
            raise InvalidArgument("lines", f"a cart has at most {MAX_LINES} lines")
        parsed = []
        for i, raw in enumerate(lines):
            f = f"lines[{i}]"
            sku, brand, category = (
                _text(f"{f}.{k}", raw.get(k, ""), required=k == "sku") for k in ("sku", "brand", "category")
            )
            quantity = _int(f"{f}.quantity", raw.get("quantity"), 1, MAX_QUANTITY)
            unit_price = _int(f"{f}.unit_price", raw.get("unit_price"), 0, MAX_MONEY)
            parsed.append(CartLine(sku, brand, category, quantity, unit_price))
        return cls(store_id, tuple(parsed), _text("member_id", member_id, required=False))


@dataclass(frozen=True)
class Decision:
    applies: bool
    discount: int
    reason: Reason
    detail: str
    eligible_subtotal: int = 0


def compute(benefit: Benefit, scope: Scope, cart: Cart) -> Decision:
    """The discount `benefit` gives on `cart`, counting only the lines `scope` covers.

    Checks run in the order a person would: store, eligible items, minimum spend, then the
    kind's own condition. The discount never exceeds the eligible subtotal.

    Percentages round half up to the minor unit: 15 % of 3.33 is 0.4995 → 0.50, 15 % of
    0.01 → 0.00. Half up is what a customer checks on a calculator and what tills print;
    the cap (`max_discount`) is applied after rounding, so a capped coupon gives the cap.
    """
    if not scope.store_applies(cart.store_id):
        return _no(Reason.WRONG_STORE, f"this coupon cannot be used in store {cart.store_id}")
    eligible_lines = [ln for ln in cart.lines if scope.line_applies(ln.sku, ln.brand, ln.category)]
    eligible = sum(ln.total for ln in eligible_lines)
    if eligible == 0:
        return _no(Reason.NO_ELIGIBLE_ITEMS, "nothing in the cart is covered by this coupon")
    if eligible < benefit.min_spend:
        return _no(
            Reason.BELOW_MIN_SPEND,
            f"spend {money(benefit.min_spend)} on eligible items to use this coupon; "
            f"they come to {money(eligible)}",
            eligible,
        )
    kind = benefit.kind
    if kind is CouponKind.AMOUNT_OFF:
        discount = benefit.amount_off
    elif kind is CouponKind.PERCENT_OFF:
        discount = percent_of(eligible, benefit.percent_off)
    elif kind is CouponKind.THRESHOLD:
        times = eligible // benefit.threshold
        if times == 0:
            return _no(
                Reason.BELOW_THRESHOLD,
                f"spend {money(benefit.threshold)} on eligible items for {money(benefit.amount_off)} off; "
                f"they come to {money(eligible)}",
                eligible,
            )
        discount = benefit.amount_off * (times if benefit.repeating else 1)
    else:
        prices = [ln.unit_price for ln in eligible_lines if ln.sku == benefit.gift_sku]
        if not prices:
            return _no(
                Reason.GIFT_NOT_IN_CART, f"add {benefit.gift_sku} to the cart to receive it free", eligible
            )
        discount = min(prices)  # one unit; if its lines differ in price, the cheapest
    if benefit.max_discount:
        discount = min(discount, benefit.max_discount)
    discount = min(discount, eligible)
    return Decision(True, discount, Reason.OK, f"takes {money(discount)} off", eligible)


def percent_of(amount: int, basis_points: int) -> int:
    """`amount` × `basis_points` / 10 000, rounded half up to the minor unit (amounts are ≥ 0)."""
    return (amount * basis_points + BP // 2) // BP


def check_window(valid_from: datetime, valid_until: datetime, at: datetime) -> Decision | None:
    """`expired` or `not_yet_valid` when `at` is outside [valid_from, valid_until), else None."""
    if is_valid_at(valid_from, valid_until, at):
        return None
    if at.astimezone(UTC) < valid_from.astimezone(UTC):
        return _no(Reason.NOT_YET_VALID, f"this coupon can be used from {valid_from.isoformat()}")
    return _no(Reason.EXPIRED, f"this coupon expired at {valid_until.isoformat()}")


def money(minor: int) -> str:
    """Minor units as a decimal with two places: 5000 → "50.00"."""
    return f"{'-' if minor < 0 else ''}{abs(minor) // 100}.{abs(minor) % 100:02d}"


def _no(reason: Reason, detail: str, eligible: int = 0) -> Decision:
    return Decision(False, 0, reason, detail, eligible)


def _text(field: str, value: object, *, required: bool) -> str:
    if not isinstance(value, str):
        raise InvalidArgument(field, f"{field} must be text")
    value = value.strip()
    if required and not value:
        raise InvalidArgument(field, f"{field} is required")
    if len(value) > ID_MAX or not value.isprintable():
        raise InvalidArgument(field, f"{field} must be at most {ID_MAX} printable characters")
    return value


def _int(field: str, value: object, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidArgument(field, f"{field} must be a whole number from {low} to {high}")
    return value
