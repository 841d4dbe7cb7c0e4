"""What coupons does on its own, on in-memory fakes of its ports: rules issue once per triggering
event, a segment job issues once per member and stops at the stock, and expiry marks and warns
each coupon once."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date, timedelta

import pytest

from chassis.errors import NotFound
from services.coupons.domain.coupons import CouponState, Outcome, Source
from services.coupons.domain.jobs import Job, JobState
from services.coupons.domain.rules import Rule, Trigger
from services.coupons.domain.templates import Limits
from services.coupons.domain.validity import Validity
from services.coupons.service.housekeeping import Expiry, template_report
from services.coupons.service.jobs import JobRunner
from services.coupons.service.rules import RuleEngine
from tests.unit.fakes_coupons import CouponsOnFakes, FakeJobs, FakeRules, FakeSegmentMembers, a_template

SEGMENT = [f"m{i:03d}" for i in range(250)]  # three batches


def engine(app: CouponsOnFakes) -> tuple[RuleEngine, JobRunner, FakeJobs]:
    jobs = FakeJobs()
    segments = FakeSegmentMembers({("t1", "vip"): SEGMENT})
    runner = JobRunner(jobs, segments, app.issuer, app.audience, app.templates, idle_seconds=0.01)
    return RuleEngine(FakeRules(), app.issuer, runner), runner, jobs


async def run_until_done(runner: JobRunner, jobs: FakeJobs, job: Job) -> Job:
    """Run the job loop until the job is no longer running, then stop it."""
    loop = asyncio.create_task(runner.run())
    try:
        for _ in range(2_000):
            current = await jobs.get(job.tenant_id, job.id)
            assert current is not None
            if current.state is not JobState.RUNNING:
                return current
            await asyncio.sleep(0.001)
        raise AssertionError("the job did not finish")
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop


async def test_a_rule_issues_its_coupon_once_per_triggering_event_however_often_it_is_delivered() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(claimable=False))
    rules, _, _ = engine(app)
    rule = await rules.create(
        Rule.parse(
            tenant_id="t1", name="Big spender", trigger="purchase_made", template_id="tpl-1", min_spend=10_000
        )
    )

    first = await rules.on_event("t1", Trigger.PURCHASE_MADE, "evt-1", "m1", spend=12_000)
    again = await rules.on_event("t1", Trigger.PURCHASE_MADE, "evt-1", "m1", spend=12_000)
    small = await rules.on_event("t1", Trigger.PURCHASE_MADE, "evt-2", "m1", spend=9_999)
    other = await rules.on_event("t1", Trigger.PURCHASE_MADE, "evt-3", "m1", spend=10_000)

    assert first[0].coupon is not None
    assert (first[0].created, again[0].created, again[0].coupon) == (True, False, first[0].coupon)
    assert small == []
    assert other[0].created is True
    assert [(c.source, c.source_ref) for c in app.coupons.all()] == [(Source.RULE, rule.id)] * 2
    await rules.set_active("t1", rule.id, False)
    assert await rules.on_event("t1", Trigger.PURCHASE_MADE, "evt-4", "m1", spend=50_000) == []


async def test_a_rule_for_another_tenants_template_is_refused() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(tenant_id="t2"))
    rules, _, _ = engine(app)

    with pytest.raises(NotFound):
        await rules.create(
            Rule.parse(tenant_id="t1", name="x", trigger="member_registered", template_id="tpl-1")
        )


async def test_a_scheduled_rule_run_twice_on_one_day_starts_one_job() -> None:
    app = CouponsOnFakes()
    await app.offer()
    rules, _, jobs = engine(app)
    await rules.create(
        Rule.parse(
            tenant_id="t1",
            name="Monthly",
            trigger="schedule",
            template_id="tpl-1",
            day_of_month=3,
            segment_id="vip",
        )
    )

    started = [await rules.run_schedule(date(2026, 12, 3)) for _ in range(2)]
    not_due = await rules.run_schedule(date(2026, 12, 4))

    assert (started, not_due) == ([1, 0], 0)
    assert len(jobs.stored) == 1


async def test_an_issue_job_serves_each_member_of_the_segment_once_and_stops_at_the_stock() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(claimable=False, limits=Limits.parse(total_stock=180)))
    _, runner, jobs = engine(app)
    job = await runner.start_issue("t1", "tpl-1", "vip", "launch")
    assert await runner.start_issue("t1", "tpl-1", "vip", "launch") == job  # the same key: the same job

    done = await run_until_done(runner, jobs, job)

    assert (done.state, done.detail) == (JobState.DONE, "sold out")
    assert len(app.coupons.all()) == 180
    assert len({c.member_id for c in app.coupons.all()}) == 180
    assert done.issued == 180
    assert done.members_seen == done.issued + done.skipped


async def test_an_issue_job_restarted_after_a_batch_goes_on_from_its_cursor_without_serving_twice() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(claimable=False))
    _, runner, jobs = engine(app)
    job = await runner.start_issue("t1", "tpl-1", "vip", "launch")
    # What a replica that stopped during the second batch leaves: the first batch recorded, and
    # the second batch's first members already issued.
    for m in SEGMENT[:120]:
        result = await app.issuer.issue(
            "t1", "tpl-1", m, source=Source.JOB, key=f"{job.id}:{m}", source_ref=job.id
        )
        assert result.outcome is Outcome.ISSUED
    assert await jobs.advance(job.id, "", SEGMENT[99], {"members_seen": 100, "issued": 100, "skipped": 0})

    done = await run_until_done(runner, jobs, job)

    assert done.state is JobState.DONE
    assert len(app.coupons.all()) == len(SEGMENT)
    assert done.members_seen == len(SEGMENT)


async def test_an_issue_job_over_a_segment_members_does_not_know_fails_with_the_reason() -> None:
    app = CouponsOnFakes()
    await app.offer()
    _, runner, jobs = engine(app)
    job = await runner.start_issue("t1", "tpl-1", "no-such-segment", "k")

    done = await run_until_done(runner, jobs, job)

    assert (done.state, done.detail) == (JobState.FAILED, "segment not found")
    assert app.coupons.all() == []


async def test_expiry_marks_lapsed_coupons_expired_and_warns_of_those_about_to_lapse_once() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template("week", validity=Validity.parse(duration=timedelta(days=7))))
    await app.offer(a_template("day", validity=Validity.parse(duration=timedelta(days=1))))
    await app.offer(a_template("year", validity=Validity.parse(duration=timedelta(days=365))))
    week, day, year = [await app.given("m1", t) for t in ("week", "day", "year")]
    await app.till.lock("t1", day.code, "co-1", "s1", 60)
    app.clock.advance(timedelta(days=5))
    expiry = Expiry(app.coupons, warn_days=3)

    first = await expiry.run(app.clock.now)
    second = await expiry.run(app.clock.now)

    assert (first, second) == ((1, 1), (0, 0))
    assert app.coupons.events_of(day) == ["coupon_issued", "coupon_expired"]  # a lapsed lock, too
    assert app.coupons.events_of(week) == ["coupon_issued", "coupon_expiring"]
    assert app.coupons.events_of(year) == ["coupon_issued"]
    assert (await app.coupons.get("t1", day.id)).state is CouponState.EXPIRED  # type: ignore[union-attr]


async def test_the_template_report_counts_what_its_coupons_became() -> None:
    app = CouponsOnFakes()
    await app.offer(a_template(shareable=True))
    claimed = await app.issuer.claim("t1", "tpl-1", "m1")
    assert claimed.coupon is not None
    given = await app.given("m2")
    await app.till.redeem(
        "t1", claimed.coupon.code, receipt_no="R1", store_id="s1", discount=1_000, receipt_total=8_000
    )
    await app.wallet.share("t1", given.code, "m2", "m3")

    report = await template_report(app.coupons, "t1", "tpl-1")

    assert (report.issued, report.claimed, report.shared, report.redeemed) == (2, 1, 1, 1)
    assert (report.total_discount, report.revenue, report.redemption_rate) == (1_000, 8_000, 1.0)
    assert report.by_store["s1"].redeemed == 1
