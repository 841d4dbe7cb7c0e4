"""A template's budget on in-memory fakes of coupons' ports: the coupon holds what its redemption
cost, the template only what is in flight; a crash at any step is completed by a retry, a replay
or the sweeper (BudgetBook.sweep), and nothing is given back twice."""

from __future__ import annotations

import asyncio

import pytest

from chassis.errors import Unavailable
from services.coupons.domain.budget import GRACE, HOLD
from services.coupons.domain.coupons import Coupon, CouponState, Redemption
from services.coupons.domain.keys import budget_key
from services.coupons.domain.templates import Limits
from services.coupons.service.housekeeping import BudgetBook
from tests.unit.fakes_coupons import CouponsOnFakes, Crash, a_template


async def budgeted(budget: int = 10_000) -> tuple[CouponsOnFakes, BudgetBook]:
    app = CouponsOnFakes()
    await app.offer(a_template(limits=Limits.parse(budget=budget)))
    return app, BudgetBook(app.coupons, app.templates, app.clock)


async def redeem(
    app: CouponsOnFakes, c: Coupon, receipt_no: str = "R1", *, discount: int = 1_000, purchase_id: str = ""
) -> Coupon:
    return await app.till.redeem(
        "t1",
        c.code,
        receipt_no=receipt_no,
        store_id="s1",
        discount=discount,
        receipt_total=20_000,
        purchase_id=purchase_id,
    )


def no_marks(app: CouponsOnFakes) -> bool:
    return app.templates.marks("tpl-1") == ([], [])


async def stored(app: CouponsOnFakes, c: Coupon) -> Coupon:
    found = await app.coupons.get("t1", c.id)
    assert found is not None
    return found


async def test_a_redemption_leaves_its_charge_on_the_coupon_and_no_mark_on_the_template() -> None:
    app, _ = await budgeted()
    held = [await app.given(f"m{i}") for i in range(5)]

    for i, c in enumerate(held):
        await redeem(app, c, f"R{i}", discount=700 + i)

    assert app.templates.budget_used("tpl-1") == sum(700 + i for i in range(5))
    assert no_marks(app)
    assert app.templates.stored["tpl-1"].budget_marks == {}
    charged = [(await stored(app, c)).redemption for c in held]
    assert [r.budget_charged for r in charged if r] == [700 + i for i in range(5)]


async def test_a_crash_between_the_charge_and_the_coupon_write_is_settled_once_after_the_grace() -> None:
    app, book = await budgeted()
    c = await app.given("m1")
    app.coupons.crash_at("redeem")

    with pytest.raises(Crash):
        await redeem(app, c)

    assert app.templates.budget_used("tpl-1") == 1_000  # charged, the coupon never written
    (mark,), _ = app.templates.marks("tpl-1")
    assert (mark.coupon_id, mark.receipt_no, mark.amount) == (c.id, "R1", 1_000)
    assert not await book.sweep()  # within the grace a retry may still take it over
    assert app.templates.budget_used("tpl-1") == 1_000

    app.clock.advance(GRACE)
    first, second = await book.sweep(), await book.sweep()

    assert (first.charges_settled, second.charges_settled) == (1, 0)
    assert app.templates.budget_used("tpl-1") == 0
    assert no_marks(app)
    assert (await stored(app, c)).state is CouponState.AVAILABLE
    await redeem(app, c)  # the coupon is still good, and its charge made afresh
    assert app.templates.budget_used("tpl-1") == 1_000
    assert no_marks(app)


async def test_two_sweepers_settling_the_same_abandoned_charge_give_it_back_once() -> None:
    app, book = await budgeted()
    c = await app.given("m1")
    app.coupons.crash_at("redeem")
    with pytest.raises(Crash):
        await redeem(app, c)
    app.clock.advance(GRACE)
    other = BudgetBook(app.coupons, app.templates, app.clock)  # another replica

    a, b = await asyncio.gather(book.sweep(), other.sweep())

    assert a.charges_settled + b.charges_settled == 1
    assert app.templates.budget_used("tpl-1") == 0


async def test_a_retry_of_a_crashed_redemption_takes_its_charge_over_instead_of_charging_again() -> None:
    app, book = await budgeted()
    c = await app.given("m1")
    app.coupons.crash_at("redeem")
    with pytest.raises(Crash):
        await redeem(app, c)

    app.clock.advance(HOLD / 2)
    redeemed = await redeem(app, c)

    assert redeemed.redemption is not None
    assert redeemed.redemption.budget_charged == 1_000
    assert app.templates.budget_used("tpl-1") == 1_000
    assert no_marks(app)
    app.clock.advance(GRACE)
    assert not await book.sweep()
    assert app.templates.budget_used("tpl-1") == 1_000


async def test_a_late_retry_waits_for_the_settle_and_then_charges_afresh() -> None:
    app, _ = await budgeted()
    c = await app.given("m1")
    app.coupons.crash_at("redeem")
    with pytest.raises(Crash):
        await redeem(app, c)

    app.clock.advance(HOLD)
    with pytest.raises(Unavailable):  # too old to take over, too young to settle
        await redeem(app, c)
    app.clock.advance(GRACE)
    redeemed = await redeem(app, c)

    assert redeemed.state is CouponState.REDEEMED
    assert app.templates.budget_used("tpl-1") == 1_000
    assert no_marks(app)


async def test_a_crash_after_the_coupon_write_leaves_a_mark_the_settle_drops_keeping_the_charge() -> None:
    app, book = await budgeted()
    c = await app.given("m1")
    app.templates.crash_at("charge_taken")
    with pytest.raises(Crash):
        await redeem(app, c)
    assert (await stored(app, c)).state is CouponState.REDEEMED

    app.clock.advance(GRACE)
    swept = await book.sweep()

    assert (swept.charges_kept, swept.charges_settled) == (1, 0)
    assert app.templates.budget_used("tpl-1") == 1_000
    assert no_marks(app)


async def test_a_retry_after_a_crash_that_left_the_mark_drops_it() -> None:
    app, _ = await budgeted()
    c = await app.given("m1")
    app.templates.crash_at("charge_taken")
    with pytest.raises(Crash):
        await redeem(app, c)

    retried = await redeem(app, c)

    assert retried.state is CouponState.REDEEMED
    assert app.templates.budget_used("tpl-1") == 1_000
    assert no_marks(app)


async def test_a_charge_lost_to_another_receipt_is_not_refunded_in_process_but_settled_later() -> None:
    app, book = await budgeted()
    c = await app.given("m1")

    results = await asyncio.gather(redeem(app, c, "R1"), redeem(app, c, "R2"), return_exceptions=True)

    assert sum(isinstance(r, Coupon) for r in results) == 1
    assert [str(r) for r in results if not isinstance(r, Coupon)] == [
        "the coupon changed meanwhile; try again"
    ]
    assert app.templates.budget_used("tpl-1") == 2_000  # the loser's charge waits for the settle
    app.clock.advance(GRACE)
    assert (await book.sweep()).charges_settled == 1
    assert app.templates.budget_used("tpl-1") == 1_000
    assert no_marks(app)


async def test_a_refund_delivered_three_times_gives_the_budget_back_once_and_leaves_no_mark() -> None:
    app, book = await budgeted()
    c = await app.given("m1")
    await redeem(app, c, purchase_id="p1")

    answers = [await app.till.roll_back("t1", c.code, "p1", "refund-1") for _ in range(3)]

    assert answers == [True, False, False]
    assert app.templates.budget_used("tpl-1") == 0
    assert (await stored(app, c)).budget_to_return is None
    _, (paid,) = app.templates.marks("tpl-1")  # remembered until no completer can repeat it
    assert (paid.coupon_id, paid.amount) == (c.id, 1_000)
    app.clock.advance(GRACE)
    assert (await book.sweep()).marks_forgotten == 1
    assert no_marks(app)
    assert app.templates.budget_used("tpl-1") == 0


async def test_a_crash_between_the_restore_and_the_give_back_is_completed_by_a_replay() -> None:
    app, book = await budgeted()
    c = await app.given("m1")
    await redeem(app, c, purchase_id="p1")
    app.templates.crash_at("give_back")

    with pytest.raises(Crash):
        await app.till.roll_back("t1", c.code, "p1", "refund-1")
    owing = await stored(app, c)
    assert owing.state is CouponState.AVAILABLE
    assert owing.budget_to_return is not None
    assert owing.budget_to_return.amount == 1_000
    assert app.templates.budget_used("tpl-1") == 1_000

    replays = [await app.till.roll_back("t1", c.code, "p1", "refund-1") for _ in range(2)]

    assert replays == [False, False]  # restored before; the debt paid now, once
    assert app.templates.budget_used("tpl-1") == 0
    assert (await stored(app, c)).budget_to_return is None
    app.clock.advance(GRACE)
    await book.sweep()
    assert app.templates.budget_used("tpl-1") == 0
    assert no_marks(app)


async def test_a_crash_between_the_restore_and_the_give_back_is_completed_by_the_sweeper() -> None:
    app, book = await budgeted()
    c = await app.given("m1")
    await redeem(app, c, purchase_id="p1")
    app.templates.crash_at("give_back")
    with pytest.raises(Crash):
        await app.till.roll_back("t1", c.code, "p1", "refund-1")

    assert not await book.sweep()  # the refund's own retry comes first
    app.clock.advance(GRACE)
    first, again = await book.sweep(), await book.sweep()
    late_replay = await app.till.roll_back("t1", c.code, "p1", "refund-1")

    assert (first.debts_paid, again.debts_paid, late_replay) == (1, 0, False)
    assert app.templates.budget_used("tpl-1") == 0
    app.clock.advance(GRACE)
    await book.sweep()
    assert no_marks(app)
    assert app.templates.budget_used("tpl-1") == 0


async def test_a_crash_after_the_give_back_before_the_coupon_notes_it_pays_once() -> None:
    app, book = await budgeted()
    c = await app.given("m1")
    await redeem(app, c, purchase_id="p1")
    app.coupons.crash_at("gave_back")
    with pytest.raises(Crash):
        await app.till.roll_back("t1", c.code, "p1", "refund-1")
    assert app.templates.budget_used("tpl-1") == 0  # paid; the coupon still thinks it owes

    assert await app.till.roll_back("t1", c.code, "p1", "refund-1") is False
    app.clock.advance(GRACE)
    await book.sweep()

    assert app.templates.budget_used("tpl-1") == 0
    assert (await stored(app, c)).budget_to_return is None
    app.clock.advance(GRACE)
    await book.sweep()
    assert no_marks(app)


async def test_the_sweeper_notes_a_give_back_the_template_shows_paid() -> None:
    app, book = await budgeted()
    c = await app.given("m1")
    await redeem(app, c, purchase_id="p1")
    app.coupons.crash_at("gave_back")
    with pytest.raises(Crash):
        await app.till.roll_back("t1", c.code, "p1", "refund-1")

    app.clock.advance(GRACE)
    swept = await book.sweep()

    assert swept.debts_paid == 1
    assert app.templates.budget_used("tpl-1") == 0
    assert (await stored(app, c)).budget_to_return is None
    app.clock.advance(GRACE)
    assert (await book.sweep()).marks_forgotten == 1
    assert no_marks(app)


async def test_a_coupon_owing_a_give_back_pays_it_before_it_is_redeemed_again() -> None:
    app, _ = await budgeted()
    c = await app.given("m1")
    await redeem(app, c, purchase_id="p1")
    app.templates.crash_at("give_back")
    with pytest.raises(Crash):
        await app.till.roll_back("t1", c.code, "p1", "refund-1")

    await redeem(app, c, "R2", discount=400)

    assert app.templates.budget_used("tpl-1") == 400
    after = await stored(app, c)
    assert after.budget_to_return is None
    assert after.redemption is not None
    assert (after.redemption.receipt_no, after.redemption.budget_charged) == ("R2", 400)


async def test_a_refund_of_a_redemption_whose_mark_a_crash_left_takes_the_mark_with_it() -> None:
    """The charge's mark outlived its coupon write (crash); the refund comes, the coupon is
    redeemed again, and only then the sweeper looks: the first charge is given back once."""
    app, book = await budgeted()
    c = await app.given("m1")
    app.templates.crash_at("charge_taken")
    with pytest.raises(Crash):
        await redeem(app, c, purchase_id="p1")

    await app.till.roll_back("t1", c.code, "p1", "refund-1")
    await redeem(app, c, "R2", discount=400)
    app.clock.advance(GRACE)
    await book.sweep()
    app.clock.advance(GRACE)
    await book.sweep()

    assert app.templates.budget_used("tpl-1") == 400
    assert no_marks(app)


async def test_a_completer_acting_on_a_read_older_than_the_hold_does_nothing() -> None:
    app, book = await budgeted()
    c = await app.given("m1")
    await redeem(app, c, purchase_id="p1")
    app.templates.crash_at("give_back")
    with pytest.raises(Crash):
        await app.till.roll_back("t1", c.code, "p1", "refund-1")
    read_at = app.clock.now
    owing = await stored(app, c)

    app.clock.advance(HOLD)
    assert await book.complete_give_back(owing, read_at) is None
    assert app.templates.budget_used("tpl-1") == 1_000
    assert (await book.complete_give_back(await stored(app, c), app.clock.now)) is not None  # afresh
    assert app.templates.budget_used("tpl-1") == 0


async def test_a_refund_of_a_redemption_charged_by_an_older_version_gives_its_mark_back_once() -> None:
    app, book = await budgeted()
    c = await app.given("m1")
    await app.coupons.redeem(
        c, Redemption("R1", "s1", "", 1_000, 20_000, "p1", app.clock.now), "", app.clock.now
    )
    old = app.templates.stored["tpl-1"]
    old.budget_used, old.budget_marks = 1_000, {budget_key(c.id, "R1"): 1_000}  # as stored before

    answers = [await app.till.roll_back("t1", c.code, "p1", "refund-1") for _ in range(3)]

    assert answers == [True, False, False]
    assert app.templates.budget_used("tpl-1") == 0
    assert old.budget_marks == {}
    assert (await stored(app, c)).budget_to_return is None
    app.clock.advance(GRACE)
    await book.sweep()
    assert app.templates.budget_used("tpl-1") == 0
