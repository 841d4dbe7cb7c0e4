"""Message templates: per-channel text with variables, checked when saved, rendered sandboxed.

(The shape is fixed here; validation and rendering are filled in by the templates work.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from services.messaging.domain.channels import Channel, MessageClass


@dataclass(frozen=True)
class ChannelText:
    body: str
    title: str = ""
    provider_template_id: str = ""  # WeChat's subscribe-message template id


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
    data: dict[str, str] = field(default_factory=dict)


def variables_used(template: Template) -> frozenset[str]:
    """Every variable any of the template's texts mentions."""
    return frozenset()


def render(
    template: Template, channel: Channel, variables: Mapping[str, str], link: Callable[[str], str]
) -> Rendered:
    """The channel's text with the variables filled in; `link(url)` gives a tracked link."""
    text = template.texts[channel]
    return Rendered(title=text.title, body=text.body)
