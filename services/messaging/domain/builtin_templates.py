"""The templates the platform's own reactions use (feedback's survey links, complaint follow-ups
and escalations, thanks for an adopted suggestion) when a tenant has not saved its own under the
same id. They use only channels that need nothing registered with a provider (the inbox, app
push, staff tasks): a tenant that wants SMS or WeChat saves a template with that id and its
registered provider template ids, and it is used instead.
"""

from __future__ import annotations

from services.messaging.domain.channels import Channel, MessageClass
from services.messaging.domain.templates import ChannelText, Template

SURVEY_DUE = "survey_due"
COMPLAINT_FOLLOW_UP = "complaint_follow_up"
COMPLAINT_ESCALATION = "complaint_escalation"
SUGGESTION_THANKS = "suggestion_thanks"
THREAD_ESCALATION = "thread_escalation"

_TEMPLATES = (
    Template(
        tenant_id="",
        id=SURVEY_DUE,
        name="How was your visit?",
        message_class=MessageClass.CARE,
        texts={
            Channel.INBOX: ChannelText(
                title="How was your visit?",
                body=(
                    "Dear {{ full_name }}, thank you for shopping with us. "
                    "Tell us how it went: {{ survey_link }}"
                ),
            ),
            Channel.PUSH: ChannelText(
                title="How was your visit?", body="Tell us how it went: {{ survey_link }}"
            ),
        },
    ),
    Template(
        tenant_id="",
        id=COMPLAINT_FOLLOW_UP,
        name="Complaint follow-up",
        message_class=MessageClass.CARE,
        texts={
            Channel.STAFF_TASK: ChannelText(
                title="Follow up on {{ full_name }}'s complaint {{ case_id }}",
                body=(
                    "Call {{ title }} {{ surname }}: ask whether the remedy put things right, thank "
                    "them for telling us, and note their satisfaction on the case."
                ),
            ),
            Channel.INBOX: ChannelText(
                title="Did we put it right?",
                body="Dear {{ full_name }}, we hope your concern is resolved. Reply to us any time.",
            ),
        },
        task_due_hours=48,
    ),
    Template(
        tenant_id="",
        id=COMPLAINT_ESCALATION,
        name="Complaint past its SLA",
        message_class=MessageClass.TRANSACTIONAL,
        texts={
            Channel.STAFF_TASK: ChannelText(
                title="Complaint {{ case_id }} is past its deadline",
                body="A customer's complaint missed its service deadline: take it over and respond today.",
            )
        },
        task_due_hours=4,
    ),
    Template(
        tenant_id="",
        id=SUGGESTION_THANKS,
        name="Thanks for your suggestion",
        message_class=MessageClass.CARE,
        texts={
            Channel.INBOX: ChannelText(
                title="We took up your suggestion",
                body="Dear {{ full_name }}, thank you: your suggestion is being put into practice.",
            ),
            Channel.PUSH: ChannelText(title="Thank you", body="We took up your suggestion."),
        },
    ),
    Template(
        tenant_id="",
        id=THREAD_ESCALATION,
        name="Question waiting for an answer",
        message_class=MessageClass.TRANSACTIONAL,
        texts={
            Channel.STAFF_TASK: ChannelText(
                title="{{ full_name }} is waiting for an answer",
                body="A member's question or suggestion had no answer in time: reply in the thread today.",
            )
        },
        task_due_hours=4,
    ),
)
BUILTIN: dict[str, Template] = {t.id: t for t in _TEMPLATES}
