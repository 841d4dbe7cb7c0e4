"""Feedback's pure rules: the case state machine (every legal and illegal move), SLA arithmetic
in business hours across nights, weekends, store hours and DST, reviewer risk, the policy's
validation, reviews and their amendments and replies, compensation."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chassis.errors import FailedPrecondition, InvalidArgument
from services.feedback.domain import compensation, events, policy, risk, sla, transitions
from services.feedback.domain.cases import (
    Action,
    Case,
    CaseState,
    Remedy,
    RemedyKind,
    Settlement,
    TimelineEntry,
    parse_remedy,
)
from services.feedback.domain.keys import case_key, review_key
from services.feedback.domain.opening import (
    case_for_request,
    case_for_review,
    opens_case,
    parse_case_request,
    review_case_id,
)
from services.feedback.domain.policy import parse_policy
from services.feedback.domain.reviews import RatingClass, Review, amend, parse_review, rating_class, reply
from services.feedback.domain.risk import MemberProfile, RiskAssessment, RiskDecision, RiskSignals
from services.feedback.domain.sla import BusinessDay, Severity

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
POLICY = policy.defaults("t1")
DAILY_10_22 = POLICY.business_hours
WEEKDAYS_9_18 = tuple(BusinessDay(d, 9 * 60, 18 * 60) for d in range(1, 6))
ALL_DAY = tuple(BusinessDay(d, 0, 24 * 60) for d in range(1, 8))


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=zone)


def a_review(rating: int = 1, **fields: Any) -> Review:
    given: dict[str, Any] = {
        "review_id": "r1",
        "tenant_id": "t1",
        "member_id": "m1",
        "store_id": "s1",
        "receipt_no": "R1",
        "sku": "",
        "rating": rating,
        "text": "the lid was scratched",
        "image_urls": [],
        "channel": "mini_program",
        "posted_at": T0,
        **fields,
    }
    return parse_review(**given)


def a_case(risky: bool = False, severity: str = "medium") -> Case:
    request = parse_case_request(
        tenant_id="t1",
        member_id="m1",
        store_id="s1",
        category="product_quality",
        severity=severity,
        description="the clasp broke after a day",
        opened_by_kind="customer",
        opened_by="",
        receipt_no="R1",
    )
    assessed = RiskAssessment(70, ("no purchase at this store",), True) if risky else RiskAssessment()
    return case_for_request(request, "c1", POLICY, assessed, T0)


# --- the state machine ------------------------------------------------------------------------

H = timedelta(hours=1)
APOLOGY = Settlement(parse_remedy("apology_only", ""), "staff-1", T0 + 3 * H)

ACTIONS: dict[str, tuple[Callable[[Case], Case], str, CaseState | None]] = {
    # name: (do it, how a refusal says it, the state after; None = unchanged)
    "acknowledge": (
        lambda c: transitions.acknowledge(c, "staff-1", "sorry", T0 + H),
        "acknowledged",
        CaseState.ACKNOWLEDGED,
    ),
    "start": (lambda c: transitions.start(c, "staff-1", "", T0 + 2 * H), "started", CaseState.IN_PROGRESS),
    "resolve": (lambda c: transitions.resolve(c, APOLOGY), "resolved", CaseState.RESOLVED),
    "follow_up_due": (
        lambda c: transitions.follow_up_due(c, T0 + timedelta(days=30)),
        "moved to follow-up",
        CaseState.FOLLOW_UP,
    ),
    "close": (
        lambda c: transitions.close(c, "staff-1", 5, "", T0 + timedelta(days=31)),
        "closed",
        CaseState.CLOSED,
    ),
    "reject": (
        lambda c: transitions.reject(c, "staff-1", "duplicate", T0 + H),
        "rejected",
        CaseState.REJECTED,
    ),
    "confirm_extortion": (
        lambda c: transitions.confirm_extortion(c, "manager-1", "asked for cash", T0 + H),
        "given a risk decision",
        CaseState.REJECTED,
    ),
    "approve_risk": (
        lambda c: transitions.approve_risk(c, "manager-1", "", T0 + H),
        "given a risk decision",
        None,
    ),
}
PATH = ["acknowledge", "start", "resolve", "follow_up_due", "close"]
LEGAL = {
    CaseState.OPEN: {"acknowledge", "reject", "confirm_extortion", "approve_risk"},
    CaseState.ACKNOWLEDGED: {"start", "reject", "confirm_extortion", "approve_risk"},
    CaseState.IN_PROGRESS: {"resolve", "reject", "confirm_extortion", "approve_risk"},
    CaseState.RESOLVED: {"follow_up_due"},
    CaseState.FOLLOW_UP: {"close"},
    CaseState.CLOSED: set(),
    CaseState.REJECTED: set(),
}


def in_state(state: CaseState) -> Case:
    case = a_case()
    if state is CaseState.REJECTED:
        return ACTIONS["reject"][0](case)
    for name in PATH:
        if case.state is state:
            break
        case = ACTIONS[name][0](case)
    assert case.state is state
    return case


@pytest.mark.parametrize("state", list(CaseState))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_move_is_legal_only_from_its_states(state: CaseState, action: str) -> None:
    case = in_state(state)
    do, doing, after = ACTIONS[action]

    if action in LEGAL[state]:
        moved = do(case)
        assert moved.state is (after or state)
        assert moved.timeline[len(case.timeline)].by in ("staff-1", "manager-1", "clock")
        assert len(moved.timeline) > len(case.timeline)
    else:
        with pytest.raises(FailedPrecondition) as refused:
            do(case)
        assert refused.value.message == f"the case is {state.label}; it cannot be {doing}"


def test_the_refusal_reads_as_a_sentence() -> None:
    with pytest.raises(FailedPrecondition, match=r"^the case is resolved; it cannot be acknowledged$"):
        ACTIONS["acknowledge"][0](in_state(CaseState.RESOLVED))
    with pytest.raises(FailedPrecondition, match=r"^the case is in progress; it cannot be closed$"):
        ACTIONS["close"][0](in_state(CaseState.IN_PROGRESS))


def test_each_move_is_on_the_timeline_with_who_when_and_what() -> None:
    closed = in_state(CaseState.CLOSED)

    assert [e.action for e in closed.timeline] == [
        Action.OPENED,
        Action.ACKNOWLEDGED,
        Action.STARTED,
        Action.RESOLVED,
        Action.FOLLOW_UP_DUE,
        Action.CLOSED,
    ]
    assert closed.timeline[1] == TimelineEntry(Action.ACKNOWLEDGED, "staff-1", T0 + H, "sorry")
    assert closed.satisfaction == 5
    assert closed.timeline[-1].note == "satisfaction 5/5"


def test_resolving_sets_the_follow_up_day_from_the_policy() -> None:
    resolved = in_state(CaseState.RESOLVED)
    assert resolved.resolved_at == T0 + 3 * H
    assert resolved.follow_up_at == T0 + 3 * H + timedelta(days=7)
    with pytest.raises(FailedPrecondition, match="follow-up day has not come"):
        transitions.follow_up_due(resolved, T0 + timedelta(days=6))


def test_closing_needs_a_satisfaction_from_1_to_5_and_acknowledging_an_apology() -> None:
    follow_up = in_state(CaseState.FOLLOW_UP)
    for score in (0, 6):
        with pytest.raises(InvalidArgument) as bad:
            transitions.close(follow_up, "staff-1", score, "", T0 + timedelta(days=31))
        assert bad.value.field == "satisfaction"
    with pytest.raises(InvalidArgument) as bad:
        transitions.acknowledge(a_case(), "staff-1", "  ", T0)
    assert bad.value.field == "note"
    with pytest.raises(InvalidArgument) as bad:
        transitions.acknowledge(a_case(), "", "sorry", T0)
    assert bad.value.field == "by"


def test_a_case_with_a_resolution_under_way_cannot_be_rejected_or_resolved_otherwise() -> None:
    case = in_state(CaseState.IN_PROGRESS)
    coupon = Settlement(Remedy(RemedyKind.COUPON, template_id="t", value=500), "staff-1", T0, "2026-03", 5000)
    settling = transitions.begin_resolution(case, coupon)

    with pytest.raises(FailedPrecondition, match="under way"):
        transitions.reject(settling, "staff-1", "changed our mind", T0)
    with pytest.raises(FailedPrecondition, match="under way"):
        transitions.begin_resolution(settling, coupon)
    done = transitions.finish_resolution(settling, T0 + H, "CODE1")
    assert done.remedy is not None
    assert done.remedy.coupon_code == "CODE1"
    assert done.pending is None
    assert [e.action for e in done.timeline[-2:]] == [Action.COMPENSATION_ISSUED, Action.RESOLVED]


def test_start_assigns_a_store_or_an_assistant() -> None:
    started = transitions.start(in_state(CaseState.ACKNOWLEDGED), "staff-1", "", T0, "s2", "staff-9")
    assert (started.assigned_store_id, started.assigned_staff_id) == ("s2", "staff-9")
    assert started.timeline[-1].note == "assigned to store s2, assistant staff-9"


def test_confirming_extortion_rejects_with_the_decision_and_approving_twice_is_one_decision() -> None:
    case = a_case(risky=True)
    rejected = transitions.confirm_extortion(case, "manager-1", "asked for a transfer", T0 + H)
    approved = transitions.approve_risk(case, "manager-1", "", T0 + H)

    assert rejected.state is CaseState.REJECTED
    assert rejected.risk.decision is RiskDecision.EXTORTION_CONFIRMED
    assert approved.risk.decision is RiskDecision.APPROVED
    assert approved.risk.cleared
    assert transitions.approve_risk(approved, "manager-2", "", T0 + 2 * H) is approved


# --- SLAs in business hours ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (local(SHANGHAI, 2026, 3, 2, 10), 4, local(SHANGHAI, 2026, 3, 2, 14)),  # within the day
        (local(SHANGHAI, 2026, 3, 2, 21), 4, local(SHANGHAI, 2026, 3, 3, 13)),  # over the night
        (local(SHANGHAI, 2026, 3, 2, 8), 2, local(SHANGHAI, 2026, 3, 2, 12)),  # before opening
        (local(SHANGHAI, 2026, 3, 2, 23), 1, local(SHANGHAI, 2026, 3, 3, 11)),  # after closing
        (local(SHANGHAI, 2026, 3, 2, 10), 24, local(SHANGHAI, 2026, 3, 3, 22)),  # two whole days
        (local(SHANGHAI, 2026, 3, 2, 10), 72, local(SHANGHAI, 2026, 3, 7, 22)),  # six days
    ],
)
def test_due_counts_only_opening_hours(start: datetime, hours: int, expected: datetime) -> None:
    assert sla.due(start, hours, DAILY_10_22, SHANGHAI) == expected


def test_due_skips_the_weekend_when_the_store_is_closed() -> None:
    friday_5pm = local(SHANGHAI, 2026, 3, 6, 17)
    assert sla.due(friday_5pm, 3, WEEKDAYS_9_18, SHANGHAI) == local(SHANGHAI, 2026, 3, 9, 11)
    saturday = local(SHANGHAI, 2026, 3, 7, 12)
    assert sla.due(saturday, 1, WEEKDAYS_9_18, SHANGHAI) == local(SHANGHAI, 2026, 3, 9, 10)


def test_a_store_that_keeps_other_hours_measures_in_its_own() -> None:
    custom = parse_policy(
        {"store_hours": [{"store_id": "s2", "days": [{"weekday": 1, "opens": "12:00", "closes": "20:00"}]}]},
        "t1",
    )
    monday_7pm = local(SHANGHAI, 2026, 3, 2, 19)

    assert sla.due(monday_7pm, 2, custom.schedule("s2"), custom.zone()) == local(SHANGHAI, 2026, 3, 9, 13)
    assert sla.due(monday_7pm, 2, custom.schedule("s1"), custom.zone()) == local(SHANGHAI, 2026, 3, 2, 21)


def test_due_across_the_spring_dst_change_in_berlin() -> None:
    saturday_9pm = local(BERLIN, 2026, 3, 28, 21)  # CET; the clocks go forward that night
    due = sla.due(saturday_9pm, 4, DAILY_10_22, BERLIN)
    assert due == local(BERLIN, 2026, 3, 29, 13) == datetime(2026, 3, 29, 11, 0, tzinfo=UTC)  # CEST


def test_due_across_the_autumn_dst_change_in_berlin() -> None:
    saturday_9pm = local(BERLIN, 2026, 10, 24, 21)  # CEST; the clocks go back that night
    assert sla.due(saturday_9pm, 2, DAILY_10_22, BERLIN) == datetime(
        2026, 10, 25, 10, 0, tzinfo=UTC
    )  # 11:00 CET


def test_business_hours_are_real_hours_on_a_day_the_clocks_change() -> None:
    start = local(BERLIN, 2026, 3, 28, 12)
    assert sla.due(start, 48, ALL_DAY, BERLIN) == start.astimezone(UTC) + timedelta(hours=48)
    assert sla.due(start, 48, ALL_DAY, BERLIN) == local(
        BERLIN, 2026, 3, 30, 13
    )  # the night was an hour short


def test_a_new_case_is_due_by_its_severitys_hours() -> None:
    case = a_case(severity="high")  # 4 / 24 business hours, from Monday 10:00
    assert case.first_response_due == local(SHANGHAI, 2026, 3, 2, 14)
    assert case.resolution_due == local(SHANGHAI, 2026, 3, 3, 22)


def test_a_breach_is_found_once_and_an_answer_in_time_meets_the_sla() -> None:
    case = a_case(severity="high")
    late = case.first_response_due + timedelta(minutes=1)

    assert sla.breaches(case, case.first_response_due) == ()
    breached = transitions.record_breaches(case, late)
    assert [b.sla for b in sla.breaches(case, late)] == [sla.Sla.FIRST_RESPONSE]
    assert breached.sla_breaches == ("first_response",)
    assert breached.timeline[-1].action is Action.SLA_BREACHED
    assert transitions.record_breaches(breached, late + H) is breached
    on_time = transitions.acknowledge(case, "staff-1", "sorry", case.first_response_due)
    assert sla.breaches(on_time, case.resolution_due + timedelta(minutes=1)) == (
        sla.Breach(sla.Sla.RESOLUTION, case.resolution_due),
    )


def test_a_late_answer_records_its_breach_with_it() -> None:
    case = a_case(severity="high")
    late = transitions.acknowledge(case, "staff-1", "sorry", case.first_response_due + H)

    assert late.sla_breaches == ("first_response",)
    facts = events.case_facts(case, late, case.first_response_due + H)
    assert [type(f) for f in facts] == [events.ComplaintAcknowledged, events.ComplaintSlaBreached]


# --- reviewer risk -------------------------------------------------------------------------------

REGULAR = MemberProfile(datetime(2020, 1, 1, tzinfo=UTC), 20)
NEWCOMER = MemberProfile(T0 - timedelta(days=2), 0)


def test_a_regular_with_a_purchase_at_the_store_is_no_risk() -> None:
    assessed = risk.score(RiskSignals(T0, "the clasp broke", REGULAR, True), 60)
    assert assessed == RiskAssessment(0, (), False)


def test_a_new_account_without_a_purchase_reaches_the_threshold_and_says_why() -> None:
    signals = RiskSignals(T0, "terrible shop", NEWCOMER, purchased_at_store=False)
    at_60, at_61 = risk.score(signals, 60), risk.score(signals, 61)

    assert at_60.score == risk.NO_PURCHASE_AT_STORE + risk.NEW_ACCOUNT + risk.FEW_PURCHASES == 60
    assert at_60.reasons == ("no purchase at this store", "joined 2 days ago", "no purchases")
    assert at_60.needs_manager
    assert not at_61.needs_manager


@pytest.mark.parametrize(
    "text",
    [
        "加我微信 wxid_abc123 详谈",
        "call me at 13812345678",
        "please add me on WeChat",
        "vx: shopper_2024",
        "私聊",
        "my number is +44 7700 900123",
    ],
)
def test_asking_to_move_off_the_platform_is_recognised(text: str) -> None:
    assert (
        "asks to move the conversation off the platform"
        in risk.score(RiskSignals(T0, text, REGULAR, True), 60).reasons
    )


@pytest.mark.parametrize(
    "text", ["请转账给我", "pay me in cash or else", "发个红包", "a bank transfer of 500"]
)
def test_demanding_cash_is_recognised(text: str) -> None:
    assert "demands cash or a transfer" in risk.score(RiskSignals(T0, text, REGULAR, True), 60).reasons


def test_an_ordinary_complaint_moves_nothing_off_the_platform() -> None:
    text = "The assistant was rude on 12 March and the 2 boxes were dented. 50% off was refused."
    assert risk.score(RiskSignals(T0, text, REGULAR, True), 60).score == 0


def test_new_stores_cheap_fragile_goods_and_bad_reviews_elsewhere_count() -> None:
    signals = RiskSignals(
        T0,
        "the cup arrived broken",
        REGULAR,
        True,
        store_opened_at=T0 - timedelta(days=10),
        goods_value=990,
        recent_bad_reviews=4,
        recent_bad_stores=3,
        remote_address=True,
    )
    assessed = risk.score(signals, 60)

    assert set(assessed.reasons) == {
        "targets a store that opened 10 days ago",
        "cheap goods (¥9.90)",
        "claims fragile goods arrived broken",
        "4 bad reviews at 3 stores in the last 30 days",
        "a remote delivery address",
    }
    assert assessed.score == 10 + 5 + 5 + 20 + 5
    one_store = dataclasses.replace(signals, recent_bad_stores=1, recent_bad_reviews=5)
    assert not any("bad reviews" in r for r in risk.score(one_store, 60).reasons)


def test_the_score_is_capped_at_100_and_an_unknown_member_is_suspicious() -> None:
    everything = RiskSignals(T0, "加我微信 abc12345 转账", NEWCOMER, False, T0, 100, 9, 9, True)
    assert risk.score(everything, 60).score == 100
    unknown = risk.score(RiskSignals(T0, "", None, None), 60)
    assert unknown.reasons == ("not known as a member",)


# --- the policy ---------------------------------------------------------------------------------


def test_the_defaults_are_the_articles() -> None:
    p = POLICY
    assert [(s.severity.value, s.first_response_hours, s.resolution_hours) for s in p.slas] == [
        ("low", 48, 120),
        ("medium", 24, 72),
        ("high", 4, 24),
    ]
    assert [(d.weekday, sla.hhmm(d.opens), sla.hhmm(d.closes)) for d in p.business_hours] == [
        (d, "10:00", "22:00") for d in range(1, 8)
    ]
    assert [(x.rating_class.value, x.template_id, x.value) for x in p.presets] == [
        ("medium", "", 500),
        ("bad", "", 1000),
    ]
    assert (
        p.time_zone,
        p.store_monthly_budget,
        p.open_case_for_medium,
        p.follow_up_days,
        p.risk_threshold,
    ) == (
        "Asia/Shanghai",
        0,
        False,
        7,
        60,
    )


def _day(weekday: object = 1, opens: object = "10:00", closes: object = "22:00") -> dict[str, object]:
    return {"weekday": weekday, "opens": opens, "closes": closes}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (
            {
                "slas": [
                    {"severity": "low", "first_response_hours": 10, "resolution_hours": 20},
                    {"severity": "medium", "first_response_hours": 30, "resolution_hours": 20},
                ]
            },
            "slas[1].resolution_hours",
        ),
        ({"slas": [{"severity": "urgent"}]}, "slas[0].severity"),
        ({"slas": [{"severity": "high"}, {"severity": "high"}]}, "slas[1].severity"),
        ({"slas": [{"severity": "high", "first_response_hours": 0}]}, "slas[0].first_response_hours"),
        ({"slas": [{"severity": "high", "deadline": 3}]}, "slas[0].deadline"),
        ({"business_hours": [_day(closes="09:00")]}, "business_hours[0].closes"),
        ({"business_hours": [_day(opens="25:00")]}, "business_hours[0].opens"),
        ({"business_hours": [_day(opens="24:00", closes="24:00")]}, "business_hours[0].opens"),
        ({"business_hours": [_day(closes="10pm")]}, "business_hours[0].closes"),
        ({"business_hours": [_day(weekday=8)]}, "business_hours[0].weekday"),
        ({"business_hours": [_day(), _day()]}, "business_hours[1].weekday"),
        ({"business_hours": [{"opens": "10:00", "closes": "22:00"}]}, "business_hours[0].weekday"),
        ({"business_hours": "Mon-Sun"}, "business_hours"),
        (
            {"store_hours": [{"store_id": "s1", "days": [_day(closes="1000")]}]},
            "store_hours[0].days[0].closes",
        ),
        ({"store_hours": [{"store_id": "", "days": [_day()]}]}, "store_hours[0].store_id"),
        ({"store_hours": [{"store_id": "s1"}]}, "store_hours[0].days"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"presets": [{"rating_class": "good", "template_id": "x", "value": 1}]}, "presets[0].rating_class"),
        ({"presets": [{"rating_class": "bad", "value": -1}]}, "presets[0].value"),
        ({"store_monthly_budget": -1}, "store_monthly_budget"),
        ({"follow_up_days": 0}, "follow_up_days"),
        ({"risk_threshold": 101}, "risk_threshold"),
        ({"open_case_for_medium": "yes"}, "open_case_for_medium"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_wrong_policy_names_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as bad:
        parse_policy(data, "t1")
    assert bad.value.field == field


def test_a_partial_policy_keeps_the_defaults_for_the_rest() -> None:
    p = parse_policy(
        {
            "slas": [{"severity": "high", "first_response_hours": 2, "resolution_hours": 8}],
            "business_hours": [_day(6, "09:30", "24:00"), _day(1)],
            "presets": [{"rating_class": "bad", "template_id": "tpl-10"}],
            "time_zone": "Europe/Berlin",
        },
        "t1",
    )
    assert p.sla(Severity.HIGH).resolution_hours == 8
    assert p.sla(Severity.LOW).resolution_hours == 120
    assert [(d.weekday, d.opens, d.closes) for d in p.business_hours] == [(1, 600, 1320), (6, 570, 1440)]
    assert p.preset(RatingClass.BAD) == policy.CompensationPreset(RatingClass.BAD, "tpl-10", 1000)
    assert p.preset(RatingClass.MEDIUM) == policy.DEFAULT_PRESETS[0]
    assert p.zone() == BERLIN


def test_a_policy_survives_storage() -> None:
    p = dataclasses.replace(
        parse_policy(
            {
                "store_hours": [{"store_id": "s9", "days": [_day(7, "11:00", "19:00")]}],
                "store_monthly_budget": 20000,
                "open_case_for_medium": True,
                "risk_threshold": 70,
            },
            "t1",
        ),
        version=3,
        changed_by="manager-1",
        changed_at=T0,
    )
    stored = policy.to_dict(p)

    assert policy.from_dict(stored) == p
    assert policy.from_dict(stored).changed_at == T0
    assert parse_policy(policy.settings_to_dict(p), "t1") == dataclasses.replace(p, version=0, changed_by="")


# --- reviews -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rating", "kind"), [(1, "bad"), (2, "bad"), (3, "medium"), (4, "good"), (5, "good")]
)
def test_ratings_are_classified(rating: int, kind: str) -> None:
    assert rating_class(rating).value == kind == a_review(rating).rating_class.value


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"text": "x" * 2001}, "text"),
        ({"image_urls": [f"https://img.example/{i}.jpg" for i in range(10)]}, "image_urls"),
        ({"image_urls": ["https://img.example/a.jpg", "http://img.example/b.jpg"]}, "image_urls[1]"),
        ({"image_urls": ["javascript:alert(1)"]}, "image_urls[0]"),
        ({"channel": "web"}, "channel"),
        ({"store_id": "", "receipt_no": "", "sku": ""}, "store_id"),
        ({"store_id": "", "receipt_no": "R1", "sku": "SKU1"}, "store_id"),
        ({"member_id": " "}, "member_id"),
        ({"sku": "a\x00b"}, "sku"),
    ],
)
def test_a_wrong_review_names_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as bad:
        a_review(**fields)
    assert bad.value.field == field


def test_a_review_of_a_product_needs_no_store_and_keeps_its_text_as_written() -> None:
    r = a_review(
        3, store_id="", receipt_no="", sku="SKU-9", text=" 第一行\n第二行 ", image_urls=["https://x.cn/1.png"]
    )
    assert (r.store_id, r.sku, r.text, r.image_urls) == (
        "",
        "SKU-9",
        "第一行\n第二行",
        ("https://x.cn/1.png",),
    )
    assert len(a_review(text="好" * 2000).text) == 2000


def test_only_its_member_amends_a_review_and_every_version_is_kept() -> None:
    r = a_review(1, text="awful")
    with pytest.raises(FailedPrecondition, match="only the member"):
        amend(r, "m2", 5, "great", [], T0 + H)

    once = amend(r, "m1", 3, "they called me, better", [], T0 + H)
    twice = amend(once, "m1", 5, "very happy now", ["https://img.example/ok.jpg"], T0 + 2 * H)

    assert [(v.rating, v.text, v.at) for v in twice.history] == [
        (1, "awful", T0),
        (3, "they called me, better", T0 + H),
    ]
    assert (twice.rating, twice.rating_class, twice.updated_at) == (5, RatingClass.GOOD, T0 + 2 * H)
    assert amend(twice, "m1", 5, "very happy now", ["https://img.example/ok.jpg"], T0 + 3 * H) is twice
    with pytest.raises(InvalidArgument) as bad:
        amend(r, "m1", 9, "", [], T0)
    assert bad.value.field == "rating"


def test_a_reply_quotes_the_review_as_it_stood_and_a_second_keeps_the_first() -> None:
    r = a_review(2, text="slow service")
    first = reply(r, "Sorry, we have added staff.", "staff-1", T0 + H)
    amended = amend(first, "m1", 4, "much better", [], T0 + 2 * H)
    second = reply(amended, "Thank you for coming back!", "staff-2", T0 + 3 * H)

    assert amended.reply is not None
    assert (amended.reply.quoted_text, amended.reply.quoted_rating) == (
        "slow service",
        2,
    )
    assert second.reply is not None
    assert (second.reply.quoted_text, second.reply.quoted_rating) == (
        "much better",
        4,
    )
    assert second.earlier_replies == (first.reply,)
    with pytest.raises(InvalidArgument) as bad:
        reply(r, "  ", "staff-1", T0)
    assert bad.value.field == "text"


# --- opening a case ------------------------------------------------------------------------------


def test_a_reviews_case_is_one_per_review() -> None:
    r = a_review(1)
    assert review_case_id(r) == case_key("t1", "review", "r1") == review_case_id(a_review(2))
    assert review_case_id(a_review(1, review_id="r2")) != review_case_id(r)
    assert review_key("t1", "m1", "req") == review_key("t1", "m1", "req") != review_key("t1", "m2", "req")


def test_which_reviews_open_a_case() -> None:
    medium_too = dataclasses.replace(POLICY, open_case_for_medium=True)
    assert [opens_case(a_review(n), POLICY) for n in range(1, 6)] == [True, True, False, False, False]
    assert [opens_case(a_review(n), medium_too) for n in range(1, 6)] == [True, True, True, False, False]


def test_a_reviews_case_carries_its_rating_and_seriousness() -> None:
    case = case_for_review(a_review(1, sku="SKU1"), POLICY, RiskAssessment(), T0)
    assert (case.source.value, case.review_id, case.rating_class, case.severity) == (
        "review",
        "r1",
        RatingClass.BAD,
        Severity.HIGH,
    )
    assert (case.category.value, case.description, case.opened_by) == (
        "product_quality",
        "the lid was scratched",
        "m1",
    )
    assert events.case_facts(None, case, T0) == (events.ComplaintOpened(case),)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"category": "rudeness"}, "category"),
        ({"severity": "urgent"}, "severity"),
        ({"store_id": ""}, "store_id"),
        ({"description": ""}, "description"),
        ({"opened_by_kind": "review"}, "opened_by_kind"),
        ({"opened_by_kind": "assistant", "opened_by": ""}, "opened_by"),
    ],
)
def test_a_wrong_case_request_names_the_field(changes: dict[str, str], field: str) -> None:
    given = {
        "tenant_id": "t1",
        "member_id": "m1",
        "store_id": "s1",
        "category": "service_attitude",
        "severity": "low",
        "description": "rude",
        "opened_by_kind": "customer",
        "opened_by": "",
        "receipt_no": "",
        **changes,
    }
    with pytest.raises(InvalidArgument) as bad:
        parse_case_request(**given)
    assert bad.value.field == field


# --- compensation -------------------------------------------------------------------------------

COUPONS = dataclasses.replace(
    POLICY,
    presets=(
        policy.CompensationPreset(RatingClass.MEDIUM, "tpl-5", 500),
        policy.CompensationPreset(RatingClass.BAD, "tpl-10", 1000),
    ),
    store_monthly_budget=3000,
)


def test_a_coupon_remedy_takes_the_preset_of_the_reviews_class() -> None:
    medium = case_for_review(a_review(3), COUPONS, RiskAssessment(), T0)
    direct = a_case()  # opened by the customer: counts as bad
    coupon = parse_remedy("coupon", "")

    assert compensation.settle(medium, coupon, COUPONS, "s", T0).remedy == Remedy(
        coupon.kind, "", "tpl-5", 500
    )
    settled = compensation.settle(direct, coupon, COUPONS, "s", T0)
    assert (settled.remedy.template_id, settled.remedy.value, settled.budget_month, settled.budget_limit) == (
        "tpl-10",
        1000,
        "2026-03",
        3000,
    )


def test_the_budget_month_is_the_tenants_calendar_month() -> None:
    assert compensation.month_key(datetime(2026, 1, 31, 16, 30, tzinfo=UTC), SHANGHAI) == "2026-02"
    assert compensation.month_key(datetime(2026, 1, 31, 15, 59, tzinfo=UTC), SHANGHAI) == "2026-01"


def test_no_coupon_without_a_template_a_budget_or_a_managers_decision() -> None:
    coupon = parse_remedy("coupon", "")
    with pytest.raises(FailedPrecondition, match="no compensation coupon is set for bad reviews"):
        compensation.settle(a_case(), coupon, dataclasses.replace(POLICY, store_monthly_budget=100), "s", T0)
    with pytest.raises(FailedPrecondition, match="store_monthly_budget"):
        compensation.settle(a_case(), coupon, POLICY, "s", T0)
    with pytest.raises(FailedPrecondition, match="needs a manager's decision"):
        compensation.settle(a_case(risky=True), coupon, COUPONS, "s", T0)
    with pytest.raises(FailedPrecondition, match="exceeds the store's whole monthly budget"):
        compensation.settle(a_case(), parse_remedy("coupon", "", "tpl-x", 5000), COUPONS, "s", T0)
    apology = compensation.settle(a_case(risky=True), parse_remedy("apology_only", ""), COUPONS, "s", T0)
    assert apology.remedy.kind.value == "apology_only"


def test_no_remedy_can_be_conditioned_on_the_review() -> None:
    names = {f.name for f in dataclasses.fields(Remedy)} | {f.name for f in dataclasses.fields(Settlement)}
    assert not any("review" in n or "condition" in n or "remove" in n for n in names)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("cash", ""), "remedy.kind"),
        (("exchange", ""), "remedy.note"),
        (("points", ""), "remedy.points"),
        (("points", "", "tpl-1", 0, 10), "remedy.template_id"),
        (("coupon", "", "tpl-1", 0), "remedy.value"),
        (("apology_only", "", "", 0, 5), "remedy.points"),
    ],
)
def test_a_wrong_remedy_names_the_field(args: tuple[object, ...], field: str) -> None:
    with pytest.raises(InvalidArgument) as bad:
        parse_remedy(*args)  # type: ignore[arg-type]
    assert bad.value.field == field


def test_a_settlement_charges_the_cases_store_once_under_its_id() -> None:
    settled = compensation.settle(a_case(), parse_remedy("coupon", ""), COUPONS, "staff-1", T0)
    pending = transitions.begin_resolution(in_state(CaseState.IN_PROGRESS), settled)

    assert compensation.budget_charge(pending) == compensation.BudgetCharge(
        "t1", "s1", "2026-03", "c1", 1000, 3000
    )
    assert compensation.budget_charge(in_state(CaseState.IN_PROGRESS)) is None
