"""What a refund gives back, judged against the purchase and the refunds before it. No I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.members.domain import points as pts
from services.members.domain.purchases import RecordedPurchase, Refund, RefundLine, parse_refund


@dataclass(frozen=True)
class RecordedRefund:
    """A refund as recorded on its purchase, with the points it took back."""

    refund: Refund
    points_reversed: int


@dataclass(frozen=True)
class RefundDecision:
    refund: Refund
    points_reversed: int
    complete: bool  # the purchase is now refunded in full (its coupons come back)


def decide_refund(
    recorded: RecordedPurchase,
    earlier: Sequence[RecordedRefund],
    lines: Sequence[RefundLine] | None,
    refund_id: str,
    at: datetime,
) -> RefundDecision:
    """The refund, never more per sku than was paid over all refunds, and its share of the
    purchase's points (the refund that completes the purchase takes back exactly the rest)."""
    refunded_by_sku: dict[str, int] = {}
    for r in earlier:
        for ln in r.refund.lines:
            refunded_by_sku[ln.sku] = refunded_by_sku.get(ln.sku, 0) + ln.amount
    purchase = recorded.purchase
    refund = parse_refund(purchase, refunded_by_sku, lines, refund_id, at)
    refunded_before = sum(refunded_by_sku.values())
    reverse = pts.points_to_reverse(
        recorded.points_awarded,
        purchase.total_paid,
        refund.amount,
        already_refunded=refunded_before,
        already_reversed=sum(r.points_reversed for r in earlier),
    )
    return RefundDecision(refund, reverse, refunded_before + refund.amount >= purchase.total_paid)
