from datetime import UTC, datetime

from services.members.domain import spending
from services.members.domain.model import Referrer
from services.members.domain.purchases import Line, Purchase, Refund, RefundLine, parse_purchase
from services.members.domain.tiers import DEFAULT_LADDER

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
AT = datetime(2026, 3, 5, 10, 30, tzinfo=UTC)


def a_purchase(paid: int = 100_000, listed: int | None = None, coupons: tuple[str, ...] = ()) -> Purchase:
    return parse_purchase(
        tenant_id="t1",
        member_id="m1",
        store_id="s1",
        receipt_no=f"R-{paid}",
        served_by_staff_id="",
        owner_staff_id="",
        lines=[
            Line("A1", "Rouge Co", "Lipstick", 1, listed or paid, paid),
        ],
        coupon_codes=coupons,
        occurred_at=AT,
        currency="CNY",
    )


def member(**overrides: object) -> spending.Standing:
    fields: dict[str, object] = {"tier": "normal", "points_balance": 0, "stats": spending.Stats()}
    fields.update(overrides)
    return spending.Standing(**fields)  # type: ignore[arg-type]


def test_a_purchase_adds_its_spend_points_and_a_points_event_with_the_balance_after() -> None:
    p = a_purchase(paid=50_000)
    outcome = spending.judge(
        member(points_balance=20), spending.purchase_change(p, 500, "purchase:x"), DEFAULT_LADDER, NOW
    )
    assert (outcome.points, outcome.balance) == (500, 520)
    assert outcome.stats.purchase_count == 1
    assert outcome.stats.total_spend == 50_000
    assert outcome.stats.spend_by_month == {"2026-03": 50_000}
    assert outcome.stats.trailing_12m_spend == 50_000
    assert outcome.facts == (spending.PointsChanged(500, 520, "purchase", "purchase:x"),)
    assert not outcome.tier_changed


def test_the_discount_share_counts_discounted_purchases_among_all() -> None:
    before = member(stats=spending.Stats(purchase_count=3, discounted_count=1, total_spend=30_000))
    marked_down = spending.purchase_change(a_purchase(paid=9_000, listed=10_000), 90, "purchase:y")
    assert spending.judge(before, marked_down, DEFAULT_LADDER, NOW).stats.discount_share == 0.5
    with_coupon = spending.purchase_change(a_purchase(paid=10_000, coupons=("C1",)), 100, "purchase:z")
    assert spending.judge(before, with_coupon, DEFAULT_LADDER, NOW).stats.discount_share == 0.5
    full_price = spending.purchase_change(a_purchase(paid=10_000), 100, "purchase:w")
    assert spending.judge(before, full_price, DEFAULT_LADDER, NOW).stats.discount_share == 0.25


def test_a_purchase_that_crosses_a_threshold_moves_the_tier_up_and_says_so() -> None:
    before = member(
        stats=spending.Stats(purchase_count=1, total_spend=150_000, spend_by_month={"2026-01": 150_000})
    )
    outcome = spending.judge(
        before, spending.purchase_change(a_purchase(paid=60_000), 600, "purchase:x"), DEFAULT_LADDER, NOW
    )
    assert (outcome.tier, outcome.tier_changed) == ("silver", True)
    assert spending.TierChanged("normal", "silver", 210_000) in outcome.facts


def test_spend_older_than_twelve_months_does_not_count_for_the_tier() -> None:
    before = member(tier="gold", stats=spending.Stats(spend_by_month={"2025-03": 900_000, "2025-04": 100}))
    outcome = spending.judge(before, spending.NO_CHANGE, DEFAULT_LADDER, NOW)
    assert outcome.stats.trailing_12m_spend == 100
    assert (outcome.tier, outcome.tier_changed) == ("normal", True)
    assert outcome.facts == (spending.TierChanged("gold", "normal", 100),)
    assert outcome.changes(before)


def test_the_nightly_review_of_an_unchanged_member_changes_nothing() -> None:
    stats = spending.Stats(purchase_count=1, total_spend=300_000, spend_by_month={"2026-03": 300_000})
    judged = spending.judge(member(tier="silver", stats=stats), spending.NO_CHANGE, DEFAULT_LADDER, NOW)
    settled = member(tier="silver", stats=judged.stats)
    again = spending.judge(settled, spending.NO_CHANGE, DEFAULT_LADDER, NOW)
    assert again.facts == ()
    assert not again.changes(settled)


def test_a_refund_takes_back_spend_and_points_but_never_below_a_zero_balance() -> None:
    p = a_purchase(paid=100_000)
    refund = Refund("rf1", p.id, (RefundLine("A1", 1, 40_000),), AT)
    before = member(
        points_balance=300,
        stats=spending.Stats(purchase_count=1, total_spend=100_000, spend_by_month={"2026-03": 100_000}),
    )
    change = spending.refund_change(p, refund, 400, "refund:x")
    assert change.spend_by_brand == {"rouge_co": -40_000}
    outcome = spending.judge(before, change, DEFAULT_LADDER, NOW)
    assert (outcome.points, outcome.balance) == (-300, 0)
    assert outcome.stats.total_spend == 60_000
    assert outcome.stats.purchase_count == 1  # the visit still counts
    assert outcome.facts == (spending.PointsChanged(-300, 0, "refund", "refund:x"),)


def test_a_refund_of_an_empty_balance_announces_no_points() -> None:
    p = a_purchase(paid=100_000)
    refund = Refund("rf1", p.id, (RefundLine("A1", 1, 100_000),), AT)
    before = member(
        stats=spending.Stats(purchase_count=1, total_spend=100_000, spend_by_month={"2026-03": 100_000})
    )
    outcome = spending.judge(
        before, spending.refund_change(p, refund, 1_000, "refund:x"), DEFAULT_LADDER, NOW
    )
    assert (outcome.points, outcome.facts) == (0, ())


def test_a_referred_members_first_purchase_converts_the_referral_once() -> None:
    friend = Referrer("member", "m0", "R1234567")
    change = spending.purchase_change(a_purchase(), 1_000, "purchase:x")
    first = spending.judge(member(referred_by=friend), change, DEFAULT_LADDER, NOW)
    assert first.converts_referral
    assert spending.ReferralConverted(friend, change.converts_referral) in first.facts
    later = spending.judge(member(referred_by=friend, referral_converted=True), change, DEFAULT_LADDER, NOW)
    assert not later.converts_referral
    assert not any(isinstance(f, spending.ReferralConverted) for f in later.facts)
    unreferred = spending.judge(member(), change, DEFAULT_LADDER, NOW)
    assert not unreferred.converts_referral


def test_a_refund_never_converts_a_referral() -> None:
    p = a_purchase()
    refund = Refund("rf1", p.id, (RefundLine("A1", 0, 1_000),), AT)
    outcome = spending.judge(
        member(referred_by=Referrer("staff", "s1", "S1")),
        spending.refund_change(p, refund, 10, "refund:x"),
        DEFAULT_LADDER,
        NOW,
    )
    assert not outcome.converts_referral


def test_points_that_another_event_announces_move_the_balance_silently() -> None:
    merged = spending.SpendChange(reason="merge", points=700, announce_points=False, purchases=2, spend=5_000)
    outcome = spending.judge(member(points_balance=100), merged, DEFAULT_LADDER, NOW)
    assert (outcome.balance, outcome.facts) == (800, ())
    assert outcome.stats.purchase_count == 2
