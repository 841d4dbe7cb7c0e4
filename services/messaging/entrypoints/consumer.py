"""Events messaging subscribes to: CloudEvents type -> thin handler that builds a command."""

from __future__ import annotations

from regulars.members.v1 import events_pb2 as members_events

from chassis.cloudevents import Envelope, topic_of
from chassis.consumer import Handler, PermanentError, by_event_type, on
from services.messaging.service import handlers
from services.messaging.service.ports import InboxRepository

MEMBERS_TOPIC = topic_of(members_events.DESCRIPTOR)


def subscriptions(repo: InboxRepository) -> dict[str, Handler]:
    async def member_registered(env: Envelope, evt: members_events.MemberRegistered) -> None:
        if not evt.member_id:
            raise PermanentError("member_registered without member_id")
        await handlers.on_member_registered(
            handlers.MemberRegistered(
                event_id=env.id,
                tenant_id=env.tenant_id,
                member_id=evt.member_id,
                name=evt.name,
                surname=evt.surname,
                occurred_at=env.time,
            ),
            repo,
        )

    async def member_erased(env: Envelope, evt: members_events.MemberErased) -> None:
        if not evt.member_id:
            raise PermanentError("member_erased without member_id")
        await repo.forget_member(env.tenant_id, evt.member_id)

    return by_event_type(
        on(members_events.MemberRegistered, member_registered),
        on(members_events.MemberErased, member_erased),
    )
