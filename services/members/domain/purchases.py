"""Purchases and refunds as facts about a member. Standard library only: no I/O here.

Money is `int` minor units (fen, cents) everywhere; a line's prices are the line total,
not a unit price, so a till's rounding is taken as it printed it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from chassis.errors import FailedPrecondition, InvalidArgument
from services.members.domain.points import PointsShare
from services.members.domain.rule_caps import CapHold

ID_MAX = 64
TEXT_MAX = 64  # brand/category: the same limit segments put on "bought_brand", so any brand is targetable
MAX_LINES = 200
MAX_COUPONS = 50
MAX_QUANTITY = 1_000_000
# Money is stored as 64-bit integers; a bigger total would crash the driver, not just look odd.
MAX_MONEY = 2**63 - 1
MAX_PAYMENTS = 20
PAYMENT_TYPE_MAX = 32
_KEY_SEPARATOR = "\x1f"  # ASCII unit separator: can't occur in a validated id, so keys are unambiguous


@dataclass(frozen=True)
class Line:
    """One receipt line; `list_price` and `paid_price` are line totals (quantity included)."""

    sku: str
    brand: str
    category: str
    quantity: int
    list_price: int
    paid_price: int


@dataclass(frozen=True)
class Payment:
    """How part of a purchase was paid: a type the till names ("cash", "wechat_pay", "points")."""

    type: str
    amount: int  # minor units


@dataclass(frozen=True)
class Purchase:
    """A validated receipt of a member; build it with `parse_purchase`."""

    id: str
    tenant_id: str
    member_id: str
    store_id: str
    receipt_no: str
    served_by_staff_id: str
    credited_staff_id: str
    lines: tuple[Line, ...]
    coupon_codes: tuple[str, ...]
    occurred_at: datetime
    currency: str
    payments: tuple[Payment, ...] = ()  # as the till reported them (none: not reported)

    @property
    def total_list(self) -> int:
        return sum(line.list_price for line in self.lines)

    @property
    def total_paid(self) -> int:
        return sum(line.paid_price for line in self.lines)

    @property
    def discount(self) -> int:
        return self.total_list - self.total_paid

    @property
    def discounted(self) -> bool:
        """Feeds "members who care about discounts": a markdown or any coupon counts."""
        return self.discount > 0 or bool(self.coupon_codes)

    def spend_by_brand(self) -> dict[str, int]:
        """Paid amount per `brand_key`, the key member stats are stored under."""
        return _spend_by(self.lines, lambda line: brand_key(line.brand))

    def spend_by_category(self) -> dict[str, int]:
        """Paid amount per `category_key`, the key member stats are stored under."""
        return _spend_by(self.lines, lambda line: category_key(line.category))

    def paid_by_sku(self) -> dict[str, int]:
        """Paid amount per sku; a sku on several lines (e.g. one marked down) is summed."""
        return _spend_by(self.lines, lambda line: line.sku)

    def quantity_by_sku(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for line in self.lines:
            out[line.sku] = out.get(line.sku, 0) + line.quantity
        return out


def credited_staff(owner_staff_id: str, served_by_staff_id: str) -> str:
    """Who a purchase is credited to: the member's owning assistant, else who served.

    "The benefit of the customer must be clearly attributed": the assistant who looks after
    a member (at the moment of purchase, so after a hand-over the successor) earns the credit
    even when a colleague rang up the sale, so follow-up work pays off for whoever does it.
    A member with no owning assistant credits the one who served; neither gives "".
    """
    return owner_staff_id.strip() or served_by_staff_id.strip()


def purchase_key(tenant_id: str, store_id: str, receipt_no: str) -> str:
    """The purchase id derived from its receipt, so a till retrying a post records it once.

    Receipt numbers are unique per store, so (tenant, store, receipt) names one purchase.
    sha256 of the parts joined by the unit separator, 32 hex chars (128 bits).
    """
    parts = (tenant_id, store_id, receipt_no)
    if any(_KEY_SEPARATOR in part for part in parts):
        raise ValueError("purchase key parts must not contain the unit separator")
    digest = hashlib.sha256(_KEY_SEPARATOR.join(parts).encode("utf-8")).hexdigest()
    return digest[:32]


def parse_purchase(
    *,
    tenant_id: str,
    member_id: str,
    store_id: str,
    receipt_no: str,
    served_by_staff_id: str,
    owner_staff_id: str,
    lines: Sequence[Line],
    coupon_codes: Sequence[str],
    occurred_at: datetime,
    currency: str,
    purchase_id: str | None = None,
    payments: Sequence[Payment] = (),
) -> Purchase:
    """A purchase from a till; any mistake names the request field (e.g. "lines[2].paid_price").

    Ids and texts are trimmed; currency is upper-cased. `purchase_id` defaults to
    `purchase_key(...)` so the receipt number is the idempotency key. `owner_staff_id` is
    the member's owning assistant *now* (read by the caller), which fixes the credit.
    """
    tenant_id = _required_id("tenant_id", tenant_id)
    member_id = _required_id("member_id", member_id)
    store_id = _required_id("store_id", store_id)
    receipt_no = _required_id("receipt_no", receipt_no)
    served_by_staff_id = _optional_id("served_by_staff_id", served_by_staff_id)
    owner_staff_id = _optional_id("owner_staff_id", owner_staff_id)
    currency = currency.strip().upper()
    if len(currency) != 3 or not (currency.isascii() and currency.isalpha()):
        raise InvalidArgument("currency", "currency must be a 3-letter ISO 4217 code such as CNY")
    occurred_at = _utc("occurred_at", occurred_at)
    parsed_lines = _parse_lines(lines)
    codes = _parse_coupon_codes(coupon_codes)
    paid_by = _parse_payments(payments, sum(line.paid_price for line in parsed_lines))
    if purchase_id is None:
        purchase_id = purchase_key(tenant_id, store_id, receipt_no)
    else:
        purchase_id = _required_id("purchase_id", purchase_id)
    return Purchase(
        id=purchase_id,
        tenant_id=tenant_id,
        member_id=member_id,
        store_id=store_id,
        receipt_no=receipt_no,
        served_by_staff_id=served_by_staff_id,
        credited_staff_id=credited_staff(owner_staff_id, served_by_staff_id),
        lines=parsed_lines,
        coupon_codes=codes,
        occurred_at=occurred_at,
        currency=currency,
        payments=paid_by,
    )


def _parse_payments(payments: Sequence[Payment], paid: int) -> tuple[Payment, ...]:
    """The payments, types trimmed and lower-cased; when reported they add up to what was paid."""
    if len(payments) > MAX_PAYMENTS:
        raise InvalidArgument("payments", f"a purchase has at most {MAX_PAYMENTS} payments")
    parsed: list[Payment] = []
    for i, payment in enumerate(payments):
        kind = payment.type.strip().lower()
        if not kind or len(kind) > PAYMENT_TYPE_MAX:
            raise InvalidArgument(
                f"payments[{i}].type", f"a payment needs a type (up to {PAYMENT_TYPE_MAX} characters)"
            )
        if not 0 <= payment.amount <= MAX_MONEY:
            raise InvalidArgument(f"payments[{i}].amount", "a payment's amount must not be negative")
        parsed.append(Payment(kind, payment.amount))
    if parsed and sum(p.amount for p in parsed) != paid:
        raise InvalidArgument("payments", f"the payments must add up to the amount paid ({paid})")
    return tuple(parsed)


@dataclass(frozen=True)
class RefundLine:
    """Money given back for one sku; quantity 0 is money only (a price dispute settled)."""

    sku: str
    quantity: int
    amount: int


@dataclass(frozen=True)
class Refund:
    """A validated refund of (part of) one purchase; build it with `parse_refund`."""

    id: str
    purchase_id: str
    lines: tuple[RefundLine, ...]
    occurred_at: datetime

    @property
    def amount(self) -> int:
        return sum(line.amount for line in self.lines)


def parse_refund(
    purchase: Purchase,
    already_refunded: dict[str, int],
    lines: Sequence[RefundLine] | None,
    refund_id: str,
    occurred_at: datetime,
) -> Refund:
    """A refund that never gives back more per sku than was paid for it, over all refunds.

    `already_refunded` is sku -> amount refunded by earlier refunds. `lines=None` refunds the
    whole purchase: every sku's unrefunded remainder (skus with nothing left, free items
    included, are left out; a sku untouched so far carries its bought quantity, a partly
    refunded one quantity 0 because only amounts are tracked). Nothing left to refund is a
    FailedPrecondition, not a bad request.
    """
    refund_id = _required_id("refund_id", refund_id)
    occurred_at = _utc("occurred_at", occurred_at)
    if occurred_at < purchase.occurred_at:
        raise InvalidArgument("occurred_at", "a refund cannot happen before its purchase")
    paid = purchase.paid_by_sku()
    bought = purchase.quantity_by_sku()
    if lines is None:
        whole = tuple(
            RefundLine(sku, bought[sku] if sku not in already_refunded else 0, amount - done)
            for sku, amount in paid.items()
            if (done := already_refunded.get(sku, 0)) < amount
        )
        if not whole:
            raise FailedPrecondition("the purchase is already fully refunded")
        return Refund(id=refund_id, purchase_id=purchase.id, lines=whole, occurred_at=occurred_at)
    if not lines:
        raise InvalidArgument("lines", "a refund needs at least one line")
    if len(lines) > MAX_LINES:
        raise InvalidArgument("lines", f"a refund has at most {MAX_LINES} lines")
    refunded = dict(already_refunded)
    parsed: list[RefundLine] = []
    for i, line in enumerate(lines):
        field = f"lines[{i}]"
        sku = line.sku.strip()
        if sku not in paid:
            raise InvalidArgument(f"{field}.sku", f"sku {sku[:ID_MAX]!r} is not on the purchase")
        if not 0 <= line.quantity <= bought[sku]:
            raise InvalidArgument(f"{field}.quantity", f"quantity must be between 0 and {bought[sku]}")
        if line.amount < 0:
            raise InvalidArgument(f"{field}.amount", "amount must not be negative")
        if line.amount == 0 and line.quantity == 0:
            raise InvalidArgument(f"{field}.amount", "a line must return goods or money")
        left = paid[sku] - refunded.get(sku, 0)
        if line.amount > left:
            raise InvalidArgument(f"{field}.amount", f"only {max(left, 0)} of sku {sku!r} is left to refund")
        refunded[sku] = refunded.get(sku, 0) + line.amount
        parsed.append(RefundLine(sku, line.quantity, line.amount))
    return Refund(id=refund_id, purchase_id=purchase.id, lines=tuple(parsed), occurred_at=occurred_at)


def brand_key(name: str) -> str:
    """Key of a brand inside member stats, safe as a MongoDB field name.

    Segments filter on these keys too (segments.to_filter), so one rule serves both.
    Lower-cased, whitespace runs become "_", dots and leading "$" removed (MongoDB would read
    them as paths or operators), empty becomes "unknown".
    """
    key = "_".join(name.lower().split()).replace(".", "").lstrip("$")
    return key or "unknown"


def category_key(name: str) -> str:
    """Key of a category inside member stats; same rule as `brand_key`."""
    return brand_key(name)


def _spend_by(lines: Sequence[Line], key: Callable[[Line], str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in lines:
        k = key(line)
        out[k] = out.get(k, 0) + line.paid_price
    return out


def _parse_lines(lines: Sequence[Line]) -> tuple[Line, ...]:
    if not lines:
        raise InvalidArgument("lines", "a purchase needs at least one line")
    if len(lines) > MAX_LINES:
        raise InvalidArgument("lines", f"a purchase has at most {MAX_LINES} lines")
    parsed: list[Line] = []
    total_list = 0
    for i, line in enumerate(lines):
        field = f"lines[{i}]"
        if not 1 <= line.quantity <= MAX_QUANTITY:
            raise InvalidArgument(f"{field}.quantity", f"quantity must be between 1 and {MAX_QUANTITY}")
        for name, price in (("list_price", line.list_price), ("paid_price", line.paid_price)):
            if not 0 <= price <= MAX_MONEY:
                raise InvalidArgument(f"{field}.{name}", f"{name} must be between 0 and {MAX_MONEY}")
        if line.paid_price > line.list_price:
            raise InvalidArgument(f"{field}.paid_price", "paid_price must not exceed list_price")
        total_list += line.list_price
        if total_list > MAX_MONEY:
            raise InvalidArgument("lines", "the purchase total is too large")
        parsed.append(
            Line(
                sku=_required_id(f"{field}.sku", line.sku),
                brand=_text(f"{field}.brand", line.brand),
                category=_text(f"{field}.category", line.category),
                quantity=line.quantity,
                list_price=line.list_price,
                paid_price=line.paid_price,
            )
        )
    return tuple(parsed)


def _parse_coupon_codes(codes: Sequence[str]) -> tuple[str, ...]:
    if len(codes) > MAX_COUPONS:
        raise InvalidArgument("coupon_codes", f"a purchase has at most {MAX_COUPONS} coupon codes")
    return tuple(_required_id(f"coupon_codes[{i}]", code) for i, code in enumerate(codes))


def _required_id(field: str, value: str) -> str:
    value = _optional_id(field, value)
    if not value:
        raise InvalidArgument(field, f"{field} is required")
    return value


def _optional_id(field: str, value: str) -> str:
    value = value.strip()
    if len(value) > ID_MAX:
        raise InvalidArgument(field, f"{field} is longer than {ID_MAX} characters")
    if not value.isprintable():
        raise InvalidArgument(field, f"{field} must not contain control characters")
    return value


def _text(field: str, value: str) -> str:
    """Brand or category as printed: trimmed, inner spaces collapsed, may be empty ("unknown")."""
    value = " ".join(value.split())
    if len(value) > TEXT_MAX:
        raise InvalidArgument(field, f"{field} is longer than {TEXT_MAX} characters")
    if not value.isprintable():
        raise InvalidArgument(field, f"{field} must not contain control characters")
    return value


def _utc(field: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidArgument(field, f"{field} must carry a time zone")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class RecordedPurchase:
    """A purchase as recorded, with the points it earned (fixed at recording time), the
    programme version it was scored under and why it earned them (share by share)."""

    purchase: Purchase
    points_awarded: int
    pending: bool = False  # recorded, its effects on the member not yet all applied
    programme_version: int = 0
    shares: tuple[PointsShare, ...] = ()
    spend_month: str = ""  # "YYYY-MM" its spend counts in (the tenant's zone when recorded)
    cap_hold: CapHold | None = None  # the reservation its capped rules' shares were taken under
