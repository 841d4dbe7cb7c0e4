"""Events coupons consumes from members: its projection of members, redemptions from
receipts, rollbacks on refunds, and the triggers of automatic rules.

Handlers are thin (`on` decodes the payload and checks its tenant; then one call) and
idempotent: every effect is keyed by the event or by a state it leaves, so a redelivered
event changes nothing twice.
"""

from __future__ import annotations

from regulars.members.v1 import events_pb2

from chassis.cloudevents import Envelope
from chassis.consumer import Handler, by_event_type, on
from services.coupons.domain.discounts import CartLine
from services.coupons.domain.rules import Trigger
from services.coupons.service.ports import AudienceProjection
from services.coupons.service.rules import RuleEngine
from services.coupons.service.till import Till
from services.coupons.service.wallet import Wallet


def subscriptions(
    audience: AudienceProjection, till: Till, wallet: Wallet, rules: RuleEngine
) -> dict[str, Handler]:
    async def registered(env: Envelope, e: events_pb2.MemberRegistered) -> None:
        await audience.registered(e.tenant_id, e.member_id, e.tier, env.time)
        await rules.on_event(e.tenant_id, Trigger.MEMBER_REGISTERED, env.id, e.member_id, tier=e.tier)

    async def tier_changed(env: Envelope, e: events_pb2.MemberTierChanged) -> None:
        await audience.change(e.tenant_id, e.member_id, {"tier": e.tier})

    async def blacklist_changed(env: Envelope, e: events_pb2.MemberBlacklistChanged) -> None:
        await audience.change(e.tenant_id, e.member_id, {"blacklisted": bool(e.reason)})

    async def erased(env: Envelope, e: events_pb2.MemberErased) -> None:
        await audience.change(e.tenant_id, e.member_id, {"erased": True})

    async def merged(env: Envelope, e: events_pb2.MemberMerged) -> None:
        await wallet.member_merged(e.tenant_id, e.member_id, e.duplicate_id)

    async def purchase_made(env: Envelope, made: events_pb2.PurchaseMade) -> None:
        p = made.purchase
        lines = [
            CartLine(
                ln.sku,
                ln.brand,
                ln.category,
                ln.quantity,
                ln.list_price // max(ln.quantity, 1),  # a unit price for gift benefits
                line_total=ln.list_price,
            )
            for ln in p.lines
        ]
        for code in p.coupon_codes:
            await till.redeem_from_purchase(
                p.tenant_id,
                p.member_id,
                code,
                purchase_id=p.id,
                receipt_no=p.receipt_no,
                store_id=p.store_id,
                staff_id=p.credited_staff_id or p.served_by_staff_id,
                lines=lines,
                total_paid=p.total_paid.minor_units,
            )
        tier = made.tier  # the tier this purchase earned; events before it carried none
        if not tier:
            view = await audience.member(p.tenant_id, p.member_id)
            tier = view.tier if view else ""
        await rules.on_event(
            p.tenant_id, Trigger.PURCHASE_MADE, env.id, p.member_id, spend=p.total_paid.minor_units, tier=tier
        )

    async def refunded(env: Envelope, e: events_pb2.PurchaseRefunded) -> None:
        if not e.complete:
            return  # a coupon comes back when its purchase is refunded in full
        for code in e.coupon_codes:
            await till.roll_back(e.tenant_id, code, e.purchase_id, e.refund_id)

    async def birthday_month(env: Envelope, e: events_pb2.MemberBirthdayMonthStarted) -> None:
        await _fire(Trigger.BIRTHDAY_MONTH_STARTED, env, e.tenant_id, e.member_id)

    async def referral_converted(env: Envelope, e: events_pb2.ReferralConverted) -> None:
        if e.referrer_kind == "member":  # an assistant is thanked by messaging, not with a coupon
            await _fire(Trigger.REFERRAL_CONVERTED, env, e.tenant_id, e.referrer_id)

    async def _fire(trigger: Trigger, env: Envelope, tenant_id: str, member_id: str) -> None:
        view = await audience.member(tenant_id, member_id)
        await rules.on_event(tenant_id, trigger, env.id, member_id, tier=view.tier if view else "")

    return by_event_type(
        on(events_pb2.MemberRegistered, registered),
        on(events_pb2.MemberTierChanged, tier_changed),
        on(events_pb2.MemberBlacklistChanged, blacklist_changed),
        on(events_pb2.MemberErased, erased),
        on(events_pb2.MemberMerged, merged),
        on(events_pb2.PurchaseMade, purchase_made),
        on(events_pb2.PurchaseRefunded, refunded),
        on(events_pb2.MemberBirthdayMonthStarted, birthday_month),
        on(events_pb2.ReferralConverted, referral_converted),
    )
