"""Events messaging subscribes to: CloudEvents type -> thin handler that builds a command."""

from __future__ import annotations

from regulars.members.v1 import events_pb2 as members_events

from chassis.cloudevents import Envelope
from chassis.consumer import Handler, PermanentError, decode
from services.messaging.service import handlers
from services.messaging.service.ports import InboxRepository

MEMBERS_TOPIC = "regulars.members.v1"
MEMBER_REGISTERED = "regulars.members.v1.member_registered"
MEMBER_ERASED = "regulars.members.v1.member_erased"


def subscriptions(repo: InboxRepository) -> dict[str, Handler]:
    async def member_registered(env: Envelope) -> None:
        evt = decode(env, members_events.MemberRegistered)
        if not evt.member_id or evt.tenant_id != env.tenant_id:
            raise PermanentError("member_registered without member_id or with a foreign tenant")
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

    async def member_erased(env: Envelope) -> None:
        evt = decode(env, members_events.MemberErased)
        if not evt.member_id or evt.tenant_id != env.tenant_id:
            raise PermanentError("member_erased without member_id or with a foreign tenant")
        await repo.forget_member(env.tenant_id, evt.member_id)

    return {MEMBER_REGISTERED: member_registered, MEMBER_ERASED: member_erased}
