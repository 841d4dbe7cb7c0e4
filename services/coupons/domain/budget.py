"""A template's discount budget while a charge or a give-back is in flight. No I/O.

The redeemed coupon holds the truth of what its redemption cost the budget
(`Redemption.budget_charged`, and `budget_charge_id`: which charge it owns). The template holds
only the running total and, for the few moments a change is between the two documents, a mark:

- `Charging`: a redemption's discount added to the total before the coupon recorded it. The
  coupon write that records its `charge_id` takes it over, and the mark is then removed. A mark
  no coupon took over (the redemption crashed, or lost the coupon to another receipt) is given
  back by the settle, once GRACE has passed.
- `GiveBack`: a refund's debt, written on the coupon with its restore; paid to the template
  under a `Returning` mark, which stays until no completer can still act on an older read.

Times, and why they make the settle safe without a lock or a transaction: whoever writes on the
strength of a mark or a debt it read does so within HOLD of reading it, or not at all (checked
just before the write); the settle and the forgetting of a mark wait GRACE, which is longer than
HOLD plus any request deadline and clock skew between replicas. So by the time a settle reads
the coupon, every write that could take a mark over has landed, and once a mark is forgotten no
one can still repeat the give-back it guarded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.coupons.domain.keys import budget_key

HOLD = timedelta(minutes=1)  # a mark or a debt read longer ago than this is not acted upon
GRACE = timedelta(minutes=5)  # > HOLD + the longest request deadline (seconds) + clock skew


@dataclass(frozen=True)
class Charging:
    """A redemption's discount charged to its template's budget, not yet taken over by the coupon."""

    coupon_id: str
    receipt_no: str
    amount: int
    at: datetime
    charge_id: str  # unique to this charge: the coupon names the one it took over

    @property
    def key(self) -> str:
        """One per (coupon, receipt): a retried redemption finds the charge already in flight."""
        return budget_key(self.coupon_id, self.receipt_no)


@dataclass(frozen=True)
class GiveBack:
    """What a refunded redemption still owes its template's budget (kept on the coupon)."""

    key: str  # the template's Returning mark (or, `legacy`, the old budget_marks entry)
    amount: int
    since: datetime
    legacy: bool = False  # charged before coupons recorded their charge: the template's mark holds it


@dataclass(frozen=True)
class Returning:
    """A give-back paid to the template, remembered there until no completer can repeat it."""

    key: str
    coupon_id: str
    amount: int
    at: datetime


@dataclass(frozen=True)
class InFlight:
    """A template with marks that may be older than GRACE."""

    tenant_id: str
    template_id: str
    charging: tuple[Charging, ...]
    returning: tuple[Returning, ...]


def give_back_key(coupon_id: str, charge_id: str) -> str:
    """The Returning mark of the give-back of one charge (each charge is given back at most once)."""
    return budget_key(coupon_id, f"back:{charge_id}")
