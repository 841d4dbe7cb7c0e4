"""Messaging engagement without servers: link tokens, the attribution rule, the report's
counting, and the use cases and gRPC commands on in-memory fakes of their ports."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from regulars.messaging.v1 import messaging_pb2

from chassis.errors import InvalidArgument, NotFound
from services.messaging.domain import attribution, links
from services.messaging.domain.attribution import Candidate, Conversion, Kind, Via
from services.messaging.domain.channels import Channel, MessageClass
from services.messaging.domain.links import Link
from services.messaging.domain.messages import Message
from services.messaging.domain.policy import MessagingPolicy
from services.messaging.domain.reports import MessageOutcome, ReportedMessage, Row, report
from services.messaging.entrypoints.engagement_commands import EngagementCommands
from services.messaging.entrypoints.engagement_mapping import revenue_stats
from services.messaging.service.engagement import Engagement

T0 = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
WINDOW = 72 * HOUR
SECRET = b"unit-test-link-secret"


def a_message(message_id: str = "M1", **changes: Any) -> Message:
    return replace(
        Message(
            id=message_id,
            tenant_id="t1",
            member_id="m1",
            key=f"k-{message_id}",
            template_id="birthday",
            message_class=MessageClass.CARE,
            channels=(Channel.SMS, Channel.INBOX),
            due_at=T0,
            created_at=T0,
            store_id="s1",
            staff_id="a1",
        ),
        **changes,
    )


def a_link(token: str = "", message: Message | None = None, url: str = "https://shop.example/gift") -> Link:
    message = message or a_message()
    return links.link_of(message, token or links.token_for(SECRET, message.id, url), url, T0)


def candidate(message_id: str, **changes: Any) -> Candidate:
    return replace(
        Candidate(
            message_id=message_id,
            template_id="tpl",
            channel="sms",
            staff_id="a1",
            store_id="s1",
            message_class="care",
            created_at=T0 - 100 * HOUR,
        ),
        **changes,
    )


# Tokens


def test_a_token_is_the_same_for_the_same_message_and_url() -> None:
    assert links.token_for(SECRET, "M1", "https://a.example/x") == links.token_for(
        SECRET, "M1", "https://a.example/x"
    )


def test_a_token_differs_per_url_per_message_and_per_secret() -> None:
    tokens = {
        links.token_for(SECRET, "M1", "https://a.example/x"),
        links.token_for(SECRET, "M1", "https://a.example/y"),
        links.token_for(SECRET, "M2", "https://a.example/x"),
        links.token_for(b"another-secret", "M1", "https://a.example/x"),
        # The separator keeps message and url apart: "M1\n2x" is not "M1" + "2x" moved.
        links.token_for(SECRET, "M12", "https://a.example/x"),
    }
    assert len(tokens) == 5


def test_a_token_is_16_lowercase_base32_characters_and_garbage_is_not_one() -> None:
    token = links.token_for(SECRET, "M1", "https://a.example/x")
    assert len(token) == 16
    assert links.well_formed(token)
    for garbage in ("", token[:-1], token + "a", token.upper(), token[:-1] + "1", token[:-1] + "/", "é" * 16):
        assert not links.well_formed(garbage), garbage


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "/relative", "ftp://a.example/x", "https://", "https://a.example/ x"]
)
def test_only_an_absolute_http_url_can_be_tracked(url: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        links.checked_url(url)
    assert err.value.field == "url"


def test_a_link_carries_what_attribution_needs_of_its_message() -> None:
    link = a_link("tok", a_message(channels=(Channel.WECHAT,), message_class=MessageClass.MARKETING))
    assert (link.tenant_id, link.message_id, link.member_id, link.channel, link.message_class) == (
        "t1",
        "M1",
        "m1",
        "wechat",
        "marketing",
    )
    assert (link.staff_id, link.store_id, link.message_created_at) == ("a1", "s1", T0)


def test_the_user_agent_kept_is_printable_and_bounded() -> None:
    assert links.user_agent("Mozilla\n\x00/5.0") == "Mozilla/5.0"
    assert len(links.user_agent("x" * 5000)) == links.USER_AGENT_MAX


# Attribution


def test_a_clicked_message_beats_a_later_sent_one() -> None:
    at = T0
    clicked = candidate("old", clicked_at=at - 50 * HOUR, state="sent", sent_at=at - 60 * HOUR)
    sent = candidate("new", state="delivered", sent_at=at - HOUR)
    assert attribution.choose([sent, clicked], at, WINDOW) == (clicked, Via.CLICK)


def test_the_latest_click_wins_and_else_the_latest_send() -> None:
    at = T0
    early, late = candidate("a", clicked_at=at - 5 * HOUR), candidate("b", clicked_at=at - 2 * HOUR)
    assert attribution.choose([late, early], at, WINDOW) == (late, Via.CLICK)
    first = candidate("c", state="sent", sent_at=at - 5 * HOUR)
    second = candidate("d", state="delivered", sent_at=at - 2 * HOUR)
    assert attribution.choose([second, first], at, WINDOW) == (second, Via.SENT)


def test_the_window_holds_both_edges_and_nothing_outside() -> None:
    at = T0
    on_start = candidate("start", state="sent", sent_at=at - WINDOW)
    on_end = candidate("end", state="sent", sent_at=at)
    assert attribution.choose([on_start], at, WINDOW) == (on_start, Via.SENT)
    assert attribution.choose([on_end], at, WINDOW) == (on_end, Via.SENT)
    too_early = candidate("early", state="sent", sent_at=at - WINDOW - timedelta(milliseconds=1))
    after = candidate("after", state="sent", sent_at=at + timedelta(milliseconds=1))
    clicked_after = candidate("click-after", clicked_at=at + timedelta(milliseconds=1))
    assert attribution.choose([too_early, after, clicked_after], at, WINDOW) is None


def test_a_clicked_message_counts_by_its_click_even_when_sent_before_the_window() -> None:
    old = candidate("old", state="sent", sent_at=T0 - 10 * WINDOW, clicked_at=T0 - HOUR)
    assert attribution.choose([old], T0, WINDOW) == (old, Via.CLICK)


def test_transactional_messages_earn_nothing_clicked_or_sent() -> None:
    receipt = candidate("receipt", message_class="transactional", clicked_at=T0 - HOUR)
    receipt_sent = candidate("receipt2", message_class="transactional", state="sent", sent_at=T0 - HOUR)
    care = candidate("care", state="sent", sent_at=T0 - 10 * HOUR)
    assert attribution.choose([receipt, receipt_sent, care], T0, WINDOW) == (care, Via.SENT)
    assert attribution.choose([receipt, receipt_sent], T0, WINDOW) is None


def test_only_messages_that_went_out_count_as_sent() -> None:
    failed = candidate("f", state="failed", sent_at=T0 - HOUR)
    pending = candidate("p", state="pending", sent_at=T0 - HOUR)
    assert attribution.choose([failed, pending], T0, WINDOW) is None
    assert attribution.choose([], T0, WINDOW) is None


def test_staff_revenue_sums_per_assistant_and_leaves_out_messages_of_no_assistant() -> None:
    groups = [
        ("a1", "CNY", 2, 30000),
        ("a1", "", 3, 0),  # claimed coupons: conversions without revenue
        ("a2", "CNY", 1, 5000),
        ("", "CNY", 4, 99999),
    ]
    assert attribution.staff_revenue(groups) == {"a1": (5, 30000, "CNY"), "a2": (1, 5000, "CNY")}


def test_a_sum_in_several_currencies_reports_the_largest() -> None:
    assert attribution.one_currency({"CNY": 100, "USD": 300}) == (300, "USD")
    assert attribution.one_currency({"": 0}) == (0, "")


def test_a_conversions_id_is_its_tenant_kind_and_ref() -> None:
    c = Conversion("t1", "m1", Kind.PURCHASE, "P-1", T0, candidate("M1"), Via.SENT, 100, "CNY")
    assert c.id == "t1:purchase:P-1"


# The report


def test_the_report_counts_each_template_and_channel() -> None:
    messages = [
        ReportedMessage("1", "bday", "sms", "sent", deferred=True),
        ReportedMessage("2", "bday", "sms", "delivered", deferred=False),
        ReportedMessage("3", "bday", "sms", "failed", deferred=False),
        ReportedMessage("4", "bday", "wechat", "capped", deferred=False),
        ReportedMessage("5", "bday", "", "skipped", deferred=False),
        ReportedMessage("6", "bday", "sms", "pending", deferred=True),
        ReportedMessage("7", "again", "inbox", "sent", deferred=False),
    ]
    clicked = {"1", "2", "7", "elsewhere"}
    outcomes = {
        "1": MessageOutcome(2, {"CNY": 12000}),
        "2": MessageOutcome(1, {"": 0}),  # a claimed coupon
        "other-period": MessageOutcome(1, {"CNY": 5}),
    }
    assert report(messages, clicked, outcomes) == [
        Row("again", "inbox", requested=1, sent=1, clicked=1),
        Row("bday", "", requested=1, skipped=1),
        Row(
            "bday",
            "sms",
            requested=4,
            sent=2,
            deferred=2,
            failed=1,
            clicked=2,
            converted=2,
            revenue_minor=12000,
            currency="CNY",
        ),
        Row("bday", "wechat", requested=1, capped=1),
    ]


def test_an_empty_period_has_no_rows() -> None:
    assert report([], set(), {}) == []


# Use cases on fakes of their ports


class FakeLinks:
    def __init__(self, known: list[Link], messages: list[Link] | None = None) -> None:
        self.links = {link.token: link for link in known}
        self.messages = {(m.tenant_id, m.message_id): m for m in messages or []}
        self.engaged: dict[tuple[str, str], dict[str, Any]] = {}
        self.found: list[str] = []

    async def find(self, token: str) -> Link | None:
        self.found.append(token)
        return self.links.get(token)

    async def of_message(self, tenant_id: str, message_id: str) -> Link | None:
        return self.messages.get((tenant_id, message_id))

    async def engage(self, link: Link, at: datetime, user_agent: str) -> bool:
        key = (link.tenant_id, link.message_id)
        first = key not in self.engaged
        record = self.engaged.setdefault(key, {"link": link, "first_at": at, "taps": 0, "events": 1})
        record["taps"] += 1
        return first

    async def clicked_between(
        self, tenant_id: str, member_id: str, start: datetime, end: datetime
    ) -> list[Candidate]:
        return [
            candidate(
                link.message_id,
                message_class=link.message_class,
                staff_id=link.staff_id,
                clicked_at=r["first_at"],
            )
            for (tenant, _), r in self.engaged.items()
            if (link := r["link"]).member_id == member_id
            and tenant == tenant_id
            and start <= r["first_at"] <= end
        ]

    async def clicked_messages(
        self, tenant_id: str, since: datetime | None, until: datetime | None
    ) -> set[str]:
        return {m for (t, m) in self.engaged if t == tenant_id}


class FakeConversions:
    def __init__(self, sent: list[Candidate] | None = None) -> None:
        self.sent = sent or []
        self.stored: dict[str, Conversion] = {}

    async def sent_between(
        self, tenant_id: str, member_id: str, start: datetime, end: datetime
    ) -> list[Candidate]:
        return [c for c in self.sent if c.sent_at is not None and start <= c.sent_at <= end]

    async def record(self, conversion: Conversion) -> bool:
        if conversion.id in self.stored:
            return False
        self.stored[conversion.id] = conversion
        return True

    async def by_staff(
        self, tenant_id: str, store_id: str, since: datetime | None, until: datetime | None
    ) -> list[tuple[str, str, int, int]]:
        return [(c.message.staff_id, c.currency, 1, c.revenue_minor) for c in self.stored.values()]

    async def outcomes(
        self, tenant_id: str, since: datetime | None, until: datetime | None
    ) -> dict[str, MessageOutcome]:
        return {
            c.message.message_id: MessageOutcome(1, {c.currency: c.revenue_minor})
            for c in self.stored.values()
        }


class FakeMessages:
    def __init__(self, messages: list[ReportedMessage]) -> None:
        self.messages = messages
        self.asked: list[tuple[datetime | None, datetime | None]] = []

    async def requested_between(
        self, tenant_id: str, since: datetime | None, until: datetime | None, limit: int
    ) -> list[ReportedMessage]:
        self.asked.append((since, until))
        return self.messages[:limit]


class FakePolicies:
    def __init__(self, hours: int = 72) -> None:
        self.hours = hours

    async def current(self, tenant_id: str) -> MessagingPolicy:
        return MessagingPolicy(tenant_id=tenant_id, attribution_hours=self.hours)


def engagement(
    known: list[Link] | None = None,
    sent: list[Candidate] | None = None,
    messages: list[ReportedMessage] | None = None,
    hours: int = 72,
    inbox: list[Link] | None = None,
) -> tuple[Engagement, FakeLinks, FakeConversions]:
    fake_links, fake_conversions = FakeLinks(known or [], inbox), FakeConversions(sent)
    use = Engagement(
        fake_links, fake_conversions, FakeMessages(messages or []), FakePolicies(hours), lambda: T0
    )
    return use, fake_links, fake_conversions


async def test_a_click_resolves_its_token_and_counts_once_per_message() -> None:
    link = a_link()
    use, fake, _ = engagement([link])
    assert await use.click(link.token, "Mozilla/5.0", T0) == link
    assert await use.click(link.token, "Mozilla/5.0", T0 + HOUR) == link
    assert fake.engaged[("t1", "M1")]["taps"] == 2


async def test_an_unknown_or_malformed_token_is_not_found_and_garbage_is_never_looked_up() -> None:
    use, fake, _ = engagement([a_link()])
    unknown = links.token_for(SECRET, "M404", "https://shop.example/gift")
    with pytest.raises(NotFound):
        await use.click(unknown, "", T0)
    for garbage in ("../../etc", "x" * 200, ""):
        with pytest.raises(NotFound):
            await use.click(garbage, "", T0)
    assert fake.found == [unknown]


async def test_an_inbox_read_engages_only_the_members_own_known_message() -> None:
    inbox = replace(a_link(), token="", url="")
    use, fake, _ = engagement(inbox=[inbox])
    assert await use.inbox_read("t1", "M1", "m2", T0) is False  # another member's
    assert await use.inbox_read("t1", "M404", "m1", T0) is False
    assert await use.inbox_read("t1", "", "m1", T0) is False  # a welcome note delivers no message
    assert await use.inbox_read("t1", "M1", "m1", T0) is True
    assert await use.inbox_read("t1", "M1", "m1", T0 + HOUR) is False
    assert fake.engaged[("t1", "M1")]["taps"] == 2


async def test_a_purchase_goes_to_the_clicked_message_once_however_often_it_comes() -> None:
    link = a_link()
    sent = candidate("M2", state="sent", sent_at=T0 + 5 * HOUR, staff_id="a2")
    use, _, conversions = engagement([link], sent=[sent])
    await use.click(link.token, "", T0)
    for _ in range(3):
        got = await use.purchase_made("t1", "m1", "P-1", 18800, "cny", T0 + 6 * HOUR)
        assert got is not None
        assert (got.message.message_id, got.via, got.currency) == ("M1", Via.CLICK, "CNY")
    assert list(conversions.stored) == ["t1:purchase:P-1"]
    assert await use.revenue_by_staff("t1", "", None, None) == {"a1": (1, 18800, "CNY")}


async def test_a_coupon_claim_without_a_click_goes_to_the_latest_sent_message() -> None:
    sent = candidate("M2", state="delivered", sent_at=T0 - HOUR)
    use, _, conversions = engagement(sent=[sent])
    got = await use.coupon_claimed("t1", "m1", "C-9", T0)
    assert got is not None
    assert (got.message, got.kind, got.via, got.revenue_minor) == (
        sent,
        Kind.COUPON,
        Via.SENT,
        0,
    )
    assert list(conversions.stored) == ["t1:coupon:C-9"]


async def test_nothing_in_the_window_or_a_window_of_zero_attributes_nothing() -> None:
    sent = candidate("M2", state="sent", sent_at=T0 - 73 * HOUR)
    use, _, conversions = engagement(sent=[sent])
    assert await use.purchase_made("t1", "m1", "P-1", 100, "CNY", T0) is None
    off, _, none_stored = engagement(sent=[candidate("M3", state="sent", sent_at=T0)], hours=0)
    assert await off.purchase_made("t1", "m1", "P-2", 100, "CNY", T0) is None
    assert conversions.stored == none_stored.stored == {}


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("m1", "P-1", -1, "CNY"), "amount_minor"),
        (("m1", "P-1", 100, "yuan"), "currency"),
        (("m1", " ", 100, "CNY"), "purchase_id"),
        (("", "P-1", 100, "CNY"), "member_id"),
    ],
)
async def test_a_bad_purchase_names_its_field(args: tuple[str, str, int, str], field: str) -> None:
    use, _, _ = engagement()
    with pytest.raises(InvalidArgument) as err:
        await use.purchase_made("t1", *args, T0)
    assert err.value.field == field


async def test_the_report_counts_the_periods_messages_and_refuses_a_backwards_period() -> None:
    link = a_link()
    messages = [ReportedMessage("M1", "birthday", "sms", "sent", False)]
    use, _, _ = engagement([link], sent=[], messages=messages)
    await use.click(link.token, "", T0)
    assert await use.report("t1", T0 - HOUR, T0 + HOUR) == [
        Row("birthday", "sms", requested=1, sent=1, clicked=1)
    ]
    with pytest.raises(InvalidArgument) as err:
        await use.report("t1", T0, T0)
    assert err.value.field == "until"


# The gRPC commands


class Servicer(EngagementCommands):
    pass


async def test_resolve_link_answers_where_to_redirect() -> None:
    link = a_link()
    use, fake, _ = engagement([link])
    s = Servicer()

    async def no_staff(tenant_id: str, since: datetime | None, until: datetime | None) -> list[Any]:
        return []

    s.serve_engagement(use, no_staff)
    reply = await s.ResolveLink(messaging_pb2.ResolveLinkRequest(token=link.token, user_agent="UA"), None)  # type: ignore[arg-type]
    assert (reply.url, reply.tenant_id, reply.message_id) == ("https://shop.example/gift", "t1", "M1")
    assert fake.engaged[("t1", "M1")]["first_at"] == T0  # the service's clock


async def test_the_report_command_joins_rows_and_the_staff_part_it_is_given() -> None:
    messages = [ReportedMessage("M1", "birthday", "sms", "sent", False)]
    use, _, _ = engagement(messages=messages)
    asked: list[tuple[str, datetime | None, datetime | None]] = []

    async def staff(tenant_id: str, since: datetime | None, until: datetime | None) -> list[Any]:
        asked.append((tenant_id, since, until))
        return [messaging_pb2.StaffTaskStat(staff_id="a1", done=3)]

    s = Servicer()
    s.serve_engagement(use, staff)
    request = messaging_pb2.GetMessagingReportRequest(tenant_id="t1")
    request.since.FromDatetime(T0)
    reply = await s.GetMessagingReport(request, None)  # type: ignore[arg-type]
    assert [(r.template_id, r.channel, r.requested, r.sent) for r in reply.rows] == [
        ("birthday", "sms", 1, 1)
    ]
    assert [(x.staff_id, x.done) for x in reply.staff] == [("a1", 3)]
    assert asked == [("t1", T0, None)]
    with pytest.raises(InvalidArgument):
        await s.GetMessagingReport(messaging_pb2.GetMessagingReportRequest(), None)  # type: ignore[arg-type]


async def test_revenue_stats_make_the_staff_part_from_attribution() -> None:
    sent = candidate("M2", state="sent", sent_at=T0 - HOUR, staff_id="a7")
    use, _, _ = engagement(sent=[sent])
    await use.purchase_made("t1", "m1", "P-1", 5000, "CNY", T0)
    stats = await revenue_stats(use)("t1", None, None)
    assert [
        (s.staff_id, s.conversions, s.attributed_revenue.minor_units, s.attributed_revenue.currency)
        for s in stats
    ] == [("a7", 1, 5000, "CNY")]
