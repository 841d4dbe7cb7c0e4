"""Message templates: what a save refuses (naming the field), how a text renders (variables,
tracked links, the SMS provider's parameters, WeChat's data fields, the unsubscribe footer),
how SMS segments are counted, and the save use case's versions under concurrent saves; the gRPC
commands on top, through their protobuf mapping."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import cast

import pytest
from regulars.messaging.v1 import messaging_pb2 as pb

from chassis.errors import InvalidArgument, NotFound
from services.messaging.domain.channels import Channel, MessageClass
from services.messaging.domain.templates import (
    MAX_SMS_SEGMENTS,
    UNSUBSCRIBE_FOOTERS,
    VARIABLES,
    ChannelText,
    Template,
    render,
    render_script,
    sms_segments,
    validate,
    variables_used,
    wechat_data,
)
from services.messaging.entrypoints.template_commands import Context, TemplateCommands
from services.messaging.service.policies import Policies
from services.messaging.service.templates import Templates
from tests.unit.fakes_messaging_templates import FakePolicies, FakeTemplates

NO_CONTEXT = cast(Context, None)  # the commands never use it
T0 = datetime(2026, 11, 23, 10, 0, 0, 123000, tzinfo=UTC)
GIFT = "https://shop.example/gift"
WANG = {"title": "Ms", "surname": "Wang", "name": "Li", "store": "Jing'an", "coupon_code": "BDAY-7"}


def a_template(message_class: str = "care", **texts: ChannelText) -> Template:
    return Template(
        tenant_id="acme",
        id="birthday-month",
        name="  Birthday month  ",
        message_class=MessageClass(message_class),
        texts=dict(texts) or {Channel.INBOX: ChannelText("Hello {{ name }}")},  # type: ignore[arg-type]
    )


def refused(template: Template) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        validate(template)
    return caught.value


def sms(body: str) -> ChannelText:
    return ChannelText(body, provider_template_id="SMS_204417001")


def track(url: str) -> str:
    return f"https://r.example/r/{len(url)}"


# --- Saving: what is refused -------------------------------------------------------------------


def test_a_valid_template_is_kept_with_its_name_trimmed_and_enums() -> None:
    checked = validate(
        replace(a_template(), texts={"sms": sms("Hi {{ name }}"), "inbox": ChannelText("Hi")})  # type: ignore[dict-item]
    )
    assert checked.name == "Birthday month"
    assert set(checked.texts) == {Channel.SMS, Channel.INBOX}
    assert all(isinstance(c, Channel) for c in checked.texts)


def test_a_misspelled_variable_is_refused_naming_it_and_the_field() -> None:
    error = refused(a_template(sms=sms("Hello {{ nmae }}, your gift is ready")))
    assert error.field == "texts.sms.body"
    assert "nmae" in error.message
    assert "did you mean name?" in error.message


def test_every_documented_variable_is_accepted() -> None:
    body = " ".join(f"{{{{ {name} }}}}" for name in sorted(VARIABLES))
    validate(a_template(inbox=ChannelText(body)))


def test_a_syntax_error_names_the_field_and_its_line() -> None:
    error = refused(a_template(inbox=ChannelText("Hello {{ name }}\nYour gift {{ store ", title="Hi")))
    assert error.field == "texts.inbox.body"
    assert error.message.startswith("line 2:")
    title = refused(a_template(inbox=ChannelText("Hello", title="{% if name %}Hi")))
    assert title.field == "texts.inbox.title"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("{% for x in name %}{{ x }}{% endfor %}", "for is not allowed"),
        ("{% set name = 'x' %}", "assign is not allowed"),
        ("{{ 'ha' * 100000000 }}", "mul is not allowed"),
        ("{{ name.__class__ }}", "getattr is not allowed"),
        ("{{ range(10) }}", "only link"),
        ("{{ name | e }}", "filter e is not allowed"),
        ("{{ link }}", "link is a function"),
        ("{{ link(store) }}", "literal http(s) URL"),
        ("{{ link('javascript:alert(1)') }}", "literal http(s) URL"),
        ("{{ link('https://a.example', 'b') }}", "literal http(s) URL"),
        ("{{ points_balance > 100 }}", "cannot be rendered"),
        ("{{ name | truncate(1) }}", "cannot be rendered"),
        ("{{ name | truncate(-1) }}", "neg is not allowed"),
    ],
)
def test_only_the_small_template_language_is_accepted(body: str, says: str) -> None:
    error = refused(a_template(inbox=ChannelText(body)))
    assert error.field == "texts.inbox.body"
    assert says in error.message


def test_filters_conditions_and_links_are_accepted() -> None:
    body = (
        "{{ title }} {{ surname | upper }}, {% if coupon_code %}code {{ coupon_code }}"
        "{% elif tier == 'gold' %}gold{% else %}{{ name | default('friend') | truncate(10) }}{% endif %} "
        "{{ 'x' if points_balance | int > 100 else 'y' }} {{ link('https://shop.example/a?b=1') }}"
    )
    validate(a_template(inbox=ChannelText(body)))


def test_a_deeply_nested_text_is_refused_not_crashed_on() -> None:
    error = refused(a_template(inbox=ChannelText("{{ " + "(" * 600 + "name" + ")" * 600 + " }}")))
    assert error.field == "texts.inbox.body"


@pytest.mark.parametrize(
    ("template", "field"),
    [
        (replace(a_template(), tenant_id=""), "tenant_id"),
        (replace(a_template(), id=""), "id"),
        (replace(a_template(), id="Birthday"), "id"),
        (replace(a_template(), id="x" * 65), "id"),
        (replace(a_template(), id="a:b"), "id"),
        (replace(a_template(), name=" "), "name"),
        (replace(a_template(), message_class="promo"), "message_class"),  # type: ignore[arg-type]
        (replace(a_template(), texts={}), "texts"),
        (replace(a_template(), texts={"fax": ChannelText("x")}), "texts.fax"),  # type: ignore[dict-item]
        (a_template(inbox=ChannelText("  ")), "texts.inbox.body"),
        (a_template(inbox=ChannelText("x" * 2001)), "texts.inbox.body"),
        (a_template(inbox=ChannelText("Hi", title="A very long title " * 5)), "texts.inbox.title"),
        (a_template(sms=ChannelText("Hi {{ name }}")), "texts.sms.provider_template_id"),
        (a_template(wechat=ChannelText("thing1: {{ name }}")), "texts.wechat.provider_template_id"),
        (a_template(inbox=ChannelText("Hi", provider_template_id="a b")), "texts.inbox.provider_template_id"),
        (replace(a_template(), script="Call {{ surnam }}"), "script"),
        (replace(a_template(), task_due_hours=0), "task_due_hours"),
        (replace(a_template(), task_due_hours=721), "task_due_hours"),
    ],
)
def test_each_mistake_names_its_field(template: Template, field: str) -> None:
    assert refused(template).field == field


def test_wechat_text_is_key_value_lines_with_distinct_keys() -> None:
    ok = ChannelText(
        "thing1: {{ name }}, your gift is ready\n\ntime2: {{ coupon_expiry }}", provider_template_id="wx1"
    )
    validate(a_template(wechat=ok))
    prose = refused(a_template(wechat=replace(ok, body="Hello {{ name }}, your gift is ready")))
    assert (prose.field, prose.message[:7]) == ("texts.wechat.body", "line 1:")
    twice = refused(a_template(wechat=replace(ok, body="thing1: {{ name }}\nthing1: {{ store }}")))
    assert "line 2: the field thing1 is given twice" in twice.message


def test_an_sms_over_the_segment_limit_is_refused_counting_variables_and_the_footer() -> None:
    # 4 Chinese segments are 268 characters: 257 of text and a store name (12) are over.
    long_chinese = "您" * 257 + "{{ store }}"
    error = refused(a_template(sms=sms(long_chinese)))
    assert error.field == "texts.sms.body"
    assert "5 segments" in error.message
    fits = "您" * 260
    validate(a_template(sms=sms(fits)))
    # As marketing it also carries " 回T退订" (5 characters): 264 + 5 is over.
    validate(a_template("marketing", sms=sms("您" * 263)))
    marketing = refused(a_template("marketing", sms=sms("您" * 264)))
    assert "unsubscribe footer" in marketing.message


def test_the_longest_branch_of_an_sms_is_what_is_measured() -> None:
    short, long = "a" * 10, "b" * (153 * MAX_SMS_SEGMENTS + 1)
    error = refused(a_template(sms=sms(f"{{% if name %}}{short}{{% else %}}{long}{{% endif %}}")))
    assert error.field == "texts.sms.body"


# --- SMS segments ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # an extension character counts two
        ("€" * 81, 2),
        ("中" * 70, 1),
        ("中" * 71, 2),
        ("中" * 134, 2),
        ("中" * 135, 3),
        ("a" * 69 + "é", 1),  # é is GSM-7
        ("a" * 69 + "ł", 1),  # ł is not: UCS-2, 70 fit
        ("a" * 70 + "ł", 2),
        ("😀" * 35, 1),  # two UTF-16 units each
        ("😀" * 36, 2),
    ],
)
def test_sms_segments_follow_gsm7_and_ucs2(text: str, segments: int) -> None:
    assert sms_segments(text) == segments


# --- Rendering ---------------------------------------------------------------------------------


def test_render_fills_variables_and_tracks_links_once_per_url() -> None:
    calls: list[str] = []

    def link(url: str) -> str:
        calls.append(url)
        return "https://r.example/r/tok1"

    t = validate(
        a_template(
            inbox=ChannelText(
                "{{ title }} {{ surname }}, see {{ link('https://shop.example/gift') }} "
                "(again: {{ link('https://shop.example/gift') }})",
                title="Gift for {{ name }}",
            )
        )
    )
    out = render(t, Channel.INBOX, WANG, link)
    assert out.title == "Gift for Li"
    assert out.body == "Ms Wang, see https://r.example/r/tok1 (again: https://r.example/r/tok1)"
    assert calls == ["https://shop.example/gift"]


def test_a_missing_variable_renders_empty_and_default_fills_it() -> None:
    t = validate(a_template(inbox=ChannelText("Hi {{ name | default('friend') }}{{ coupon_code }}!")))
    assert render(t, Channel.INBOX, {}, track).body == "Hi friend!"
    assert render(t, Channel.INBOX, {"name": "", "coupon_code": "X"}, track).body == "Hi friendX!"


def test_render_does_not_interpret_values_or_escape_them() -> None:
    t = validate(a_template(inbox=ChannelText("Hi {{ name }}")))
    out = render(t, Channel.INBOX, {"name": "{{ 7 * 7 }} & <b>"}, track)
    assert out.body == "Hi {{ 7 * 7 }} & <b>"


def test_sms_data_holds_the_variables_in_order_of_first_appearance_and_links() -> None:
    t = validate(
        a_template(
            sms=sms(
                "{{ surname }}{{ title }}，您的礼物在{{ store }}：{{ link('https://a.example/x') }} "
                "{{ surname }} {{ link('https://a.example/y') }}"
            )
        )
    )
    out = render(t, Channel.SMS, WANG, track)
    assert list(out.data.items()) == [
        ("surname", "Wang"),
        ("title", "Ms"),
        ("store", "Jing'an"),
        ("link", track("https://a.example/x")),
        ("link_2", track("https://a.example/y")),
    ]


def test_a_marketing_sms_gets_the_unsubscribe_footer_in_the_texts_language_once() -> None:
    english = validate(a_template("marketing", sms=sms("{{ name }}, 20% off this weekend")))
    assert render(english, Channel.SMS, WANG, track).body == "Li, 20% off this weekend Reply T to unsubscribe"
    chinese = validate(a_template("marketing", sms=sms("{{ name }}，周末八折")))
    assert render(chinese, Channel.SMS, WANG, track).body == "Li，周末八折 回T退订"
    already = validate(a_template("marketing", sms=sms("周末八折，回T退订")))
    assert render(already, Channel.SMS, WANG, track).body == "周末八折，回T退订"
    care = validate(a_template("care", sms=sms("{{ name }}, thank you")))
    assert render(care, Channel.SMS, WANG, track).body == "Li, thank you"
    assert UNSUBSCRIBE_FOOTERS == ("回T退订", "Reply T to unsubscribe")


def test_a_marketing_inbox_message_gets_no_footer() -> None:
    t = validate(a_template("marketing", inbox=ChannelText("20% off")))
    assert render(t, Channel.INBOX, {}, track).body == "20% off"


def test_wechat_data_are_the_bodys_fields_and_a_value_cannot_break_a_line() -> None:
    t = validate(
        a_template(
            wechat=ChannelText(
                "thing1: {{ name }}, your gift is ready\ntime2: {{ coupon_expiry }}",
                provider_template_id="wx1",
            )
        )
    )
    out = render(t, Channel.WECHAT, {"name": "Li\nthing9: forged", "coupon_expiry": "2026-12-31"}, track)
    assert out.data == {"thing1": "Li thing9: forged, your gift is ready", "time2": "2026-12-31"}
    assert wechat_data(out.body) == out.data


def test_the_script_renders_with_the_same_variables() -> None:
    t = validate(
        replace(a_template(), script="Call {{ title }} {{ surname }} about {{ link('https://a.example') }}")
    )
    assert render_script(t, WANG) == "Call Ms Wang about https://a.example"
    assert render_script(replace(t, script=""), WANG) == ""


# --- The save use case -------------------------------------------------------------------------


async def test_saving_makes_version_one_then_the_next_with_who_and_when() -> None:
    store = FakeTemplates()
    templates = Templates(store, clock=lambda: T0)
    first = await templates.save(replace(a_template(), version=7), updated_by="api_key:k1")
    assert (first.version, first.updated_at, first.updated_by, first.name) == (
        1,
        T0,
        "api_key:k1",
        "Birthday month",
    )
    second = await templates.save(a_template(inbox=ChannelText("Bye")), updated_by="staff:s1")
    assert (second.version, second.updated_by) == (2, "staff:s1")
    assert await templates.get("acme", "birthday-month") == second


async def test_a_save_that_loses_a_race_is_retried_on_the_newer_version_not_lost() -> None:
    store = FakeTemplates()
    templates = Templates(store, clock=lambda: T0)
    await templates.save(a_template(), updated_by="a")
    store.before_write = [a_template(inbox=ChannelText("Theirs"))]  # lands between our read and write
    mine = await templates.save(a_template(inbox=ChannelText("Mine")), updated_by="b")
    assert mine.version == 3
    assert store.rows[("acme", "birthday-month")].texts[Channel.INBOX].body == "Mine"


async def test_concurrent_first_saves_each_make_a_version() -> None:
    store = FakeTemplates()
    templates = Templates(store, clock=lambda: T0)
    saved = await asyncio.gather(*(templates.save(a_template(), updated_by=f"k{i}") for i in range(3)))
    assert sorted(s.version for s in saved) == [1, 2, 3]


async def test_a_refused_template_saves_nothing() -> None:
    store = FakeTemplates()
    with pytest.raises(InvalidArgument):
        await Templates(store).save(a_template(inbox=ChannelText("{{ nmae }}")), updated_by="a")
    assert store.rows == {}


async def test_an_unknown_template_is_not_found() -> None:
    with pytest.raises(NotFound):
        await Templates(FakeTemplates()).get("acme", "nope")


# --- The gRPC commands -------------------------------------------------------------------------


def commands(store: FakeTemplates) -> TemplateCommands:
    served = TemplateCommands()
    served.serve_templates(Templates(store, clock=lambda: T0), Policies(FakePolicies()))
    return served


def a_template_pb(**changes: object) -> pb.Template:
    message = pb.Template(
        tenant_id="acme",
        id="birthday-month",
        name="Birthday month",
        message_class="care",
        texts={
            "sms": pb.ChannelText(
                body="{{ title }} {{ surname }}, your gift is ready", provider_template_id="S1"
            ),
            "inbox": pb.ChannelText(title="Gift", body="Your gift is ready at {{ store }}"),
        },
        updated_by="api_key:k1",
    )
    for name, value in changes.items():
        setattr(message, name, value)
    return message


async def test_save_get_and_list_over_grpc_round_trip_the_template() -> None:
    store = FakeTemplates()
    served = commands(store)
    saved = await served.SaveTemplate(pb.SaveTemplateRequest(template=a_template_pb()), NO_CONTEXT)
    assert (saved.version, saved.updated_by, saved.task_due_hours) == (1, "api_key:k1", 24)
    assert saved.updated_at.ToDatetime(tzinfo=UTC) == T0
    assert saved.texts["sms"].provider_template_id == "S1"
    got = await served.GetTemplate(
        pb.GetTemplateRequest(tenant_id="acme", template_id="birthday-month"), NO_CONTEXT
    )
    assert got == saved
    listed = await served.ListTemplates(pb.ListTemplatesRequest(tenant_id="acme"), NO_CONTEXT)
    assert list(listed.templates) == [saved]
    other = await served.ListTemplates(pb.ListTemplatesRequest(tenant_id="other"), NO_CONTEXT)
    assert list(other.templates) == []


async def test_grpc_names_a_bad_channel_or_class_and_an_unknown_template_is_not_found() -> None:
    served = commands(FakeTemplates())
    bad = a_template_pb()
    bad.texts["fax"].body = "x"
    with pytest.raises(InvalidArgument) as caught:
        await served.SaveTemplate(pb.SaveTemplateRequest(template=bad), NO_CONTEXT)
    assert caught.value.field == "texts.fax"
    with pytest.raises(InvalidArgument) as caught:
        await served.SaveTemplate(
            pb.SaveTemplateRequest(template=a_template_pb(message_class="promo")), NO_CONTEXT
        )
    assert caught.value.field == "message_class"
    with pytest.raises(NotFound):
        await served.GetTemplate(
            pb.GetTemplateRequest(tenant_id="other", template_id="birthday-month"), NO_CONTEXT
        )


def test_variables_used_are_those_of_every_text_title_and_the_script() -> None:
    t = validate(
        replace(
            a_template(
                sms=sms("{{ name }} {{ link('https://a.example') }}"),
                inbox=ChannelText("{{ coupon_code }}", title="{{ store }}"),
            ),
            script="Call {{ assistant }}",
        )
    )
    assert variables_used(t) == {"name", "coupon_code", "store", "assistant"}
