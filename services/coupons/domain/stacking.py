"""Which of a member's coupons to use on one cart, and whether a till's own choice is allowed.

Rules: a non-stackable (exclusive) coupon is used alone; stackable coupons combine; at most
one coupon per template per checkout; together they never take off more than the cart total.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from services.coupons.domain.discounts import Decision, Reason


@dataclass(frozen=True)
class Candidate:
    """One coupon the member holds, with what it would give on this cart on its own."""

    coupon_id: str
    template_id: str
    stackable: bool
    decision: Decision
    valid_until: datetime


@dataclass(frozen=True)
class Suggestion:
    """`chosen` is (coupon_id, amount it takes off); the amounts sum to `total_discount`."""

    chosen: tuple[tuple[str, int], ...]
    total_discount: int
    rejected: Mapping[str, tuple[Reason, str]]


def suggest(candidates: Sequence[Candidate], cart_total: int) -> Suggestion:
    """The best coupons to use: largest total, then fewest coupons, then soonest to expire.

    "Soonest to expire" compares the chosen coupons one by one in (valid_until, larger
    discount, coupon_id) order, so the member uses the coupon about to lapse and keeps the
    one that lasts. The search is exact and polynomial:

    - a checkout is one exclusive coupon, or stackable coupons from distinct templates;
    - the stackables' total is min(cart_total, sum), which is at most min(cart_total, sum of
      each template's best) = T, and the per-template bests reach it, so T is the best total;
    - no k coupons from distinct templates sum to more than the k largest template bests, so
      the shortest prefix of those (largest first) reaching T gives the fewest coupons, k;
    - among k-sets reaching T, slots are filled in expiry order with the first coupon for
      which a completion still exists; the test (its value + the best per-template values of
      the coupons after it) is exact, so this is the first such set in that order;
    - that set is compared with each exclusive coupon alone under the same three keys.
    """
    if cart_total < 0:
        raise ValueError("cart_total must not be negative")
    if len({c.coupon_id for c in candidates}) != len(candidates):
        raise ValueError("coupon ids must be unique")
    if any(c.valid_until.tzinfo is None or c.valid_until.utcoffset() is None for c in candidates):
        raise ValueError("datetimes must be timezone-aware")

    def value(c: Candidate) -> int:
        return min(c.decision.discount, cart_total) if c.decision.applies else 0

    def key(c: Candidate) -> tuple[datetime, int, str]:
        return (c.valid_until.astimezone(UTC), -value(c), c.coupon_id)

    usable = sorted((c for c in candidates if value(c) > 0), key=key)
    options = [_best_stack([c for c in usable if c.stackable], value, cart_total)]
    options += [[c] for c in usable if not c.stackable]
    best = min(options, key=lambda s: (-min(cart_total, sum(map(value, s))), len(s), [key(c) for c in s]))
    total = min(cart_total, sum(map(value, best)))
    chosen: list[tuple[str, int]] = []
    left = total
    for c in best:  # the last (latest-expiring) one is capped; minimality keeps every amount > 0
        chosen.append((c.coupon_id, min(value(c), left)))
        left -= chosen[-1][1]
    picked = {c.coupon_id for c in best}
    rejected = {c.coupon_id: _why_not(c, value(c), best) for c in candidates if c.coupon_id not in picked}
    return Suggestion(tuple(chosen), total, rejected)


def _best_stack(ordered: list[Candidate], value: Callable[[Candidate], int], cap: int) -> list[Candidate]:
    """The fewest, soonest-expiring stackables (distinct templates) reaching the best total."""
    maxima = sorted(_template_bests(ordered, value).values(), reverse=True)
    target = min(cap, sum(maxima))
    k = next((n for n in range(len(maxima) + 1) if sum(maxima[:n]) >= target), 0)
    chosen: list[Candidate] = []
    need, start = target, 0
    for slot in range(k):
        used = {c.template_id for c in chosen}
        for i in range(start, len(ordered)):
            c = ordered[i]
            if c.template_id in used:
                continue
            rest = _template_bests(ordered[i + 1 :], value, used | {c.template_id})
            if value(c) + sum(sorted(rest.values(), reverse=True)[: k - slot - 1]) >= need:
                chosen.append(c)
                need, start = need - value(c), i + 1
                break
    return chosen


def _template_bests(
    cands: Iterable[Candidate], value: Callable[[Candidate], int], skip: set[str] | None = None
) -> dict[str, int]:
    best: dict[str, int] = {}
    for c in cands:
        if not skip or c.template_id not in skip:
            best[c.template_id] = max(best.get(c.template_id, 0), value(c))
    return best


def _why_not(c: Candidate, value: int, chosen: list[Candidate]) -> tuple[Reason, str]:
    if not c.decision.applies:
        return c.decision.reason, c.decision.detail
    if value == 0:
        return Reason.NOT_STACKABLE, "it takes nothing off this cart"
    ids = " and ".join(o.coupon_id for o in chosen)
    them = f"coupon {ids} is" if len(chosen) == 1 else f"coupons {ids} are"
    same = next((o for o in chosen if o.template_id == c.template_id), None)
    if same is not None:
        return (
            Reason.NOT_STACKABLE,
            f"coupon {same.coupon_id} of the same template is better; one per checkout",
        )
    if not c.stackable:
        return Reason.NOT_STACKABLE, f"it can only be used alone, and {them} better for this cart"
    if not chosen[0].stackable:
        return Reason.NOT_STACKABLE, f"not stackable with coupon {ids}, which is better for this cart"
    return Reason.NOT_STACKABLE, f"not needed: {them} already enough to take the whole cart total off"
