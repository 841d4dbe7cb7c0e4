"""Templates and the messaging policy: protobuf <-> domain.

Names a request gets wrong (a channel, a class, an "HH:MM") are refused here with the field;
the rest is the domain's to judge. The webhook secret is write-only: a policy goes out with
`webhook_secret` = SECRET_SET when one is stored ("" when none), never the secret itself, and
SECRET_SET coming back (a policy read, changed and sent whole) keeps the stored secret.
"""

from __future__ import annotations

from datetime import UTC

from regulars.messaging.v1 import messaging_pb2 as pb

from services.messaging.domain import policy as rules
from services.messaging.domain.policy import CapRule, MessagingPolicy
from services.messaging.domain.templates import ChannelText, Template, parse_channel, parse_message_class

SECRET_SET = "set"  # not a secret (no whsec_ prefix), so never mistaken for one
DEFAULT_TASK_DUE_HOURS = 24  # what an unset (0) task_due_hours means


def template_from_pb(t: pb.Template) -> Template:
    return Template(
        tenant_id=t.tenant_id,
        id=t.id,
        name=t.name,
        message_class=parse_message_class(t.message_class),
        texts={
            parse_channel(channel, f"texts.{channel}"): ChannelText(
                body=x.body, title=x.title, provider_template_id=x.provider_template_id
            )
            for channel, x in t.texts.items()
        },
        script=t.script,
        task_due_hours=t.task_due_hours or DEFAULT_TASK_DUE_HOURS,
        version=t.version,
        updated_by=t.updated_by,
    )


def template_pb(t: Template) -> pb.Template:
    out = pb.Template(
        tenant_id=t.tenant_id,
        id=t.id,
        name=t.name,
        message_class=t.message_class.value,
        texts={
            channel.value: pb.ChannelText(
                title=x.title, body=x.body, provider_template_id=x.provider_template_id
            )
            for channel, x in t.texts.items()
        },
        version=t.version,
        updated_by=t.updated_by,
        script=t.script,
        task_due_hours=t.task_due_hours,
    )
    if t.updated_at is not None:
        out.updated_at.FromDatetime(t.updated_at.astimezone(UTC))
    return out


def policy_pb(p: MessagingPolicy) -> pb.MessagingPolicy:
    return pb.MessagingPolicy(
        tenant_id=p.tenant_id,
        caps=[pb.CapRule(message_class=c.message_class, period=c.period, limit=c.limit) for c in p.caps],
        quiet_start=rules.format_hhmm(p.quiet_start),
        quiet_end=rules.format_hhmm(p.quiet_end),
        time_zone=p.time_zone,
        fallback={
            key: pb.ChannelOrder(channels=[c.value for c in channels]) for key, channels in p.fallback.items()
        },
        attribution_hours=p.attribution_hours,
        max_attempts=p.max_attempts,
        webhook_url=p.webhook_url,
        webhook_secret=SECRET_SET if p.webhook_secret else "",
        version=p.version,
        updated_by=p.updated_by,
    )


def policy_change(request: pb.UpdateMessagingPolicyRequest) -> tuple[MessagingPolicy, frozenset[str]]:
    """The policy the request sends and the names of the fields it changes (all when it names
    none); a webhook_secret of SECRET_SET is not a change of the secret."""
    p = request.policy
    names = frozenset(request.fields) or rules.SETTINGS
    if p.webhook_secret == SECRET_SET:
        names = names - {"webhook_secret"}
    change = MessagingPolicy(
        tenant_id=p.tenant_id,
        caps=tuple(CapRule(c.message_class, c.period, c.limit) for c in p.caps),
        quiet_start=rules.parse_hhmm(p.quiet_start, "quiet_start"),
        quiet_end=rules.parse_hhmm(p.quiet_end, "quiet_end"),
        time_zone=p.time_zone,
        fallback={
            key: rules.parse_channels(order.channels, rules.fallback_field(key))
            for key, order in p.fallback.items()
        },
        attribution_hours=p.attribution_hours,
        max_attempts=p.max_attempts,
        webhook_url=p.webhook_url,
        webhook_secret=p.webhook_secret,
    )
    return change, names
