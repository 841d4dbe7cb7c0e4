"""Events messaging subscribes to: CloudEvents type -> thin handler that builds a command.

From members: messaging's view of each member (registered, profile, consent, owner, points,
tier, erased), staff tasks rerouted on member_staff_assigned, and purchase_made for attribution.
From coupons: a claimed coupon (coupon_issued from a claim) for attribution.
From feedback: survey links, complaint follow-ups and escalations, thanks (service/reactions.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from regulars.coupons.v1 import events_pb2 as coupons_events
from regulars.feedback.v1 import events_pb2 as feedback_events
from regulars.members.v1 import events_pb2 as members_events

from chassis.cloudevents import Envelope, topic_of
from chassis.consumer import Handler, PermanentError, by_event_type, on
from services.messaging.domain.contacts import Contact
from services.messaging.service import handlers
from services.messaging.service.members_view import MembersView
from services.messaging.service.reactions import Reactions

MEMBERS_TOPIC = topic_of(members_events.DESCRIPTOR)
COUPONS_TOPIC = topic_of(coupons_events.DESCRIPTOR)
FEEDBACK_TOPIC = topic_of(feedback_events.DESCRIPTOR)
TOPICS = (MEMBERS_TOPIC, COUPONS_TOPIC, FEEDBACK_TOPIC)


class Conversions(Protocol):
    async def purchase_made(
        self, tenant_id: str, member_id: str, purchase_id: str, amount_minor: int, currency: str, at: datetime
    ) -> object: ...

    async def coupon_claimed(
        self, tenant_id: str, member_id: str, coupon_id: str, at: datetime
    ) -> object: ...


def _member(member_id: str, event: str) -> str:
    if not member_id:
        raise PermanentError(f"{event} without member_id")
    return member_id


def _at(ts: object, env: Envelope) -> datetime:
    """The event's own moment when it carries one, else the envelope's time."""
    if getattr(ts, "seconds", 0) or getattr(ts, "nanos", 0):
        return ts.ToDatetime(tzinfo=UTC)  # type: ignore[attr-defined, no-any-return]
    return env.time


def subscriptions(view: MembersView, conversions: Conversions, reactions: Reactions) -> dict[str, Handler]:
    async def member_registered(env: Envelope, evt: members_events.MemberRegistered) -> None:
        member_id = _member(evt.member_id, "member_registered")
        await view.registered(
            handlers.MemberRegistered(
                event_id=env.id,
                tenant_id=env.tenant_id,
                member_id=member_id,
                name=evt.name,
                surname=evt.surname,
                occurred_at=env.time,
            ),
            Contact(
                tenant_id=env.tenant_id,
                member_id=member_id,
                name=evt.name,
                surname=evt.surname,
                home_store_id=evt.home_store_id,
                tier=evt.tier,
                owner_staff_id=evt.owner_staff_id,
            ),
        )

    async def consent_changed(env: Envelope, evt: members_events.MemberConsentChanged) -> None:
        member_id = _member(evt.member_id, "member_consent_changed")
        if not evt.channel:
            raise PermanentError("member_consent_changed without channel")
        await view.consent_changed(env.tenant_id, member_id, evt.channel, evt.granted, _at(evt.at, env))

    async def profile_changed(env: Envelope, evt: members_events.MemberProfileChanged) -> None:
        member_id = _member(evt.member_id, "member_profile_changed")
        fields = {
            f: getattr(evt, f) for f in ("name", "surname", "gender", "preferred_channel") if evt.HasField(f)
        }
        if fields:
            await view.profile_changed(env.tenant_id, member_id, fields, _at(evt.at, env))

    async def staff_assigned(env: Envelope, evt: members_events.MemberStaffAssigned) -> None:
        member_id = _member(evt.member_id, "member_staff_assigned")
        await view.staff_assigned(
            env.tenant_id, member_id, evt.staff_id, evt.previous_staff_id, _at(evt.assigned_at, env)
        )

    async def points_changed(env: Envelope, evt: members_events.PointsChanged) -> None:
        member_id = _member(evt.member_id, "points_changed")
        await view.points_changed(env.tenant_id, member_id, evt.balance, _at(evt.at, env))

    async def tier_changed(env: Envelope, evt: members_events.MemberTierChanged) -> None:
        await view.tier_changed(env.tenant_id, _member(evt.member_id, "member_tier_changed"), evt.tier)

    async def member_erased(env: Envelope, evt: members_events.MemberErased) -> None:
        await view.erased(env.tenant_id, _member(evt.member_id, "member_erased"))

    async def purchase_made(env: Envelope, evt: members_events.PurchaseMade) -> None:
        p = evt.purchase
        await conversions.purchase_made(
            env.tenant_id,
            _member(p.member_id, "purchase_made"),
            p.id,
            p.total_paid.minor_units,
            p.total_paid.currency,
            _at(p.occurred_at, env),
        )

    async def coupon_issued(env: Envelope, evt: coupons_events.CouponIssued) -> None:
        c = evt.coupon
        if c.source == "claim" and c.member_id:
            await conversions.coupon_claimed(env.tenant_id, c.member_id, c.id, _at(c.issued_at, env))

    async def survey_due(env: Envelope, evt: feedback_events.SurveyDue) -> None:
        s = evt.survey
        await reactions.survey_due(
            env.tenant_id, _member(s.member_id, "survey_due"), s.id, s.token, s.store_id, s.staff_id
        )

    async def follow_up_due(env: Envelope, evt: feedback_events.ComplaintFollowUpDue) -> None:
        c = evt.case
        await reactions.complaint_follow_up(
            env.tenant_id,
            _member(c.member_id, "complaint_follow_up_due"),
            c.id,
            c.assigned_store_id or c.store_id,
            c.assigned_staff_id,
        )

    async def complaint_sla_breached(env: Envelope, evt: feedback_events.ComplaintSlaBreached) -> None:
        await reactions.complaint_sla_breached(
            env.tenant_id,
            _member(evt.member_id, "complaint_sla_breached"),
            evt.case_id,
            evt.sla,
            evt.store_id,
        )

    async def thread_sla_breached(env: Envelope, evt: feedback_events.ThreadSlaBreached) -> None:
        await reactions.thread_sla_breached(
            env.tenant_id,
            _member(evt.member_id, "thread_sla_breached"),
            evt.thread_id,
            evt.assigned_store_id or evt.store_id,
            evt.assigned_staff_id,
        )

    async def suggestion_adopted(env: Envelope, evt: feedback_events.SuggestionAdopted) -> None:
        t = evt.thread
        await reactions.suggestion_adopted(
            env.tenant_id, _member(t.member_id, "suggestion_adopted"), t.id, t.assigned_store_id or t.store_id
        )

    return by_event_type(
        on(members_events.MemberRegistered, member_registered),
        on(members_events.MemberConsentChanged, consent_changed),
        on(members_events.MemberProfileChanged, profile_changed),
        on(members_events.MemberStaffAssigned, staff_assigned),
        on(members_events.PointsChanged, points_changed),
        on(members_events.MemberTierChanged, tier_changed),
        on(members_events.MemberErased, member_erased),
        on(members_events.PurchaseMade, purchase_made),
        on(coupons_events.CouponIssued, coupon_issued),
        on(feedback_events.SurveyDue, survey_due),
        on(feedback_events.ComplaintFollowUpDue, follow_up_due),
        on(feedback_events.ComplaintSlaBreached, complaint_sla_breached),
        on(feedback_events.ThreadSlaBreached, thread_sla_breached),
        on(feedback_events.SuggestionAdopted, suggestion_adopted),
    )
