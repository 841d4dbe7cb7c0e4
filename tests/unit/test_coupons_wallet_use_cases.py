"""The member's wallet on in-memory fakes of coupons' ports: what they hold as they would see it,
sharing a coupon to a friend exactly once, and a merged member's coupons moving to the survivor."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from chassis.errors import FailedPrecondition, InvalidArgument, NotFound
from services.coupons.domain.coupons import Coupon, CouponState, Outcome, Source, deterministic_id
from services.coupons.domain.keys import unlimited
from services.coupons.domain.templates import Limits
from services.coupons.domain.validity import Validity
from tests.unit.fakes_coupons import NOW, CouponsOnFakes, a_template


async def shareable(app: CouponsOnFakes, limits: Limits | None = None) -> Coupon:
    await app.offer(a_template(shareable=True, limits=limits))
    return await app.given("m1")


async def test_the_wallet_lists_coupons_newest_first_as_the_member_sees_them_now() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template("long"))
    await app.offer(a_template("short", validity=Validity.parse(duration=timedelta(days=1))))
    kept = await app.given("m1", "long")
    await app.till.lock("t1", kept.code, "co-1", "s1", 60)  # a checkout that never finished
    app.clock.advance(timedelta(hours=1))
    lapsing = await app.given("m1", "short")
    app.clock.advance(timedelta(hours=1))
    spent = await app.given("m1", "long")
    await app.till.redeem(
        "t1", spent.code, receipt_no="R1", store_id="s1", discount=1_000, receipt_total=5_000
    )
    await app.given("m2", "long")  # someone else's
    app.clock.advance(timedelta(days=2))  # the short one lapsed; the expiry job has not run

    def ids(coupons: list[Coupon]) -> list[str]:
        return [c.id for c in coupons]

    assert ids(await app.wallet.coupons("t1", "m1", [])) == [spent.id, lapsing.id, kept.id]
    assert ids(await app.wallet.coupons("t1", "m1", ["available"])) == [kept.id]  # its lock timed out
    assert ids(await app.wallet.coupons("t1", "m1", ["expired"])) == [lapsing.id]
    assert ids(await app.wallet.coupons("t1", "m1", ["redeemed"])) == [spent.id]
    assert ids(await app.wallet.coupons("t1", "m1", ["available", "redeemed"])) == [spent.id, kept.id]


async def test_a_coupon_locked_by_a_checkout_in_progress_is_listed_as_locked_not_available() -> None:
    app = CouponsOnFakes()
    await app.offer()
    c = await app.given("m1")
    await app.till.lock("t1", c.code, "co-1", "s1", 300)

    assert await app.wallet.coupons("t1", "m1", ["available"]) == []
    assert [x.id for x in await app.wallet.coupons("t1", "m1", ["locked"])] == [c.id]


async def test_sharing_gives_the_friend_a_new_coupon_with_the_same_terms_and_expiry_once() -> None:
    app = CouponsOnFakes()
    c = await shareable(app)
    app.clock.advance(timedelta(hours=3))

    gift = await app.wallet.share("t1", c.code, "m1", "m2")
    again = await app.wallet.share("t1", c.code, "m1", "m2")

    assert again == gift
    assert (gift.member_id, gift.state, gift.source, gift.source_ref, gift.shared_from) == (
        "m2",
        CouponState.AVAILABLE,
        Source.SHARE,
        c.id,
        c.id,
    )
    assert (gift.terms, gift.valid_from, gift.valid_until) == (c.terms, c.valid_from, c.valid_until)
    assert gift.code != c.code
    assert gift.issued_at == NOW + timedelta(hours=3)
    original = await app.coupons.get("t1", c.id)
    assert original is not None
    assert (original.state, original.shared_to) == (CouponState.SHARED, gift.id)
    assert len(app.coupons.all()) == 2
    assert await app.coupons.count_issued("t1", "tpl-1") == 1  # the friend's copy is not a new issue
    assert app.coupons.places_of(gift) == unlimited(gift.id)
    with pytest.raises(FailedPrecondition, match="already given to someone else"):
        await app.wallet.share("t1", c.code, "m1", "m3")
    with pytest.raises(FailedPrecondition, match="given to someone else"):
        await app.till.lock("t1", c.code, "co-1", "s1", 60)


async def test_a_shared_coupon_does_not_take_the_friends_place_in_the_templates_limits() -> None:
    app = CouponsOnFakes()
    c = await shareable(app, Limits.parse(per_member_limit=1, total_stock=2))

    await app.wallet.share("t1", c.code, "m1", "m2")

    claims = [await app.issuer.claim("t1", "tpl-1", m) for m in ("m2", "m1", "m3")]
    # The friend's slot and the second stock number were still free; the giver's shared
    # original keeps its own place.
    assert [r.outcome for r in claims] == [Outcome.ISSUED, Outcome.LIMIT_REACHED, Outcome.SOLD_OUT]


async def test_a_share_that_stopped_after_marking_the_original_writes_the_friends_coupon_on_retry() -> None:
    app = CouponsOnFakes()
    c = await shareable(app)
    friend_id = deterministic_id("t1", c.id, Source.SHARE.value, "m2")
    await app.coupons.mark_shared(c, friend_id)  # what a crash before the friend's insert leaves

    gift = await app.wallet.share("t1", c.code, "m1", "m2")

    assert (gift.id, gift.member_id) == (friend_id, "m2")
    assert await app.coupons.get("t1", friend_id) == gift


async def test_one_coupon_shared_to_two_friends_at_once_reaches_exactly_one() -> None:
    app = CouponsOnFakes()
    c = await shareable(app)

    results = await asyncio.gather(
        app.wallet.share("t1", c.code, "m1", "m2"),
        app.wallet.share("t1", c.code, "m1", "m3"),
        return_exceptions=True,
    )

    gifts = [r for r in results if isinstance(r, Coupon)]
    assert len(gifts) == 1
    assert all(isinstance(r, FailedPrecondition) for r in results if not isinstance(r, Coupon))
    assert sorted(x.member_id for x in app.coupons.all()) == ["m1", gifts[0].member_id]


async def test_sharing_is_refused_for_a_coupon_that_is_not_the_holders_to_give() -> None:
    app = CouponsOnFakes()
    c = await shareable(app)
    await app.offer(a_template("plain"))
    plain = await app.given("m1", "plain")
    await app.audience.change("t1", "bad", {"blacklisted": True})
    await app.audience.change("t1", "gone", {"erased": True})

    with pytest.raises(InvalidArgument, match="required"):
        await app.wallet.share("t1", c.code, "m1", " ")
    with pytest.raises(InvalidArgument, match="its holder"):
        await app.wallet.share("t1", c.code, "m1", "m1")
    with pytest.raises(NotFound):
        await app.wallet.share("t1", c.code, "m9", "m2")  # not m9's coupon
    with pytest.raises(FailedPrecondition, match="cannot be shared"):
        await app.wallet.share("t1", plain.code, "m1", "m2")
    with pytest.raises(FailedPrecondition, match="cannot receive coupons"):
        await app.wallet.share("t1", c.code, "m1", "bad")
    with pytest.raises(NotFound):
        await app.wallet.share("t1", c.code, "m1", "gone")
    assert (await app.coupons.get("t1", c.id)).state is CouponState.AVAILABLE  # type: ignore[union-attr]


@pytest.mark.parametrize("how", ["locked", "redeemed", "lapsed"])
async def test_only_an_unused_valid_coupon_can_be_shared(how: str) -> None:
    app = CouponsOnFakes()
    c = await shareable(app)
    if how == "locked":
        await app.till.lock("t1", c.code, "co-1", "s1", 60)
    elif how == "redeemed":
        await app.till.redeem("t1", c.code, receipt_no="R1", store_id="s1", discount=1, receipt_total=1)
    else:
        app.clock.advance(timedelta(days=30))

    with pytest.raises(FailedPrecondition, match="only an unused, valid coupon"):
        await app.wallet.share("t1", c.code, "m1", "m2")
    assert len(app.coupons.all()) == 1


async def test_a_merged_members_unspent_coupons_move_to_the_survivor_once() -> None:
    app = CouponsOnFakes()
    await app.offer()
    free, held, spent = [await app.given("dup") for _ in range(3)]
    await app.till.lock("t1", held.code, "co-1", "s1", 300)
    await app.till.redeem("t1", spent.code, receipt_no="R1", store_id="s1", discount=1, receipt_total=1)

    moved = await app.wallet.member_merged("t1", "main", "dup")
    again = await app.wallet.member_merged("t1", "main", "dup")

    assert (moved, again) == (2, 0)
    survivor = {c.id: c for c in await app.wallet.coupons("t1", "main", [])}
    assert set(survivor) == {free.id, held.id}
    assert (survivor[held.id].state, survivor[held.id].checkout_id) == (CouponState.LOCKED, "co-1")
    assert [c.id for c in await app.wallet.coupons("t1", "dup", [])] == [spent.id]  # history stays
    refused = await app.issuer.claim("t1", "tpl-1", "dup")  # merged away: barred from now on
    assert (refused.outcome, refused.detail) == (Outcome.NOT_ELIGIBLE, "this member cannot receive coupons")
