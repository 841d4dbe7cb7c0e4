"""What a change of a member's spending means: statistics, balance, tier, and what to announce.

Every writer of a member's spend — a purchase, a refund, a merge, the nightly tier review —
asks `judge` the same question: "the member was like this (`Standing`, as read), this happened
(`SpendChange`): what is the member now, and what must be said?" So they agree on the derived
fields (trailing 12-month spend, discount share, tier) and on the events. No I/O here: the
adapter stores the change's increments and the judged fields in one update that applies only
if the member is still as read (chassis.mongo.update_versioned), and otherwise asks again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from services.members.domain import tiers
from services.members.domain.model import Referrer
from services.members.domain.purchases import Purchase, RecordedPurchase, Refund, brand_key, category_key
from services.members.domain.rule_caps import CapHold


@dataclass(frozen=True)
class Stats:
    """The member's purchase statistics that the derived fields are computed from."""

    purchase_count: int = 0
    total_spend: int = 0
    discounted_count: int = 0
    spend_by_month: Mapping[str, int] = field(default_factory=dict)  # "YYYY-MM" -> spend
    trailing_12m_spend: int = 0  # derived
    discount_share: float = 0.0  # derived: discounted purchases / purchases


@dataclass(frozen=True)
class Standing:
    """The part of a member a change of spending is judged on, as read."""

    tier: str = ""
    points_balance: int = 0
    stats: Stats = field(default_factory=Stats)
    referred_by: Referrer | None = None
    referral_converted: bool = False
    downgrade_due_at: datetime | None = None  # a lower tier takes effect then (the ladder's grace)


@dataclass(frozen=True)
class SpendChange:
    """What happened to a member's spending: positive for a purchase, negative for a refund.

    `points` are the points it moves: earned (+) or to take back (-, never below a zero
    balance); `reason`/`source` name its ledger entry, and points_changed announces them unless
    another event does (a merge). `spend` is the total, `spend_by_month` the same money by
    month. A purchase id in `converts_referral` makes it the purchase that converts the
    member's referral, if none has yet.
    """

    reason: str = ""
    source: str = ""
    points: int = 0
    announce_points: bool = True
    purchases: int = 0
    discounted: int = 0
    spend: int = 0
    spend_by_month: Mapping[str, int] = field(default_factory=dict)
    spend_by_brand: Mapping[str, int] = field(default_factory=dict)
    spend_by_category: Mapping[str, int] = field(default_factory=dict)
    first_at: datetime | None = None
    last_at: datetime | None = None
    brand_last_at: Mapping[str, datetime] = field(default_factory=dict)
    category_last_at: Mapping[str, datetime] = field(default_factory=dict)
    converts_referral: str = ""
    store_purchases: Mapping[str, int] = field(default_factory=dict)  # store id -> purchases
    rule_points: Mapping[str, int] = field(default_factory=dict)  # earning rule id -> points given
    cap_hold: CapHold | None = None  # the reservation of its capped shares it takes over


NO_CHANGE = SpendChange()  # the nightly review: only time has passed


def purchase_change(
    p: Purchase,
    points_awarded: int,
    source: str,
    rule_points: Mapping[str, int] | None = None,
    month: str = "",
    cap_hold: CapHold | None = None,
) -> SpendChange:
    """A purchase: one more purchase (in its store), its spend in its month (`month`, as
    recorded with it: RecordedPurchase.spend_month; by default its UTC month), brands and
    categories, its points, and the points each earning rule gave that are not counted yet
    (a capped rule's share is counted when it is reserved: domain/rule_caps.py)."""
    return SpendChange(
        reason="purchase",
        source=source,
        points=points_awarded,
        purchases=1,
        discounted=1 if p.discounted else 0,
        spend=p.total_paid,
        spend_by_month={month or tiers.month_key(p.occurred_at): p.total_paid},
        spend_by_brand=p.spend_by_brand(),
        spend_by_category=p.spend_by_category(),
        first_at=p.occurred_at,
        last_at=p.occurred_at,
        brand_last_at={brand_key(ln.brand): p.occurred_at for ln in p.lines},
        category_last_at={category_key(ln.category): p.occurred_at for ln in p.lines},
        converts_referral=p.id,
        store_purchases={p.store_id: 1},
        rule_points=dict(rule_points or {}),
        cap_hold=cap_hold,
    )


def refund_change(
    p: Purchase,
    refund: Refund,
    points_to_reverse: int,
    source: str,
    month: str = "",
    rule_points: Mapping[str, int] | None = None,
) -> SpendChange:
    """A refund: less spend in the month the purchase was counted in (`month`; by default its
    UTC month), brands and categories; points taken back, and the earning rules' counters given
    back what the refund reverses of their shares (`rule_points`, positive), so a capped rule can
    give those points again (`judge` gives back no more than the points actually taken back).

    The purchase still counts as a purchase (and as discounted): a refund changes how much was
    spent, not whether the member came.
    """
    by_sku = {ln.sku: ln for ln in p.lines}
    brands: dict[str, int] = {}
    categories: dict[str, int] = {}
    for ln in refund.lines:
        line = by_sku[ln.sku]
        brands[brand_key(line.brand)] = brands.get(brand_key(line.brand), 0) - ln.amount
        categories[category_key(line.category)] = categories.get(category_key(line.category), 0) - ln.amount
    return SpendChange(
        reason="refund",
        source=source,
        points=-points_to_reverse,
        spend=-refund.amount,
        spend_by_month={month or tiers.month_key(p.occurred_at): -refund.amount},
        spend_by_brand=brands,
        spend_by_category=categories,
        rule_points={k: -v for k, v in (rule_points or {}).items() if v},
    )


@dataclass(frozen=True)
class PointsChanged:
    delta: int
    balance: int
    reason: str
    source: str


@dataclass(frozen=True)
class TierChanged:
    previous: str
    tier: str
    trailing_12m_spend: int


@dataclass(frozen=True)
class ReferralConverted:
    referrer: Referrer
    purchase_id: str


@dataclass(frozen=True)
class Purchased:
    """The purchase itself, announced with its effects (purchase_made), with the tier after it."""

    recorded: RecordedPurchase
    tier: str


Fact = Purchased | PointsChanged | TierChanged | ReferralConverted


@dataclass(frozen=True)
class Outcome:
    """The member after the change: what to store, and the facts to announce with it."""

    points: int  # the points actually moved (a refund takes back at most the balance)
    balance: int
    stats: Stats
    tier: str
    tier_changed: bool
    converts_referral: bool
    facts: tuple[Fact, ...]
    downgrade_due_at: datetime | None = None
    rule_points: Mapping[str, int] = field(default_factory=dict)  # rule id -> change of its counter

    def changes(self, before: Standing) -> bool:
        """Whether anything stored differs from `before` (the nightly review writes only then)."""
        return (
            self.points != 0
            or self.tier_changed
            or self.converts_referral
            or self.stats != before.stats
            or self.downgrade_due_at != before.downgrade_due_at
        )


def judge(
    before: Standing, change: SpendChange, ladder: tiers.TierLadder, now: datetime, zone: tzinfo = UTC
) -> Outcome:
    """The member after `change`, judged at `now` under the tenant's ladder (its trailing window
    ends at `now`'s month in the tenant's `zone`; its grace period may hold a lower tier back:
    tiers.judge_tier)."""
    points = change.points if change.points >= 0 else -min(-change.points, max(before.points_balance, 0))
    balance = before.points_balance + points
    rule_points = dict(change.rule_points)
    if change.points < 0 and points != change.points:
        # The balance could not cover the take-back: the rules get back only their share of
        # what was taken, so points a member already spent cannot be earned under a cap again.
        rule_points = {k: -((-v * -points) // -change.points) for k, v in rule_points.items()}
    months = dict(before.stats.spend_by_month)
    for month, spend in change.spend_by_month.items():
        months[month] = months.get(month, 0) + spend
    count = before.stats.purchase_count + change.purchases
    discounted = before.stats.discounted_count + change.discounted
    trailing = tiers.trailing_spend(months, now, ladder.window_months, zone)
    stats = Stats(
        purchase_count=count,
        total_spend=before.stats.total_spend + change.spend,
        discounted_count=discounted,
        spend_by_month=months,
        trailing_12m_spend=trailing,
        discount_share=discounted / count if count else 0.0,
    )
    decision = tiers.judge_tier(ladder, before.tier, trailing, now, before.downgrade_due_at)
    current = before.tier or ladder.names[0]
    new_tier = decision.tier if decision.tier != current else None
    facts: list[Fact] = []
    if points and change.announce_points:
        facts.append(PointsChanged(points, balance, change.reason, change.source))
    if new_tier is not None:
        facts.append(TierChanged(current, new_tier, trailing))
    referrer = before.referred_by
    converts = bool(change.converts_referral and referrer and not before.referral_converted)
    if converts and referrer is not None:
        facts.append(ReferralConverted(referrer, change.converts_referral))
    return Outcome(
        points=points,
        balance=balance,
        stats=stats,
        tier=new_tier or current,
        tier_changed=new_tier is not None,
        converts_referral=converts,
        facts=tuple(facts),
        downgrade_due_at=decision.downgrade_due_at,
        rule_points={k: v for k, v in rule_points.items() if v},
    )
