"""The till on in-memory fakes of coupons' ports: a cart judged against every coupon the member
holds, lock → redeem → release guarded by the state each leaves, a retried redemption answered
the same, and a template's budget never overspent and given back once on a refund."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from chassis.errors import FailedPrecondition, InvalidArgument, NotFound
from services.coupons.domain.coupons import Coupon, CouponState, Outcome
from services.coupons.domain.discounts import CartLine, Reason
from services.coupons.domain.templates import Benefit, Limits, Scope
from tests.unit.fakes_coupons import CouponsOnFakes, a_template

LINES = [{"sku": "A", "brand": "b", "category": "c", "quantity": 2, "unit_price": 10_000}]  # 200.00


async def redeem(
    app: CouponsOnFakes,
    c: Coupon,
    receipt_no: str = "R1",
    *,
    checkout_id: str = "",
    discount: int = 1_000,
    purchase_id: str = "",
) -> Coupon:
    return await app.till.redeem(
        "t1",
        c.code,
        receipt_no=receipt_no,
        store_id="s1",
        checkout_id=checkout_id,
        staff_id="staff-1",
        discount=discount,
        receipt_total=20_000,
        purchase_id=purchase_id,
    )


async def test_validate_judges_every_coupon_the_member_holds_and_suggests_the_best_combination() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template("amount", stackable=True))  # 10.00 off
    await app.offer(
        a_template("percent", stackable=True, benefit=Benefit.parse("percent_off", percent_off=1_000))
    )
    await app.offer(a_template("alone", benefit=Benefit.parse("amount_off", amount_off=2_500)))
    await app.offer(a_template("elsewhere", scope=Scope.parse(include_stores=["s2"])))
    await app.offer(a_template("held"))
    amount, percent, alone, elsewhere, held = [
        await app.given("m1", t) for t in ("amount", "percent", "alone", "elsewhere", "held")
    ]
    await app.given("m2", "amount")  # someone else's: not judged
    await app.till.lock("t1", held.code, "co-9", "s1", 300)

    cart, checks, suggestion = await app.till.validate("t1", "m1", "s1", LINES)

    assert cart.total == 20_000
    judged = {ch.coupon.id: (ch.decision.reason, ch.decision.discount) for ch in checks}
    assert judged == {
        amount.id: (Reason.OK, 1_000),
        percent.id: (Reason.OK, 2_000),
        alone.id: (Reason.OK, 2_500),
        elsewhere.id: (Reason.WRONG_STORE, 0),
        held.id: (Reason.NOT_AVAILABLE, 0),
    }
    # The two stackables (30.00) beat the exclusive one (25.00); the bigger one comes first.
    assert suggestion.chosen == ((percent.id, 2_000), (amount.id, 1_000))
    assert suggestion.total_discount == 3_000
    assert suggestion.rejected[alone.id][0] is Reason.NOT_STACKABLE
    assert set(suggestion.rejected) == {alone.id, elsewhere.id, held.id}


async def test_validate_judges_a_coupon_past_its_validity_as_expired_before_the_expiry_job_runs() -> None:
    app = CouponsOnFakes()
    await app.offer()
    await app.given("m1")
    app.clock.advance(timedelta(days=31))

    _, checks, suggestion = await app.till.validate("t1", "m1", "s1", LINES)

    assert [ch.decision.reason for ch in checks] == [Reason.EXPIRED]
    assert suggestion.chosen == ()


async def test_validate_needs_a_member() -> None:
    app = CouponsOnFakes()

    with pytest.raises(InvalidArgument, match="member_id is required"):
        await app.till.validate("t1", " ", "s1", LINES)


async def test_lock_then_redeem_then_a_retry_with_the_same_receipt_answers_the_first_redemption() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(limits=Limits.parse(budget=100_000)))
    c = await app.given("m1")

    locked_at = app.clock.now
    locked = await app.till.lock("t1", c.code, "co-1", "s1", 300)
    redeemed = await redeem(app, c, checkout_id="co-1")
    app.clock.advance(timedelta(seconds=5))
    retried = await redeem(app, c, checkout_id="co-1")

    assert (locked.state, locked.checkout_id) == (CouponState.LOCKED, "co-1")
    assert locked.lock_expires_at == locked_at + timedelta(seconds=300)
    assert redeemed.state is CouponState.REDEEMED
    assert redeemed.redemption is not None
    assert (redeemed.redemption.receipt_no, redeemed.redemption.discount) == ("R1", 1_000)
    assert retried == redeemed  # the same answer, redemption time included
    assert app.coupons.events_of(c) == ["coupon_issued", "coupon_redeemed"]
    assert app.templates.budget_used("tpl-1") == 1_000  # charged once
    with pytest.raises(FailedPrecondition, match="already been used"):
        await redeem(app, c, "R2")


async def test_a_coupon_locked_by_one_checkout_is_refused_to_every_other_until_the_lock_times_out() -> None:
    app = CouponsOnFakes()
    await app.offer()
    c = await app.given("m1")
    await app.till.lock("t1", c.code, "co-1", "s1", 60)

    for attempt in (
        app.till.lock("t1", c.code, "co-2", "s1", 60),
        redeem(app, c, checkout_id="co-2"),
        redeem(app, c),  # a till without a checkout
    ):
        with pytest.raises(FailedPrecondition, match="held by another checkout"):
            await attempt
    app.clock.advance(timedelta(seconds=61))
    redeemed = await redeem(app, c, checkout_id="co-2")

    assert redeemed.state is CouponState.REDEEMED
    assert (redeemed.checkout_id, redeemed.lock_expires_at) == ("", None)


async def test_a_coupon_cannot_be_locked_in_a_store_outside_its_scope() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(scope=Scope.parse(exclude_stores=["s2"])))
    c = await app.given("m1")

    with pytest.raises(FailedPrecondition, match="cannot be used in store s2"):
        await app.till.lock("t1", c.code, "co-1", "s2", 60)
    assert (await app.coupons.get("t1", c.id)).state is CouponState.AVAILABLE  # type: ignore[union-attr]


async def test_of_ten_tills_redeeming_one_coupon_at_once_exactly_one_wins() -> None:
    app = CouponsOnFakes()
    await app.offer()
    c = await app.given("m1")

    results = await asyncio.gather(*(redeem(app, c, f"R{i}") for i in range(10)), return_exceptions=True)

    won = [r for r in results if isinstance(r, Coupon)]
    assert len(won) == 1
    assert all(isinstance(r, FailedPrecondition) for r in results if not isinstance(r, Coupon))
    assert app.coupons.events_of(c).count("coupon_redeemed") == 1


async def test_release_frees_a_lock_once_and_only_for_the_checkout_holding_it() -> None:
    app = CouponsOnFakes()
    await app.offer()
    c = await app.given("m1")
    await app.till.lock("t1", c.code, "co-1", "s1", 300)

    with pytest.raises(FailedPrecondition, match="not held by this checkout"):
        await app.till.release("t1", c.code, "co-2")
    released = await app.till.release("t1", c.code, "co-1")
    again = await app.till.release("t1", c.code, "co-1")

    assert (released.state, released.checkout_id) == (CouponState.AVAILABLE, "")
    assert again == released
    assert app.coupons.events_of(c) == ["coupon_issued", "coupon_released"]
    assert (await app.till.lock("t1", c.code, "co-2", "s1", 60)).checkout_id == "co-2"


async def test_an_unknown_code_is_not_found_at_the_till() -> None:
    app = CouponsOnFakes()
    await app.offer()
    c = await app.given("m1")
    other_tenants = CouponsOnFakes()

    with pytest.raises(NotFound):
        await other_tenants.till.lock("t1", c.code, "co-1", "s1", 60)
    with pytest.raises(InvalidArgument, match="typo"):
        await app.till.lock("t1", c.code[:-1] + ("0" if c.code[-1] != "0" else "1"), "co-1", "s1", 60)


async def test_simultaneous_redemptions_never_spend_more_than_the_templates_budget() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(limits=Limits.parse(budget=2_500)))
    held = [await app.given(f"m{i}") for i in range(5)]

    results = await asyncio.gather(*(redeem(app, c) for c in held), return_exceptions=True)

    assert sum(isinstance(r, Coupon) for r in results) == 2
    refused = [r for r in results if not isinstance(r, Coupon)]
    assert all(isinstance(r, FailedPrecondition) and "budget is used up" in r.message for r in refused)
    assert app.templates.budget_used("tpl-1") == 2_000
    unspent = [c for c in held if (await app.coupons.get("t1", c.id)).state is CouponState.AVAILABLE]  # type: ignore[union-attr]
    assert len(unspent) == 3  # a refused redemption leaves the coupon usable


async def test_a_retry_racing_the_first_redemption_does_not_give_back_the_budget_it_used() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(limits=Limits.parse(budget=1_000)))
    first, second = await app.given("m1"), await app.given("m2")

    await asyncio.gather(redeem(app, first), redeem(app, first), return_exceptions=True)

    assert (await app.coupons.get("t1", first.id)).state is CouponState.REDEEMED  # type: ignore[union-attr]
    assert app.templates.budget_used("tpl-1") == 1_000
    with pytest.raises(FailedPrecondition, match="budget is used up"):
        await redeem(app, second)


async def test_roll_back_makes_the_coupon_usable_again_and_gives_its_budget_back_once() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(limits=Limits.parse(budget=10_000)))
    c, other = await app.given("m1"), await app.given("m2")
    await redeem(app, c, purchase_id="p1")
    await redeem(app, other, "R9", purchase_id="p9")

    undone = await app.till.roll_back("t1", c.code, "p1", "refund-1")
    again = await app.till.roll_back("t1", c.code, "p1", "refund-1")
    wrong_purchase = await app.till.roll_back("t1", other.code, "p1", "refund-1")

    assert (undone, again, wrong_purchase) == (True, False, False)
    restored = await app.coupons.get("t1", c.id)
    assert restored is not None
    assert restored.state is CouponState.AVAILABLE
    assert restored.redemption is not None
    assert restored.redemption.refunded_by == "refund-1"
    assert app.templates.budget_used("tpl-1") == 1_000  # only the other coupon's charge is left
    assert app.coupons.events_of(c) == ["coupon_issued", "coupon_redeemed", "coupon_released"]
    assert (await redeem(app, c, "R2")).state is CouponState.REDEEMED  # usable on a new receipt
    assert app.templates.budget_used("tpl-1") == 2_000


async def test_roll_back_of_a_coupon_that_stays_spent_frees_the_members_place_for_another_claim() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(limits=Limits.parse(per_member_limit=1)), stays_spent_on_refund=True)
    claimed = await app.issuer.claim("t1", "tpl-1", "m1")
    assert claimed.coupon is not None
    await redeem(app, claimed.coupon, purchase_id="p1")
    assert (await app.issuer.claim("t1", "tpl-1", "m1")).outcome is Outcome.LIMIT_REACHED

    assert await app.till.roll_back("t1", claimed.coupon.code, "p1", "refund-1") is True

    spent = await app.coupons.get("t1", claimed.coupon.id)
    assert spent is not None
    assert spent.state is CouponState.REDEEMED
    assert spent.redemption is not None
    assert spent.redemption.refunded_by == "refund-1"
    assert (await app.issuer.claim("t1", "tpl-1", "m1")).outcome is Outcome.ISSUED


async def test_a_purchase_naming_a_code_the_till_redeemed_keeps_its_discount_and_names_the_purchase() -> None:
    app = CouponsOnFakes()
    await app.offer()
    c = await app.given("m1")
    await redeem(app, c, discount=700)  # the till's own answer, before members recorded the receipt
    lines = [CartLine("A", "b", "c", 2, 10_000)]

    not_theirs = await app.till.redeem_from_purchase(
        "t1",
        "m2",
        c.code,
        purchase_id="p1",
        receipt_no="R1",
        store_id="s1",
        staff_id="",
        lines=lines,
        total_paid=1,
    )
    attached = await app.till.redeem_from_purchase(
        "t1",
        "m1",
        c.code,
        purchase_id="p1",
        receipt_no="R1",
        store_id="s1",
        staff_id="",
        lines=lines,
        total_paid=1,
    )

    assert not_theirs is None
    assert attached is not None
    assert attached.redemption is not None
    assert (attached.redemption.purchase_id, attached.redemption.discount) == ("p1", 700)
    assert app.coupons.events_of(c).count("coupon_redeemed") == 1
