"""Message templates: per-channel text with variables, checked when saved, rendered sandboxed.

A template is plain text with Jinja2 placeholders (`{{ name }}`, `{% if coupon_code %}…{% endif %}`)
written by a tenant's admin and rendered for every member, so it is held to a small language:
variables of `VARIABLES`, string literals, `~`, `link('https://…')`, the filters of `FILTERS`,
comparisons and `if`/`elif`/`else`. No loops, no assignments, no attribute access, no
arithmetic: a message never needs them, and without them a render is bounded by the text's size
(a loop or `'x' * 10**9` could stall the dispatcher for every tenant). The rendering itself runs
in Jinja2's sandbox, without autoescape (plain text, not HTML), in one environment per process.

Everything that can be wrong is refused at save (`validate`), naming the field: a misspelled
variable, a syntax error with its line, an SMS that would be too long. A render therefore never
raises: a variable without a value at send time renders as empty.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import urlsplit

from jinja2 import Template as Compiled
from jinja2 import TemplateError, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

from chassis.errors import InvalidArgument
from services.messaging.domain.channels import Channel, MessageClass

VARIABLES: frozenset[str] = frozenset(
    {
        "name",
        "surname",
        "title",
        "full_name",
        "store",
        "assistant",
        "coupon_value",
        "coupon_expiry",
        "coupon_code",
        "points_balance",
        "tier",
        "survey_link",
        "case_id",
    }
)
"""What a template may say about the member and the occasion, all strings: `name`, `surname`,
`title` (Ms/Mr, so a greeting can say "Ms Wang"), `full_name`; `store` (the store's name),
`assistant` (the owning assistant's name); `coupon_value`, `coupon_expiry`, `coupon_code` of the
coupon the message is about; `points_balance`, `tier`; `survey_link` (a satisfaction survey's
link); `case_id` (a complaint case). Plus the function `link(url)`: a tracked link to `url`."""

LINK = "link"
FILTERS = frozenset({"default", "d", "upper", "lower", "title", "capitalize", "trim", "truncate", "int"})

# A rendered text is measured (SMS segments, title length) with each variable at this length: a
# typical value, not the longest possible one (a coupon code of 12, a ULID case id of 26...).
ASSUMED_LENGTHS: dict[str, int] = {
    "name": 4,
    "surname": 2,
    "title": 2,
    "full_name": 6,
    "store": 12,
    "assistant": 4,
    "coupon_value": 6,
    "coupon_expiry": 10,
    "coupon_code": 12,
    "points_balance": 6,
    "tier": 8,
    "survey_link": 40,
    "case_id": 26,
}
ASSUMED_LINK_LENGTH = 40  # a tracked short link: https://<gateway>/r/<token>
MAX_SMS_SEGMENTS = 4

UNSUBSCRIBE_FOOTERS = ("回T退订", "Reply T to unsubscribe")  # CJK text, other text
"""Appended to every marketing SMS (the shops' "reply T" rule), unless its text says it already."""

ID_PATTERN = re.compile(r"[a-z0-9_-]{1,64}")
NAME_MAX = 100
TITLE_MAX = 64  # rendered, variables at their assumed lengths
TITLE_SOURCE_MAX = 256
BODY_MAX = 2000
PROVIDER_TEMPLATE_ID_MAX = 128
TASK_DUE_HOURS = (1, 720)
WECHAT_LINE = re.compile(r"\s*([a-z][a-z_]*[0-9]+)\s*:(.*)")  # thing1: …, time2: …
PROVIDER_TEMPLATES = frozenset({Channel.WECHAT, Channel.SMS})  # registered with the provider

_CJK = re.compile(
    r"[\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]"
)
_GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("\f^{}\\[~]|€")  # two septets each (escape + character)


@dataclass(frozen=True)
class ChannelText:
    body: str
    title: str = ""
    provider_template_id: str = ""  # WeChat's subscribe-message template id, the SMS template's id


@dataclass(frozen=True)
class Template:
    tenant_id: str
    id: str
    name: str
    message_class: MessageClass
    texts: dict[Channel, ChannelText] = field(default_factory=dict)
    script: str = ""  # for a staff task: what the assistant could say
    task_due_hours: int = 24
    version: int = 0
    updated_at: datetime | None = None
    updated_by: str = ""


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    # SMS and the rest: each variable's value in order of first appearance in the text (a
    # `link(...)` as "link", "link_2", …), the SMS provider's TemplateParamSet. WeChat: the
    # body's data fields ("thing1" -> "Wang, your gift is ready"), what its API takes.
    data: dict[str, str] = field(default_factory=dict)


def _default(value: object, fallback: object = "", boolean: bool = False) -> object:
    """`default`: the value, or `fallback` when it is empty (every variable is a string, an
    unknown one empty, so "missing" and "empty" are the same here; `boolean`, Jinja2's switch
    for that, is taken and has nothing left to switch)."""
    return value if value else fallback


_ENV = SandboxedEnvironment(
    autoescape=False, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False
)
_ENV.filters["default"] = _ENV.filters["d"] = _default


# --- Saving ------------------------------------------------------------------------------------


def parse_channel(name: str, field_name: str) -> Channel:
    try:
        return Channel(name)
    except ValueError:
        options = ", ".join(c.value for c in Channel)
        raise InvalidArgument(field_name, f"unknown channel {name!r}; one of {options}") from None


def parse_message_class(value: str) -> MessageClass:
    try:
        return MessageClass(value)
    except ValueError:
        options = ", ".join(c.value for c in MessageClass)
        raise InvalidArgument("message_class", f"message_class must be one of {options}") from None


def validate(template: Template) -> Template:
    """The template as it may be saved (names trimmed, channels and class as enums), or
    InvalidArgument naming the field at fault (`texts.sms.body`, `task_due_hours`, …)."""
    if not template.tenant_id:
        raise InvalidArgument("tenant_id", "tenant_id is required")
    if not ID_PATTERN.fullmatch(template.id):
        raise InvalidArgument("id", "id must be 1 to 64 characters of a-z, 0-9, _ and -")
    name = template.name.strip()
    if not name or len(name) > NAME_MAX or not name.isprintable():
        raise InvalidArgument("name", f"name must be 1 to {NAME_MAX} printable characters")
    message_class = parse_message_class(template.message_class)
    if not template.texts:
        raise InvalidArgument("texts", "give the text of at least one channel")
    texts: dict[Channel, ChannelText] = {}
    for key, text in template.texts.items():
        channel = parse_channel(key, f"texts.{key}")
        texts[channel] = _checked_text(channel, text, message_class)
    if template.script:
        _checked_source(template.script, "script", BODY_MAX)
    low, high = TASK_DUE_HOURS
    if not low <= template.task_due_hours <= high:
        raise InvalidArgument("task_due_hours", f"task_due_hours must be between {low} and {high}")
    return replace(template, name=name, message_class=message_class, texts=texts)


def _checked_text(channel: Channel, text: ChannelText, message_class: MessageClass) -> ChannelText:
    where = f"texts.{channel.value}"
    if not text.body.strip():
        raise InvalidArgument(f"{where}.body", f"{where}.body is empty")
    body = _checked_source(text.body, f"{where}.body", BODY_MAX)
    if text.title:
        title = _checked_source(text.title, f"{where}.title", TITLE_SOURCE_MAX)
        if len(_longest(title)) > TITLE_MAX:
            raise InvalidArgument(
                f"{where}.title", f"{where}.title is longer than {TITLE_MAX} characters once filled in"
            )
    template_id = text.provider_template_id.strip()
    if channel in PROVIDER_TEMPLATES and not template_id:
        raise InvalidArgument(
            f"{where}.provider_template_id",
            f"{channel.value} needs the template id registered with the provider",
        )
    if len(template_id) > PROVIDER_TEMPLATE_ID_MAX or any(
        c.isspace() or not c.isprintable() for c in template_id
    ):
        raise InvalidArgument(f"{where}.provider_template_id", "provider_template_id is not a template id")
    if channel is Channel.WECHAT:
        _check_wechat_lines(text.body, f"{where}.body")
    if channel is Channel.SMS:
        longest = _longest(body)
        if message_class is MessageClass.MARKETING:
            longest = with_unsubscribe_footer(longest)
        segments = sms_segments(longest)
        if segments > MAX_SMS_SEGMENTS:
            raise InvalidArgument(
                f"{where}.body",
                f"the SMS would take {segments} segments (at most {MAX_SMS_SEGMENTS}), counting each "
                "variable at a typical length"
                + (" and the unsubscribe footer" if message_class is MessageClass.MARKETING else ""),
            )
    return replace(text, provider_template_id=template_id)


def _check_wechat_lines(source: str, where: str) -> None:
    """WeChat subscribe messages are data fields, one `key: value` a line (`thing1: …`)."""
    seen: set[str] = set()
    for number, line in enumerate(source.splitlines(), start=1):
        if not line.strip():
            continue
        match = WECHAT_LINE.fullmatch(line)
        if match is None:
            raise InvalidArgument(
                where, f"line {number}: WeChat text is `key: value` lines, e.g. `thing1: {{{{ name }}}}`"
            )
        if match.group(1) in seen:
            raise InvalidArgument(where, f"line {number}: the field {match.group(1)} is given twice")
        seen.add(match.group(1))


def _checked_source(source: str, where: str, max_len: int) -> nodes.Template:
    """The parsed text, or InvalidArgument: too long, a syntax error (with its line), a construct
    outside the template language, an unknown variable, or a text that cannot be rendered."""
    if len(source) > max_len:
        raise InvalidArgument(where, f"{where} is longer than {max_len} characters")
    try:
        tree = _ENV.parse(source)
        for node in _walk(tree):
            _check_node(node, where)
        compiled = _compiled(source)
    except TemplateSyntaxError as exc:
        raise InvalidArgument(where, f"line {exc.lineno}: {exc.message or exc}") from None
    except RecursionError:
        raise InvalidArgument(where, f"{where} is nested too deeply") from None
    except TemplateError as exc:
        raise InvalidArgument(where, f"{where}: {exc}") from None
    # What cannot fail at send time must not fail here either: a render with no values and one
    # with every value tries each construct (a filter's bad argument, text compared to a number).
    for values in ({}, _placeholders()):
        try:
            compiled.render(_context(values, lambda url: url))
        except Exception as exc:  # whatever Jinja2 or a filter raises: refused, never a crash
            raise InvalidArgument(where, f"{where} cannot be rendered: {exc}") from None
    return tree


def _walk(node: nodes.Node) -> Iterator[nodes.Node]:
    """Every node in source order; a link(...) call's own name is not visited (it is the call)."""
    yield node
    children = node.args if isinstance(node, nodes.Call) else node.iter_child_nodes()
    for child in children:
        yield from _walk(child)


_ALLOWED = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Const,
    nodes.Concat,
    nodes.If,
    nodes.CondExpr,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Keyword,  # a filter's named argument: truncate(length=20)
)


def _check_node(node: nodes.Node, where: str) -> None:
    line = f"line {node.lineno}: "
    if isinstance(node, nodes.Name):
        if node.name == LINK:
            raise InvalidArgument(where, f"{line}link is a function: write link('https://…')")
        if node.name not in VARIABLES:
            close = difflib.get_close_matches(node.name, VARIABLES, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            known = ", ".join(sorted(VARIABLES))
            raise InvalidArgument(
                where, f"{line}unknown variable {node.name}{hint}; the variables are {known}"
            )
    elif isinstance(node, nodes.Call):
        if not (isinstance(node.node, nodes.Name) and node.node.name == LINK):
            raise InvalidArgument(where, f"{line}only link('https://…') may be called")
        if (
            node.kwargs
            or node.dyn_args
            or node.dyn_kwargs
            or len(node.args) != 1
            or not _is_url(node.args[0])
        ):
            raise InvalidArgument(
                where, f"{line}link() takes one literal http(s) URL, e.g. link('https://shop.example/gift')"
            )
    elif isinstance(node, nodes.Filter):
        if node.name not in FILTERS or node.dyn_args or node.dyn_kwargs:
            raise InvalidArgument(
                where, f"{line}filter {node.name} is not allowed; use {', '.join(sorted(FILTERS))}"
            )
    elif not isinstance(node, _ALLOWED):
        raise InvalidArgument(
            where,
            f"{line}{type(node).__name__.lower()} is not allowed: a template has variables, link('…'), "
            "filters and if/elif/else",
        )


def _is_url(node: nodes.Node) -> bool:
    if not isinstance(node, nodes.Const) or not isinstance(node.value, str):
        return False
    parts = urlsplit(node.value)
    return (
        parts.scheme in ("http", "https") and bool(parts.netloc) and not any(c.isspace() for c in node.value)
    )


# --- Measuring ---------------------------------------------------------------------------------


def sms_segments(text: str) -> int:
    """How many SMS this text is sent as: GSM-7 text takes 160 characters in one SMS, 153 a part
    when longer (its extension characters ^{}[]~|€\\ count two); any other text (Chinese, emoji)
    goes as UCS-2: 70 characters in one, 67 a part (counted in UTF-16 units)."""
    if all(c in _GSM7 or c in _GSM7_EXTENDED for c in text):
        length, single, part = len(text) + sum(c in _GSM7_EXTENDED for c in text), 160, 153
    else:
        length, single, part = len(text.encode("utf-16-le")) // 2, 70, 67
    return 1 if length <= single else math.ceil(length / part)


def _longest(tree: nodes.Node) -> str:
    """The longest text this template can make with each variable at its assumed length (an
    `if` counts its longest branch), to measure an SMS or a title before any member is known."""
    if isinstance(tree, nodes.TemplateData):
        return tree.data
    if isinstance(tree, nodes.Name):
        return "x" * ASSUMED_LENGTHS.get(tree.name, 0)
    if isinstance(tree, nodes.Call):
        return "x" * ASSUMED_LINK_LENGTH
    if isinstance(tree, nodes.Const):
        return str(tree.value)
    if isinstance(tree, nodes.Filter) and tree.node is not None:
        fallback = tree.args[:1] if tree.name in ("default", "d") else []
        return _widest([_longest(tree.node), *(_longest(arg) for arg in fallback)])
    if isinstance(tree, nodes.If):
        branches = [tree.body, *(e.body for e in tree.elif_), tree.else_]
        return _widest(["".join(_longest(n) for n in body) for body in branches])
    if isinstance(tree, nodes.CondExpr):
        return _widest([_longest(tree.expr1), _longest(tree.expr2) if tree.expr2 else ""])
    if isinstance(tree, nodes.Or | nodes.And):
        return _widest([_longest(tree.left), _longest(tree.right)])
    if isinstance(tree, nodes.Compare | nodes.Not):
        return "False"
    return "".join(_longest(child) for child in tree.iter_child_nodes())


def _widest(texts: list[str]) -> str:
    return max(texts, key=lambda t: (sms_segments(t), len(t)))


def _placeholders() -> dict[str, str]:
    return {name: "x" * ASSUMED_LENGTHS[name] for name in VARIABLES}


# --- Rendering ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=2048)
def _compiled(source: str) -> Compiled:
    """Compiling costs far more than rendering: each distinct text is compiled once a process."""
    return _ENV.from_string(source)


@functools.lru_cache(maxsize=2048)
def _appearances(source: str) -> tuple[tuple[str, str], ...]:
    """("var", name) and ("link", url) in order of first appearance in the text."""
    seen: list[tuple[str, str]] = []
    for node in _walk(_ENV.parse(source)):
        if isinstance(node, nodes.Name):
            item = ("var", node.name)
        elif isinstance(node, nodes.Call) and isinstance(node.args[0], nodes.Const):
            item = ("link", str(node.args[0].value))
        else:
            continue
        if item not in seen:
            seen.append(item)
    return tuple(seen)


def variables_used(template: Template) -> frozenset[str]:
    """Every variable any of the template's texts (bodies, titles, the script) mentions: the
    dispatcher looks up only what is used (a store's or an assistant's name costs a call)."""
    sources = [x for text in template.texts.values() for x in (text.body, text.title)] + [template.script]
    return frozenset(
        name for source in sources if source for kind, name in _appearances(source) if kind == "var"
    )


def _context(values: Mapping[str, str], link: Callable[[str], str]) -> dict[str, object]:
    return {**{name: str(values.get(name) or "") for name in VARIABLES}, LINK: link}


def _fill(source: str, values: Mapping[str, str], link: Callable[[str], str]) -> str:
    return _compiled(source).render(_context(values, link)).strip()


def render(
    template: Template, channel: Channel, variables: Mapping[str, str], link: Callable[[str], str]
) -> Rendered:
    """The channel's text with the variables filled in; `link(url)` gives a tracked link (called
    once per distinct URL). A marketing SMS ends with the unsubscribe footer."""
    text = template.texts[channel]
    values = dict(variables)
    if channel is Channel.WECHAT:  # one data field a line: a value must not break the lines
        values = {k: " ".join(str(v).splitlines()) for k, v in values.items()}
    links: dict[str, str] = {}

    def tracked(url: str) -> str:
        if url not in links:
            links[url] = link(url)
        return links[url]

    body = _fill(text.body, values, tracked)
    title = _fill(text.title, values, tracked) if text.title else ""
    if channel is Channel.SMS and template.message_class is MessageClass.MARKETING:
        body = with_unsubscribe_footer(body)
    if channel is Channel.WECHAT:
        data = wechat_data(body)
    else:
        data = {}
        links_seen = 0
        for kind, name in _appearances(text.body):
            if kind == "var":
                data[name] = str(values.get(name) or "")
            else:
                links_seen += 1
                data[LINK if links_seen == 1 else f"{LINK}_{links_seen}"] = tracked(name)
    return Rendered(title=title, body=body, data=data)


def render_script(template: Template, variables: Mapping[str, str]) -> str:
    """The staff task's script with the variables filled in (a link in it stays the plain URL)."""
    return _fill(template.script, variables, lambda url: url) if template.script else ""


def with_unsubscribe_footer(text: str) -> str:
    """The text ending with how to unsubscribe (in Chinese when the text has CJK characters),
    unless it says so already."""
    if any(footer.casefold() in text.casefold() for footer in UNSUBSCRIBE_FOOTERS):
        return text
    footer = UNSUBSCRIBE_FOOTERS[0] if _CJK.search(text) else UNSUBSCRIBE_FOOTERS[1]
    return f"{text} {footer}"


def wechat_data(body: str) -> dict[str, str]:
    """A rendered WeChat body's data fields: `thing1: Wang, your gift is ready` -> thing1."""
    data: dict[str, str] = {}
    for line in body.splitlines():
        match = WECHAT_LINE.fullmatch(line)
        if match is not None:
            data[match.group(1)] = match.group(2).strip()
    return data
