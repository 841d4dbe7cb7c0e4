"""Message template and messaging policy protobuf <-> the gateway's schemas.

A policy goes out with `webhook_secret_set` instead of the secret: the messaging service
answers SECRET_SET ("set") in `webhook_secret` when one is stored, "" when none, never the
secret (services/messaging/entrypoints/template_mapping.py). Empty strings of optional values
(who saved, quiet hours, the webhook) come back as None.
"""

from __future__ import annotations

from regulars.messaging.v1 import messaging_pb2 as pb

from gateway.clients.pb_time import optional_moment
from gateway.schemas.messaging_templates import (
    CapOut,
    ChannelTextOut,
    PolicyChangeBody,
    PolicyOut,
    TemplateBody,
    TemplateOut,
)

SECRET_SET = "set"
# PolicyChangeBody's fields that are fields of the protobuf MessagingPolicy, by the same name.
POLICY_FIELDS = (
    "caps",
    "quiet_start",
    "quiet_end",
    "time_zone",
    "fallback",
    "attribution_hours",
    "max_attempts",
    "webhook_url",
    "webhook_secret",
)


def template_pb(tenant_id: str, template_id: str, body: TemplateBody, by: str) -> pb.Template:
    return pb.Template(
        tenant_id=tenant_id,
        id=template_id,
        name=body.name,
        message_class=body.message_class,
        texts={
            channel: pb.ChannelText(title=x.title, body=x.body, provider_template_id=x.provider_template_id)
            for channel, x in body.texts.items()
        },
        updated_by=by,
        script=body.script,
        task_due_hours=body.task_due_hours,
    )


def template_out(t: pb.Template) -> TemplateOut:
    return TemplateOut(
        id=t.id,
        name=t.name,
        message_class=t.message_class,
        texts={
            channel: ChannelTextOut(title=x.title, body=x.body, provider_template_id=x.provider_template_id)
            for channel, x in t.texts.items()
        },
        script=t.script,
        task_due_hours=t.task_due_hours,
        version=t.version,
        updated_at=optional_moment(t, "updated_at"),
        updated_by=t.updated_by or None,
    )


def policy_change_pb(tenant_id: str, body: PolicyChangeBody, by: str) -> pb.UpdateMessagingPolicyRequest:
    """Only the fields the body sends (not null) change; none sent changes nothing."""
    sent = [name for name in POLICY_FIELDS if getattr(body, name) is not None]
    policy = pb.MessagingPolicy(
        tenant_id=tenant_id,
        caps=[
            pb.CapRule(message_class=c.message_class, period=c.period, limit=c.limit) for c in body.caps or []
        ],
        quiet_start=body.quiet_start or "",
        quiet_end=body.quiet_end or "",
        time_zone=body.time_zone or "",
        fallback={key: pb.ChannelOrder(channels=list(order)) for key, order in (body.fallback or {}).items()},
        attribution_hours=body.attribution_hours or 0,
        max_attempts=body.max_attempts or 0,
        webhook_url=body.webhook_url or "",
        webhook_secret=body.webhook_secret or "",
        version=body.expected_version or 0,
        updated_by=by,
    )
    return pb.UpdateMessagingPolicyRequest(policy=policy, fields=sent)


def policy_out(p: pb.MessagingPolicy) -> PolicyOut:
    return PolicyOut(
        caps=[CapOut(message_class=c.message_class, period=c.period, limit=c.limit) for c in p.caps],
        quiet_start=p.quiet_start or None,
        quiet_end=p.quiet_end or None,
        time_zone=p.time_zone,
        fallback={key: list(order.channels) for key, order in p.fallback.items()},
        attribution_hours=p.attribution_hours,
        max_attempts=p.max_attempts,
        webhook_url=p.webhook_url or None,
        webhook_secret_set=p.webhook_secret == SECRET_SET,
        version=p.version,
        updated_by=p.updated_by or None,
    )
