"""Caps per member on earning rules, exact under purchases at the same instant. No I/O.

A capped rule's share of a purchase is counted against the member's counter for the rule
(`rule_points` on the member) BEFORE the purchase is written, the way coupons hold a place in a
limit that records what it was taken for: one conditional write of the member takes the shares
only while every counter leaves room for its share, and records the reservation (`CapHold`)
under the purchase's id (the receipt's key). So two purchases cannot both take the last of a
cap: the second write finds no room, and the purchase is scored again on the counters as they
are. Then:
- the purchase is written with its hold (id and shares); its member step takes the hold over:
  drops it, the points stay counted (or counts them then, if the hold was freed meanwhile);
- a retry of the purchase (same receipt, same purchase id) finds its own hold and records the
  same shares, so it counts once; a retry after the purchase was completed reserves anew, finds
  the purchase recorded under another hold, and frees the new one;
- a crash between the reservation and the purchase's insert leaves a hold no purchase took:
  the reconciler frees it (gives its points back to the counters) GRACE after it was taken,
  once the store shows no purchase recorded under it;
- a refund gives the rule points it reverses back to the counters (domain/spending.py).

Times, as for coupons' budget (services/coupons/domain/budget.py): a purchase is written on the
strength of its hold only within HOLD of the hold's time (a retry that finds an older one
refreshes it first, in a write that fails if it was freed meanwhile); the reconciler waits
GRACE, longer than HOLD plus any request deadline and clock skew between replicas, so by the
time it looks, any purchase written under the hold has landed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # earning imports purchases, which names CapHold
    from services.members.domain.earning import EarningRule, Scored

HOLD = timedelta(minutes=1)  # a hold older than this is refreshed before a purchase is written on it
GRACE = timedelta(minutes=5)  # > HOLD + the longest request deadline (seconds) + clock skew


@dataclass(frozen=True)
class CapHold:
    """The capped rules' shares of one purchase, counted on the member for that purchase."""

    purchase_id: str
    hold_id: str  # unique to this reservation: the purchase names the one it was recorded under
    points: Mapping[str, int]  # rule id -> points counted against the rule's cap
    at: datetime

    def fresh(self, now: datetime) -> bool:
        """Young enough to write a purchase on."""
        return now - self.at < HOLD


@dataclass(frozen=True)
class Reserved:
    """What a reservation found: the purchase's hold (taken now, or by an earlier attempt), or
    no room, with the counters as they are then, to score the purchase again."""

    hold: CapHold | None
    taken_now: bool = False
    given: Mapping[str, int] = field(default_factory=dict)


def caps(rules: Sequence[EarningRule]) -> dict[str, int]:
    """Rule id -> cap per member, for the rules that have one."""
    return {r.id: r.cap_per_member for r in rules if r.cap_per_member is not None}


def to_reserve(scored: Scored, rules: Sequence[EarningRule]) -> dict[str, int]:
    """The shares that must be reserved before the purchase is written: the capped rules'."""
    capped = caps(rules)
    return {rule: n for rule, n in scored.by_rule().items() if rule in capped and n > 0}


def with_held(scored: Scored, rules: Sequence[EarningRule], held: Mapping[str, int]) -> Scored:
    """The purchase's shares with each capped rule's share as its hold says (a retry scores the
    cart again on counters that already hold its own shares: the hold is what it earned)."""
    return scored.with_rule_points(held, set(caps(rules)) | set(held))


def uncounted(rule_points: Mapping[str, int], hold: CapHold | None) -> dict[str, int]:
    """The rule points of a purchase its member step still has to count: those its hold did not."""
    held = hold.points if hold is not None else {}
    out = {rule: n - held.get(rule, 0) for rule, n in rule_points.items()}
    return {rule: n for rule, n in out.items() if n}
