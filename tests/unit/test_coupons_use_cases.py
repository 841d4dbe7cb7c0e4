"""Claiming and issuing coupons on in-memory fakes of coupons' ports: stock and limits hold
under any number of simultaneous claims, refusals are answers that leave nothing stored, and
an issue with a key gives one coupon however often it is sent."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, timedelta

import pytest

from chassis.errors import FailedPrecondition, NotFound
from services.coupons.domain.codes import normalise_code
from services.coupons.domain.coupons import CouponState, Outcome, Source
from services.coupons.domain.discounts import Reason
from services.coupons.domain.templates import Audience, Limits, TemplateState
from services.coupons.domain.validity import Validity
from services.coupons.service.issuing import Issuer, IssueResult
from tests.unit.fakes_coupons import NOW, CouponsOnFakes, FakeStockNumbers, a_template

CART = [{"sku": "A", "brand": "b", "category": "c", "quantity": 1, "unit_price": 5_000}]


async def claim(app: CouponsOnFakes, member_id: str, template_id: str = "tpl-1") -> IssueResult:
    return await app.issuer.claim("t1", template_id, member_id)


async def test_a_claim_issues_one_available_coupon_with_the_templates_terms_and_window() -> None:
    app = CouponsOnFakes()
    template = await app.offer()

    result = await claim(app, "m1")

    assert (result.outcome, result.created) == (Outcome.ISSUED, True)
    c = result.coupon
    assert c is not None
    assert (c.member_id, c.state, c.source, c.terms) == (
        "m1",
        CouponState.AVAILABLE,
        Source.CLAIM,
        template.terms(),
    )
    assert (c.valid_from, c.valid_until) == (NOW, NOW + timedelta(days=30))
    assert normalise_code(c.code) == c.code  # a code the till accepts
    assert app.coupons.all() == [c]
    assert app.coupons.events_of(c) == ["coupon_issued"]


async def test_a_member_claims_up_to_the_per_member_limit_and_is_then_refused() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(limits=Limits.parse(per_member_limit=2)))

    results = [await claim(app, "m1") for _ in range(3)]

    assert [r.outcome for r in results] == [Outcome.ISSUED, Outcome.ISSUED, Outcome.LIMIT_REACHED]
    assert results[2].detail == "limit of 2 per member reached"
    assert sorted(app.coupons.places_of(c).member_slot for c in app.coupons.all()) == [1, 2]
    assert (await claim(app, "m2")).outcome is Outcome.ISSUED  # the limit is each member's own


async def test_a_members_first_claim_reads_no_places_and_a_second_is_judged_on_a_read() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(limits=Limits.parse(total_stock=5, per_member_limit=1)))

    first = await claim(app, "m1")
    reads_after_first, inserts_after_first = app.coupons.places_reads, app.coupons.inserts
    again = await claim(app, "m1")

    assert (first.outcome, reads_after_first, inserts_after_first) == (Outcome.ISSUED, 0, 1)
    assert (again.outcome, again.detail) == (Outcome.LIMIT_REACHED, "limit of 1 per member reached")
    # The second claim's guess was refused by the store for the member's slot, then read; the
    # stock number it had taken is offered again rather than lost until the next read.
    assert (app.coupons.places_reads, app.coupons.inserts, app.stock.offered_again) == (1, 2, 1)
    assert [c.member_id for c in app.coupons.all()] == ["m1"]


async def test_a_member_who_holds_one_hears_limit_reached_not_sold_out_after_the_last_is_gone() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(limits=Limits.parse(total_stock=1, per_member_limit=1)))

    results = [await claim(app, m) for m in ("m1", "m2", "m1")]

    assert [r.outcome for r in results] == [Outcome.ISSUED, Outcome.SOLD_OUT, Outcome.LIMIT_REACHED]
    assert app.coupons.inserts == 1  # neither refusal wrote or tried to


async def test_a_per_period_limit_refuses_within_the_day_and_allows_the_next_day() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(limits=Limits.parse(per_period_limit=1, period="day")))

    first, again = await claim(app, "m1"), await claim(app, "m1")
    app.clock.advance(timedelta(days=1))
    next_day = await claim(app, "m1")

    assert [first.outcome, again.outcome, next_day.outcome] == [
        Outcome.ISSUED,
        Outcome.LIMIT_REACHED,
        Outcome.ISSUED,
    ]
    assert again.detail == "limit of 1 per day reached"


async def test_many_simultaneous_claims_issue_exactly_the_stock_and_each_answer_matches_the_store() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(limits=Limits.parse(total_stock=5, per_member_limit=1)))
    members = [f"m{i:02d}" for i in range(30)]
    # Every member claims once, and the first ten tap twice: 40 claims at once.
    claimants = members + members[:10]

    results = await asyncio.gather(*(claim(app, m) for m in claimants))

    outcomes = [r.outcome for r in results]
    assert outcomes.count(Outcome.ISSUED) == 5
    assert set(outcomes) <= {Outcome.ISSUED, Outcome.SOLD_OUT, Outcome.LIMIT_REACHED}
    stored = app.coupons.all()
    assert sorted(app.coupons.places_of(c).stock_no for c in stored) == [1, 2, 3, 4, 5]
    answered: dict[str, list[str]] = defaultdict(list)
    for m, r in zip(claimants, results, strict=True):
        if r.coupon is not None:
            answered[m].append(r.coupon.id)
    held: dict[str, list[str]] = defaultdict(list)
    for c in stored:
        held[c.member_id].append(c.id)
    assert held == answered  # a coupon was written exactly for the claims told "issued"
    assert all(len(ids) == 1 for ids in held.values())  # never two under a limit of one
    assert app.stock.in_flight("tpl-1") == set()  # every number taken was settled


async def test_two_replicas_sharing_one_store_never_issue_past_the_stock() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(limits=Limits.parse(total_stock=4)))
    # A second process with its own stock hint, offering the same numbers as the first.
    other = Issuer(
        app.templates,
        app.coupons,
        FakeStockNumbers(app.coupons),
        app.audience,
        UTC,
        app.members,
        clock=app.clock,
    )
    issuers = [app.issuer, other] * 10

    results = await asyncio.gather(*(i.claim("t1", "tpl-1", f"m{n}") for n, i in enumerate(issuers)))

    outcomes = [r.outcome for r in results]
    assert (outcomes.count(Outcome.ISSUED), outcomes.count(Outcome.SOLD_OUT)) == (4, 16)
    assert len(app.coupons.all()) == 4
    assert {app.coupons.places_of(c).stock_no for c in app.coupons.all()} == {1, 2, 3, 4}


async def test_a_member_tapping_claim_five_times_at_once_gets_one_coupon_under_a_limit_of_one() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(limits=Limits.parse(total_stock=100, per_member_limit=1)))

    results = await asyncio.gather(*(claim(app, "m1") for _ in range(5)))

    assert sorted(r.outcome for r in results) == [Outcome.ISSUED] + [Outcome.LIMIT_REACHED] * 4
    assert len(app.coupons.all()) == 1
    assert app.stock.in_flight("tpl-1") == set()


async def test_a_template_the_shop_gives_cannot_be_claimed() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(claimable=False))

    result = await claim(app, "m1")

    assert (result.outcome, result.coupon) == (Outcome.NOT_AVAILABLE, None)
    assert result.detail == "this coupon is given by the shop, not claimed"
    assert app.coupons.all() == []


@pytest.mark.parametrize("state", [TemplateState.DRAFT, TemplateState.PAUSED, TemplateState.ENDED])
async def test_a_template_that_is_not_active_cannot_be_claimed_or_issued(state: TemplateState) -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(state=state))

    claimed = await claim(app, "m1")
    issued = await app.issuer.issue("t1", "tpl-1", "m1", source=Source.ISSUE, key="k", source_ref="s")

    assert (claimed.outcome, issued.outcome) == (Outcome.NOT_AVAILABLE, Outcome.NOT_AVAILABLE)
    assert claimed.detail == f"this coupon is not on offer ({state})"
    assert app.coupons.all() == []


async def test_a_template_whose_fixed_window_has_ended_cannot_be_claimed() -> None:
    app = CouponsOnFakes()
    window = Validity.parse(starts_at=NOW - timedelta(days=10), ends_at=NOW - timedelta(seconds=1))
    await app.offer(a_template(validity=window))

    result = await claim(app, "m1")

    assert (result.outcome, result.detail) == (Outcome.NOT_AVAILABLE, "this offer has ended")
    assert app.coupons.all() == []


async def test_a_claim_before_a_fixed_window_opens_gives_a_coupon_usable_only_from_its_start() -> None:
    app = CouponsOnFakes()
    starts = NOW + timedelta(days=2)
    await app.offer(a_template(validity=Validity.parse(starts_at=starts, ends_at=starts + timedelta(days=7))))

    result = await claim(app, "m1")
    assert result.coupon is not None
    _, checks, suggestion = await app.till.validate("t1", "m1", "s1", CART)
    with pytest.raises(FailedPrecondition, match="not valid yet"):
        await app.till.lock("t1", result.coupon.code, "co-1", "s1", 60)

    assert (result.coupon.valid_from, result.coupon.valid_until) == (starts, starts + timedelta(days=7))
    assert [ch.decision.reason for ch in checks] == [Reason.NOT_YET_VALID]
    assert suggestion.total_discount == 0


@pytest.mark.parametrize(
    "fields",
    [{"blacklisted": True}, {"erased": True}, {"merged_into": "m9"}],
    ids=["blacklisted", "erased", "merged away"],
)
async def test_a_barred_member_can_neither_claim_nor_be_issued_a_coupon(fields: dict[str, object]) -> None:
    app = CouponsOnFakes()
    await app.offer()
    await app.audience.registered("t1", "m1", "gold", NOW)
    await app.audience.change("t1", "m1", fields)

    claimed = await claim(app, "m1")
    issued = await app.issuer.issue("t1", "tpl-1", "m1", source=Source.ISSUE, key="k", source_ref="s")

    assert (claimed.outcome, issued.outcome) == (Outcome.NOT_ELIGIBLE, Outcome.NOT_ELIGIBLE)
    assert claimed.detail == "this member cannot receive coupons"
    assert app.coupons.all() == []


async def test_a_tier_audience_admits_only_members_of_its_tiers() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(audience=Audience.parse("tiers", tiers=["gold", "platinum"])))
    await app.audience.registered("t1", "gold-1", "gold", NOW)
    await app.audience.registered("t1", "silver-1", "silver", NOW)

    results = [await claim(app, m) for m in ("gold-1", "silver-1", "never-heard-of")]
    assert [r.outcome for r in results] == [Outcome.ISSUED, Outcome.NOT_ELIGIBLE, Outcome.NOT_ELIGIBLE]
    assert results[1].detail == "for gold, platinum members only"
    await app.audience.change("t1", "silver-1", {"tier": "platinum"})  # promoted: admitted now
    assert (await claim(app, "silver-1")).outcome is Outcome.ISSUED


async def test_a_segment_audience_admits_only_the_members_copied_in_for_the_template() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(audience=Audience.parse("segment", segment_id="vip")))
    await app.audience.add_to_segment("t1", "tpl-1", ["m1"])

    inside, outside = await claim(app, "m1"), await claim(app, "m2")

    assert (inside.outcome, outside.outcome) == (Outcome.ISSUED, Outcome.NOT_ELIGIBLE)
    assert outside.detail == "this offer is for selected members"


async def test_staff_may_issue_a_template_members_cannot_claim_to_anyone_not_barred() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(claimable=False, audience=Audience.parse("tiers", tiers=["gold"])))
    await app.audience.registered("t1", "m1", "normal", NOW)

    result = await app.issuer.issue(
        "t1", "tpl-1", "m1", source=Source.COMPENSATION, key="case-7", source_ref="case-7"
    )

    assert result.outcome is Outcome.ISSUED
    assert result.coupon is not None
    assert (result.coupon.source, result.coupon.source_ref) == (Source.COMPENSATION, "case-7")


async def test_an_issue_with_the_same_key_twice_gives_the_same_coupon_once() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(limits=Limits.parse(total_stock=10)))

    first = await app.issuer.issue(
        "t1", "tpl-1", "m1", source=Source.RULE, key="rule-1:evt-1", source_ref="rule-1"
    )
    again = await app.issuer.issue(
        "t1", "tpl-1", "m1", source=Source.RULE, key="rule-1:evt-1", source_ref="rule-1"
    )
    other = await app.issuer.issue(
        "t1", "tpl-1", "m1", source=Source.RULE, key="rule-1:evt-2", source_ref="rule-1"
    )

    assert first.coupon is not None
    assert again.coupon is not None
    assert other.coupon is not None
    assert (first.created, again.created, again.detail) == (True, False, "issued before")
    assert again.coupon == first.coupon
    assert other.coupon.id != first.coupon.id
    assert len(app.coupons.all()) == 2


async def test_an_issue_replayed_after_the_template_ended_still_answers_its_coupon() -> None:
    app = CouponsOnFakes()
    template = await app.offer()
    first = await app.issuer.issue("t1", "tpl-1", "m1", source=Source.JOB, key="job-1:m1", source_ref="job-1")
    await app.templates.set_state(replace(template, state=TemplateState.ENDED), "active")

    replay = await app.issuer.issue(
        "t1", "tpl-1", "m1", source=Source.JOB, key="job-1:m1", source_ref="job-1"
    )

    assert (replay.outcome, replay.coupon) == (Outcome.ISSUED, first.coupon)


async def test_the_same_issue_sent_five_times_at_once_writes_one_coupon() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(limits=Limits.parse(total_stock=10, per_member_limit=1)))

    results = await asyncio.gather(
        *(
            app.issuer.issue("t1", "tpl-1", "m1", source=Source.ISSUE, key="req-1", source_ref="s")
            for _ in range(5)
        )
    )

    assert len(app.coupons.all()) == 1
    assert {r.coupon.id for r in results if r.coupon} == {app.coupons.all()[0].id}
    assert [r.outcome for r in results] == [Outcome.ISSUED] * 5


async def test_a_retry_of_an_issue_still_in_flight_never_answers_a_refusal_for_a_stored_coupon() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(limits=Limits.parse(total_stock=1)))

    first, retry = await asyncio.gather(
        *(
            app.issuer.issue("t1", "tpl-1", "m1", source=Source.ISSUE, key="req-1", source_ref="s")
            for _ in range(2)
        )
    )

    assert first.outcome is Outcome.ISSUED
    assert (retry.outcome, retry.coupon) == (Outcome.ISSUED, first.coupon)


async def test_a_template_of_another_tenant_is_not_found() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(tenant_id="t2"))

    with pytest.raises(NotFound):
        await claim(app, "m1")
    with pytest.raises(NotFound):
        await app.issuer.issue("t1", "tpl-1", "m1", source=Source.ISSUE, key="k", source_ref="s")


async def test_a_claim_for_a_member_coupons_has_not_heard_of_asks_members_and_404s_a_stranger() -> None:
    app = CouponsOnFakes()
    await app.offer()
    app.members.known = {("t1", "new-member")}  # enrolled; its member_registered not consumed yet

    welcomed = await app.issuer.claim("t1", "tpl-1", "new-member")
    with pytest.raises(NotFound, match="member stranger not found"):
        await app.issuer.claim("t1", "tpl-1", "stranger")

    assert welcomed.outcome is Outcome.ISSUED
    assert app.members.asked == [("t1", "new-member"), ("t1", "stranger")]
    assert [c.member_id for c in app.coupons.all()] == ["new-member"]


async def test_a_claim_for_a_member_in_the_projection_makes_no_call_to_members() -> None:
    app = CouponsOnFakes()
    await app.offer()
    await app.audience.registered("t1", "regular", "normal", NOW)

    result = await app.issuer.claim("t1", "tpl-1", "regular")

    assert result.outcome is Outcome.ISSUED
    assert app.members.asked == []
