"""The events members publishes, as protobuf in CloudEvents envelopes (proto owns the schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from regulars.common.v1 import money_pb2
from regulars.members.v1 import events_pb2, members_pb2

from chassis.cloudevents import Envelope, new_event, topic_of
from services.members.domain import calendar, points, spending
from services.members.domain.merge import Merged
from services.members.domain.model import Member
from services.members.domain.privacy import Erasure
from services.members.domain.programme_versions import ProgrammeVersion
from services.members.domain.purchases import Purchase, RecordedPurchase, Refund
from services.members.pb_shapes import purchase_pb

SOURCE = "regulars/members"
TOPIC = topic_of(events_pb2.DESCRIPTOR)


def member_registered(m: Member) -> Envelope:
    payload = events_pb2.MemberRegistered(
        member_id=m.id,
        tenant_id=m.tenant_id,
        name=m.name,
        surname=m.surname,
        home_store_id=m.home_store_id,
        channel=m.channel,
        tier=m.tier,
        referred_by_kind=m.referred_by.kind if m.referred_by else "",
        referred_by_id=m.referred_by.id if m.referred_by else "",
        owner_staff_id=m.owner_staff_id,
    )
    payload.registered_at.FromDatetime(m.registered_at)
    return new_event(
        source=SOURCE,
        tenant_id=m.tenant_id,
        subject=m.id,
        payload=payload,
        time=m.registered_at,
    )


def member_staff_assigned(
    *, tenant_id: str, member_id: str, staff_id: str, previous_staff_id: str, handover_id: str, at: datetime
) -> Envelope:
    payload = events_pb2.MemberStaffAssigned(
        member_id=member_id,
        tenant_id=tenant_id,
        staff_id=staff_id,
        previous_staff_id=previous_staff_id,
        handover_id=handover_id,
    )
    payload.assigned_at.FromDatetime(at)
    return new_event(
        source=SOURCE,
        tenant_id=tenant_id,
        subject=member_id,
        payload=payload,
        time=at,
    )


def purchase_made(recorded: RecordedPurchase, tier: str) -> Envelope:
    p = recorded.purchase
    return new_event(
        source=SOURCE,
        tenant_id=p.tenant_id,
        subject=p.member_id,
        payload=events_pb2.PurchaseMade(purchase=purchase_pb(recorded), tier=tier),
        time=p.occurred_at,
    )


def points_changed(
    *, tenant_id: str, member_id: str, delta: int, balance: int, reason: str, source: str, at: datetime
) -> Envelope:
    payload = events_pb2.PointsChanged(
        member_id=member_id, tenant_id=tenant_id, delta=delta, balance=balance, reason=reason, source=source
    )
    payload.at.FromDatetime(at)
    return new_event(source=SOURCE, tenant_id=tenant_id, subject=member_id, payload=payload, time=at)


def points_adjusted(tenant_id: str, member_id: str, adjustment: points.Adjustment) -> Envelope:
    """points_changed for points moved outside a purchase (domain.points.adjusted)."""
    a = adjustment
    return points_changed(
        tenant_id=tenant_id,
        member_id=member_id,
        delta=a.delta,
        balance=a.balance,
        reason=a.reason.value,
        source=a.source,
        at=a.at,
    )


def member_tier_changed(
    *, tenant_id: str, member_id: str, previous: str, tier: str, trailing: int, at: datetime
) -> Envelope:
    payload = events_pb2.MemberTierChanged(
        member_id=member_id,
        tenant_id=tenant_id,
        previous_tier=previous,
        tier=tier,
        trailing_12m_spend=trailing,
    )
    payload.at.FromDatetime(at)
    return new_event(
        source=SOURCE,
        tenant_id=tenant_id,
        subject=member_id,
        payload=payload,
        time=at,
    )


def purchase_refunded(p: Purchase, refund: Refund, points_reversed: int, complete: bool) -> Envelope:
    payload = events_pb2.PurchaseRefunded(
        member_id=p.member_id,
        tenant_id=p.tenant_id,
        purchase_id=p.id,
        refund_id=refund.id,
        lines=[
            members_pb2.RefundLine(sku=ln.sku, quantity=ln.quantity, amount=ln.amount) for ln in refund.lines
        ],
        amount=money_pb2.Money(currency=p.currency, minor_units=refund.amount),
        points_reversed=points_reversed,
        coupon_codes=list(p.coupon_codes),
        complete=complete,
    )
    payload.occurred_at.FromDatetime(refund.occurred_at)
    return new_event(
        source=SOURCE,
        tenant_id=p.tenant_id,
        subject=p.member_id,
        payload=payload,
        time=refund.occurred_at,
    )


def member_consent_changed(
    *, tenant_id: str, member_id: str, channel: str, granted: bool, source: str, at: datetime
) -> Envelope:
    payload = events_pb2.MemberConsentChanged(
        member_id=member_id, tenant_id=tenant_id, channel=channel, granted=granted, source=source
    )
    payload.at.FromDatetime(at)
    return new_event(
        source=SOURCE,
        tenant_id=tenant_id,
        subject=member_id,
        payload=payload,
        time=at,
    )


def calendar_notice(n: calendar.Notice) -> Envelope:
    """What the daily calendar announces (domain.calendar)."""
    payload: events_pb2.MemberBirthdayMonthStarted | events_pb2.MemberBirthday | events_pb2.MemberDormant
    if isinstance(n, calendar.BirthdayMonthStarted):
        payload = events_pb2.MemberBirthdayMonthStarted(
            member_id=n.member_id, tenant_id=n.tenant_id, month=n.today.month, year=n.today.year
        )
    elif isinstance(n, calendar.Birthday):
        payload = events_pb2.MemberBirthday(
            member_id=n.member_id, tenant_id=n.tenant_id, date=n.today.isoformat()
        )
    else:
        payload = events_pb2.MemberDormant(member_id=n.member_id, tenant_id=n.tenant_id, days=n.days)
        payload.last_purchase_at.FromDatetime(n.last_purchase_at)
    return new_event(source=SOURCE, tenant_id=n.tenant_id, subject=n.member_id, payload=payload)


def member_erased(tenant_id: str, erasure: Erasure) -> Envelope:
    payload = events_pb2.MemberErased(member_id=erasure.member_id, tenant_id=tenant_id)
    payload.at.FromDatetime(erasure.at)
    return new_event(
        source=SOURCE, tenant_id=tenant_id, subject=erasure.member_id, payload=payload, time=erasure.at
    )


def member_merged(tenant_id: str, merged: Merged) -> Envelope:
    payload = events_pb2.MemberMerged(
        member_id=merged.survivor_id,
        tenant_id=tenant_id,
        duplicate_id=merged.duplicate_id,
        points_moved=merged.points_moved,
    )
    payload.at.FromDatetime(merged.at)
    return new_event(
        source=SOURCE, tenant_id=tenant_id, subject=merged.survivor_id, payload=payload, time=merged.at
    )


def referral_converted(
    *, tenant_id: str, member_id: str, referrer_kind: str, referrer_id: str, purchase_id: str, at: datetime
) -> Envelope:
    payload = events_pb2.ReferralConverted(
        member_id=member_id,
        tenant_id=tenant_id,
        referrer_kind=referrer_kind,
        referrer_id=referrer_id,
        purchase_id=purchase_id,
    )
    payload.at.FromDatetime(at)
    return new_event(
        source=SOURCE,
        tenant_id=tenant_id,
        subject=member_id,
        payload=payload,
        time=at,
    )


PROFILE_FIELDS = ("name", "surname", "gender", "preferred_channel")  # what messaging keeps


def member_profile_changed(
    *, tenant_id: str, member_id: str, fields: dict[str, Any], at: datetime
) -> Envelope:
    """The profile fields messaging keeps, those of `fields` that change; None of them: no event."""
    payload = events_pb2.MemberProfileChanged(
        member_id=member_id, tenant_id=tenant_id, **{k: fields[k] for k in PROFILE_FIELDS if k in fields}
    )
    payload.at.FromDatetime(at)
    return new_event(source=SOURCE, tenant_id=tenant_id, subject=member_id, payload=payload, time=at)


def member_blacklist_changed(*, tenant_id: str, member_id: str, reason: str, at: datetime) -> Envelope:
    payload = events_pb2.MemberBlacklistChanged(member_id=member_id, tenant_id=tenant_id, reason=reason)
    payload.at.FromDatetime(at)
    return new_event(
        source=SOURCE,
        tenant_id=tenant_id,
        subject=member_id,
        payload=payload,
        time=at,
    )


def spending_facts(
    tenant_id: str, member_id: str, facts: tuple[spending.Fact, ...], at: datetime
) -> list[Envelope]:
    """The events announcing what a change of spending did to the member (domain.spending)."""
    out: list[Envelope] = []
    for fact in facts:
        if isinstance(fact, spending.Purchased):
            out.append(purchase_made(fact.recorded, fact.tier))
        elif isinstance(fact, spending.PointsChanged):
            out.append(
                points_changed(
                    tenant_id=tenant_id,
                    member_id=member_id,
                    delta=fact.delta,
                    balance=fact.balance,
                    reason=fact.reason,
                    source=fact.source,
                    at=at,
                )
            )
        elif isinstance(fact, spending.TierChanged):
            out.append(
                member_tier_changed(
                    tenant_id=tenant_id,
                    member_id=member_id,
                    previous=fact.previous,
                    tier=fact.tier,
                    trailing=fact.trailing_12m_spend,
                    at=at,
                )
            )
        else:
            out.append(
                referral_converted(
                    tenant_id=tenant_id,
                    member_id=member_id,
                    referrer_kind=fact.referrer.kind,
                    referrer_id=fact.referrer.id,
                    purchase_id=fact.purchase_id,
                    at=at,
                )
            )
    return out


def programme_changed(v: ProgrammeVersion) -> Envelope:
    payload = events_pb2.ProgrammeChanged(
        tenant_id=v.tenant_id, version=v.version, sections=v.sections, changed_by=v.changed_by
    )
    if v.changed_at is not None:
        payload.changed_at.FromDatetime(v.changed_at)
    return new_event(
        source=SOURCE, tenant_id=v.tenant_id, subject=v.tenant_id, payload=payload, time=v.changed_at
    )
