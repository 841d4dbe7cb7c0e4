"""The sending pipeline's pure rules: frequency caps across channels and calendar periods in the
member's zone, quiet-hours deferral across time zones and midnight, the choice of channels and
fallback, consent by message class, and a message's lifecycle (retries, fallback, the end)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from chassis.errors import InvalidArgument
from services.messaging.domain import caps, messages, quiet_hours, routing
from services.messaging.domain.caps import Contacted
from services.messaging.domain.channels import Channel, MessageClass, consent_allows
from services.messaging.domain.contacts import Contact, with_consent
from services.messaging.domain.messages import Message, Outcome, State
from services.messaging.domain.policy import CapRule, MessagingPolicy
from services.messaging.domain.templates import ChannelText, Template

SHANGHAI = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")
MARKETING, CARE, TRANSACTIONAL = MessageClass.MARKETING, MessageClass.CARE, MessageClass.TRANSACTIONAL


def at_shanghai(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SHANGHAI).astimezone(UTC)


# Frequency caps


RULES = (CapRule("marketing", "day", 1), CapRule("marketing", "week", 3), CapRule("contact", "day", 2))


def test_a_second_marketing_message_the_same_day_is_capped_by_the_day_rule() -> None:
    now = at_shanghai(2026, 12, 2, 15)
    recent = [Contacted(at_shanghai(2026, 12, 2, 10), MARKETING, "m1")]
    assert caps.stopping_rule(RULES, recent, MARKETING, now, SHANGHAI) == CapRule("marketing", "day", 1)
    assert str(CapRule("marketing", "day", 1)) == "cap marketing 1 per day"


def test_the_day_is_the_members_calendar_day_not_utc() -> None:
    # 23:30 on the 1st in Shanghai is 15:30 UTC on the 1st; 00:30 on the 2nd is 16:30 UTC on the 1st.
    sent_late = Contacted(at_shanghai(2026, 12, 1, 23, 30), MARKETING, "m1")
    next_morning = at_shanghai(2026, 12, 2, 0, 30)
    assert sent_late.at.date() == next_morning.date()  # the same UTC day ...
    assert (
        caps.stopping_rule(RULES, [sent_late], MARKETING, next_morning, SHANGHAI) is None
    )  # ... not the same local one


def test_the_week_rule_counts_from_monday_and_stops_the_fourth() -> None:
    monday = at_shanghai(2026, 11, 30, 10)  # a Monday
    tuesday, wednesday = monday + timedelta(days=1), monday + timedelta(days=2)
    recent = [Contacted(t, MARKETING, f"m{i}") for i, t in enumerate((monday, tuesday, wednesday))]
    thursday = at_shanghai(2026, 12, 3, 10)
    assert caps.stopping_rule(RULES, recent, MARKETING, thursday, SHANGHAI) == CapRule("marketing", "week", 3)
    # Last week's sends do not count on the next Monday.
    next_monday = at_shanghai(2026, 12, 7, 10)
    assert caps.stopping_rule(RULES, recent, MARKETING, next_monday, SHANGHAI) is None


def test_contact_pressure_counts_care_and_marketing_together_and_never_transactional() -> None:
    now = at_shanghai(2026, 12, 2, 18)
    recent = [
        Contacted(at_shanghai(2026, 12, 2, 9), CARE, "care"),
        Contacted(at_shanghai(2026, 12, 2, 10), TRANSACTIONAL, "receipt"),
    ]
    assert caps.stopping_rule(RULES, recent, CARE, now, SHANGHAI) is None  # 1 counted of 2
    recent.append(Contacted(at_shanghai(2026, 12, 2, 11), CARE, "care-2"))
    assert caps.stopping_rule(RULES, recent, CARE, now, SHANGHAI) == CapRule("contact", "day", 2)
    assert caps.stopping_rule(RULES, recent * 5, TRANSACTIONAL, now, SHANGHAI) is None


def test_a_contact_stamped_after_now_counts_a_racing_send_took_the_slot_first() -> None:
    now = at_shanghai(2026, 12, 2, 15)
    racer = Contacted(now + timedelta(milliseconds=3), MARKETING, "m-racer")
    assert caps.stopping_rule(RULES, [racer], MARKETING, now, SHANGHAI) == CapRule("marketing", "day", 1)


def test_a_zero_limit_stops_every_message_of_the_class() -> None:
    assert caps.stopping_rule([CapRule("care", "week", 0)], [], CARE, at_shanghai(2026, 12, 2, 12), SHANGHAI)


def test_old_contacts_are_pruned_after_the_longest_period() -> None:
    now = at_shanghai(2026, 12, 20, 12)
    recent = [
        Contacted(now - timedelta(days=9), CARE, "old"),
        Contacted(now - timedelta(days=2), CARE, "new"),
    ]
    assert [c.message_id for c in caps.prune(recent, now)] == ["new"]


# Quiet hours


def test_a_message_due_at_22_waits_until_9_the_next_morning() -> None:
    due = at_shanghai(2026, 12, 2, 22)
    assert quiet_hours.next_allowed(due, time(21), time(9), SHANGHAI) == at_shanghai(2026, 12, 3, 9)


def test_after_midnight_the_end_is_the_same_mornings() -> None:
    due = at_shanghai(2026, 12, 3, 2, 15)
    assert quiet_hours.next_allowed(due, time(21), time(9), SHANGHAI) == at_shanghai(2026, 12, 3, 9)


def test_outside_quiet_hours_it_goes_now_and_the_end_itself_is_allowed() -> None:
    noon, nine = at_shanghai(2026, 12, 2, 12), at_shanghai(2026, 12, 2, 9)
    assert quiet_hours.next_allowed(noon, time(21), time(9), SHANGHAI) == noon
    assert quiet_hours.next_allowed(nine, time(21), time(9), SHANGHAI) == nine


def test_quiet_hours_are_the_members_zone() -> None:
    # 14:00 UTC is 22:00 in Shanghai (quiet) and 14:00 in London (not).
    now = datetime(2026, 12, 2, 14, tzinfo=UTC)
    assert quiet_hours.next_allowed(now, time(21), time(9), LONDON) == now
    assert quiet_hours.next_allowed(now, time(21), time(9), SHANGHAI) == datetime(2026, 12, 3, 1, tzinfo=UTC)


def test_a_daytime_window_and_no_window() -> None:
    lunch = at_shanghai(2026, 12, 2, 12, 30)
    assert quiet_hours.next_allowed(lunch, time(12), time(14), SHANGHAI) == at_shanghai(2026, 12, 2, 14)
    assert quiet_hours.next_allowed(lunch, None, None, SHANGHAI) == lunch


def test_the_morning_after_a_dst_change_is_local_nine() -> None:
    # Europe/London leaves summer time on 25 Oct 2026: 09:00 local is 09:00 UTC that morning.
    evening = datetime(2026, 10, 24, 21, 30, tzinfo=UTC)  # 22:30 BST
    assert quiet_hours.next_allowed(evening, time(21), time(9), LONDON) == datetime(
        2026, 10, 25, 9, tzinfo=UTC
    )


# Channels: order, consent, usability


def test_consent_by_class() -> None:
    withdrawn = {"sms": False}
    assert consent_allows(Channel.SMS, TRANSACTIONAL, withdrawn)  # a receipt still goes
    assert not consent_allows(Channel.SMS, CARE, withdrawn)
    assert not consent_allows(Channel.SMS, MARKETING, {})  # opt-in, as members keeps it
    assert not consent_allows(Channel.STAFF_TASK, CARE, {"phone": False})  # never agreed to calls
    assert consent_allows(Channel.STAFF_TASK, CARE, {"phone": True})
    assert consent_allows(Channel.SMS, MARKETING, {"sms": True})
    assert consent_allows(Channel.INBOX, MARKETING, {})  # the inbox is read when the member opens it


def test_order_is_the_callers_or_the_policys_for_the_preferred_channel() -> None:
    policy = MessagingPolicy(tenant_id="t")
    every = Template("t", "all", "All", CARE, {c: ChannelText("hi") for c in Channel})
    wechat_fan = Contact("t", "m", preferred_channel="wechat")
    assert routing.order((Channel.SMS,), policy, wechat_fan, every) == (Channel.SMS,)
    assert routing.order((), policy, wechat_fan, every) == (Channel.WECHAT, Channel.SMS, Channel.STAFF_TASK)
    assert (
        routing.order((), policy, Contact("t", "m", preferred_channel="phone"), every)[0]
        is Channel.STAFF_TASK
    )
    assert routing.order((), policy, Contact("t", "m"), every) == policy.fallback[""]


def test_the_policys_order_keeps_the_channels_the_template_has_else_the_templates_own() -> None:
    policy = MessagingPolicy(tenant_id="t")
    sms_and_inbox = Template(
        "t", "x", "X", CARE, {Channel.INBOX: ChannelText("a"), Channel.SMS: ChannelText("b")}
    )
    assert routing.order((), policy, Contact("t", "m"), sms_and_inbox) == (Channel.SMS, Channel.INBOX)
    calls_only = Template("t", "call", "Call", CARE, {Channel.STAFF_TASK: ChannelText("call them")})
    assert routing.order((), policy, Contact("t", "m"), calls_only) == (Channel.STAFF_TASK,)


def test_channel_names_are_checked_naming_the_position() -> None:
    assert routing.parse_channels(["wechat", "sms"]) == (Channel.WECHAT, Channel.SMS)
    with pytest.raises(InvalidArgument) as bad:
        routing.parse_channels(["sms", "fax"])
    assert bad.value.field == "channels[1]"
    with pytest.raises(InvalidArgument) as twice:
        routing.parse_channels(["sms", "sms"])
    assert twice.value.field == "channels[1]"


def test_unusable_says_why() -> None:
    template = Template(
        "t", "promo", "Promo", MARKETING, {Channel.SMS: ChannelText("hi"), Channel.WEBHOOK: ChannelText("x")}
    )
    policy = MessagingPolicy(tenant_id="t")
    member = Contact("t", "m", consent={"sms": True})
    assert routing.unusable(Channel.SMS, MARKETING, template, member, policy, "") is None
    assert "no wechat text" in (
        routing.unusable(Channel.WECHAT, MARKETING, template, member, policy, "") or ""
    )
    replied_t = Contact("t", "m", consent={"sms": False})
    assert "consent" in (routing.unusable(Channel.SMS, MARKETING, template, replied_t, policy, "") or "")
    assert "webhook" in (routing.unusable(Channel.WEBHOOK, MARKETING, template, member, policy, "") or "")
    calls = Template("t", "call", "Call", TRANSACTIONAL, {Channel.STAFF_TASK: ChannelText("call")})
    nobody = Contact("t", "m")
    assert "no assistant or store" in (
        routing.unusable(Channel.STAFF_TASK, TRANSACTIONAL, calls, nobody, policy, "") or ""
    )
    assert routing.unusable(Channel.STAFF_TASK, TRANSACTIONAL, calls, nobody, policy, "", "staff-1") is None


def test_a_later_consent_change_is_not_undone_by_an_earlier_one_arriving_late() -> None:
    t1, t2 = datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC)
    c = with_consent(Contact("t", "m"), "sms", False, t2)
    assert with_consent(c, "sms", True, t1).consent == {"sms": False}
    assert with_consent(c, "sms", True, t2 + timedelta(1)).consent == {"sms": True}


# A message's lifecycle


NOW = datetime(2026, 12, 2, 4, tzinfo=UTC)


def message(*channels: Channel) -> Message:
    return Message("id", "t", "m", "k", "tpl", CARE, channels, due_at=NOW, created_at=NOW)


def test_a_failing_provider_is_retried_with_back_off_then_the_next_channel_is_tried() -> None:
    m = messages.failed_try(message(Channel.WECHAT, Channel.SMS), NOW, "wx", "busy", True, max_attempts=3)
    assert (m.state, m.channel, m.attempts, m.due_at) == (
        State.PENDING,
        Channel.WECHAT,
        1,
        NOW + timedelta(seconds=30),
    )
    m = messages.failed_try(m, NOW, "wx", "busy", True, 3)
    assert m.due_at == NOW + timedelta(minutes=1)
    m = messages.failed_try(m, NOW, "wx", "busy", True, 3)
    assert (m.state, m.channel, m.attempts, m.due_at) == (State.PENDING, Channel.SMS, 0, NOW)
    m = messages.failed_try(m, NOW, "sms", "bad number", False, 3)
    assert (m.state, m.reason) == (State.FAILED, "sms: bad number")
    assert [a.outcome for a in m.history] == [Outcome.FAILED] * 4


def test_no_usable_channel_ends_skipped_with_every_reason() -> None:
    m = messages.skip(message(Channel.SMS, Channel.WECHAT), "no phone number", NOW)
    m = messages.skip(m, "no WeChat subscription left", NOW)
    assert m.state is State.SKIPPED
    assert m.reason == "no usable channel (sms: no phone number; wechat: no WeChat subscription left)"


def test_back_off_doubles_and_stops_at_an_hour() -> None:
    assert [messages.backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert messages.backoff(20) == timedelta(hours=1)


def test_receipts_move_a_sent_message_once() -> None:
    sent = messages.sent(message(Channel.SMS), NOW, "tencent", "serial-1")
    assert (sent.state, sent.sent_at, sent.provider_message_id) == (State.SENT, NOW, "serial-1")
    delivered = messages.receipt(sent, True, "", NOW)
    assert delivered.state is State.DELIVERED
    assert messages.receipt(delivered, False, "late", NOW) is delivered
    failed = messages.receipt(sent, False, "handset off", NOW)
    assert (failed.state, failed.reason) == (State.FAILED, "sms: handset off")


def test_defer_and_cap_are_recorded_in_the_history() -> None:
    later = NOW + timedelta(hours=5)
    d = messages.defer(message(Channel.SMS), later, NOW, "quiet hours")
    assert (d.state, d.due_at, d.deferred, d.history[-1].outcome) == (
        State.PENDING,
        later,
        True,
        Outcome.DEFERRED,
    )
    c = messages.cap(d, "cap care 1 per day", NOW)
    assert (c.state, c.reason, c.history[-1].outcome) == (State.CAPPED, "cap care 1 per day", Outcome.CAPPED)
