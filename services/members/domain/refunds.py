"""What a refund gives back, judged against the purchase and the refunds before it. No I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.members.domain import points as pts
from services.members.domain.purchases import RecordedPurchase, Refund, RefundLine, parse_refund


@dataclass(frozen=True)
class RecordedRefund:
    """A refund as recorded on its purchase, with the points it took back, what it reverses of
    each earning rule's share (given back to the rule's counter, so its cap counts purchases
    that stand) and the spend month its purchase was counted in (the month it lowers)."""

    refund: Refund
    points_reversed: int
    rule_points: Mapping[str, int] = field(default_factory=dict)
    spend_month: str = ""


@dataclass(frozen=True)
class RefundDecision:
    refund: Refund
    points_reversed: int
    complete: bool  # the purchase is now refunded in full (its coupons come back)
    rule_points: Mapping[str, int] = field(default_factory=dict)  # rule id -> points of its share reversed


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
    return RefundDecision(
        refund,
        reverse,
        refunded_before + refund.amount >= purchase.total_paid,
        rule_shares_reversed(recorded, refunded_before, refund.amount),
    )


def rule_shares_reversed(recorded: RecordedPurchase, refunded_before: int, amount: int) -> dict[str, int]:
    """What a refund of `amount` (after `refunded_before`) reverses of each rule's share of the
    purchase, on the running total as points_to_reverse does: after it, floor(share × refunded /
    paid) of the share is reversed in all, so the refunds of a purchase reverse each share once."""
    paid = recorded.purchase.total_paid
    shares: dict[str, int] = {}
    for s in recorded.shares:
        if s.rule_id and s.points:
            shares[s.rule_id] = shares.get(s.rule_id, 0) + s.points
    out = {
        rule: pts.points_to_reverse(
            share,
            paid,
            amount,
            already_refunded=refunded_before,
            already_reversed=share * refunded_before // paid if paid else 0,
        )
        for rule, share in shares.items()
    }
    return {rule: n for rule, n in out.items() if n}
