"""Templates and coupons as MongoDB documents: the only place that knows their stored shape."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import timedelta
from typing import Any

from chassis.mongo import Document
from services.coupons.domain.budget import GiveBack
from services.coupons.domain.coupons import Coupon, CouponState, Redemption, Source
from services.coupons.domain.keys import Places
from services.coupons.domain.templates import (
    Audience,
    AudienceKind,
    Benefit,
    CouponKind,
    Limits,
    Period,
    Scope,
    Template,
    TemplateState,
    Terms,
)
from services.coupons.domain.validity import Until, Validity


def benefit_doc(b: Benefit) -> Document:
    return asdict(b) | {"kind": b.kind.value}


def benefit_from(d: Document) -> Benefit:
    return Benefit(**(d | {"kind": CouponKind(d["kind"])}))


def scope_doc(s: Scope) -> Document:
    return {f.name: list(getattr(s, f.name)) for f in fields(s)}


def scope_from(d: Document) -> Scope:
    return Scope(**{k: tuple(v) for k, v in d.items()})


def validity_doc(v: Validity) -> Document:
    return {
        "starts_at": v.starts_at,
        "ends_at": v.ends_at,
        "duration_seconds": int(v.duration.total_seconds()) if v.duration else 0,
        "until_end_of": v.until_end_of.value,
    }


def validity_from(d: Document) -> Validity:
    seconds = d.get("duration_seconds", 0)
    return Validity(
        starts_at=d.get("starts_at"),
        ends_at=d.get("ends_at"),
        duration=timedelta(seconds=seconds) if seconds else None,
        until_end_of=Until(d.get("until_end_of", "")),
    )


def terms_doc(t: Terms) -> Document:
    return {
        "template_id": t.template_id,
        "template_version": t.template_version,
        "name": t.name,
        "benefit": benefit_doc(t.benefit),
        "scope": scope_doc(t.scope),
        "stackable": t.stackable,
        "shareable": t.shareable,
    }


def terms_from(d: Document) -> Terms:
    return Terms(
        template_id=d["template_id"],
        template_version=d["template_version"],
        name=d["name"],
        benefit=benefit_from(d["benefit"]),
        scope=scope_from(d["scope"]),
        stackable=d["stackable"],
        shareable=d["shareable"],
    )


def template_doc(t: Template, stays_spent_on_refund: bool) -> Document:
    return {
        "_id": t.id,
        "tenant_id": t.tenant_id,
        "name": t.name,
        "description": t.description,
        "benefit": benefit_doc(t.benefit),
        "scope": scope_doc(t.scope),
        "validity": validity_doc(t.validity),
        "limits": asdict(t.limits) | {"period": t.limits.period.value},
        "audience": {
            "kind": t.audience.kind.value,
            "tiers": list(t.audience.tiers),
            "segment_id": t.audience.segment_id,
        },
        "claimable": t.claimable,
        "shareable": t.shareable,
        "stackable": t.stackable,
        "state": t.state.value,
        "created_at": t.created_at,
        "version": t.version,
        "stays_spent_on_refund": stays_spent_on_refund,
    }


def template_from(d: Document) -> Template:
    a = d["audience"]
    return Template(
        id=d["_id"],
        tenant_id=d["tenant_id"],
        name=d["name"],
        description=d.get("description", ""),
        benefit=benefit_from(d["benefit"]),
        scope=scope_from(d["scope"]),
        validity=validity_from(d["validity"]),
        limits=Limits(**(d["limits"] | {"period": Period(d["limits"]["period"])})),
        audience=Audience(AudienceKind(a["kind"]), tuple(a["tiers"]), a["segment_id"]),
        claimable=d["claimable"],
        shareable=d["shareable"],
        stackable=d["stackable"],
        state=TemplateState(d["state"]),
        created_at=d["created_at"],
        version=d["version"],
    )


def coupon_doc(c: Coupon, places: Places) -> Document:
    """`places` are the coupon's stock number and limit slots, each unique in the template."""
    return {
        "_id": c.id,
        "tenant_id": c.tenant_id,
        "member_id": c.member_id,
        "code": c.code,
        "template_id": c.terms.template_id,
        "terms": terms_doc(c.terms),
        "state": c.state.value,
        "valid_from": c.valid_from,
        "valid_until": c.valid_until,
        "issued_at": c.issued_at,
        "source": c.source.value,
        "source_ref": c.source_ref,
        "shared_from": c.shared_from,
        "stock_no": places.stock_no,
        "member_slot": places.member_slot,
        "period_slot": places.period_slot,
    }


def coupon_from(d: Document) -> Coupon:
    r = d.get("redemption")
    return Coupon(
        id=d["_id"],
        tenant_id=d["tenant_id"],
        member_id=d["member_id"],
        code=d["code"],
        terms=terms_from(d["terms"]),
        state=CouponState(d["state"]),
        valid_from=d["valid_from"],
        valid_until=d["valid_until"],
        issued_at=d["issued_at"],
        source=Source(d["source"]),
        source_ref=d.get("source_ref", ""),
        checkout_id=(d.get("lock") or {}).get("checkout_id", ""),
        lock_expires_at=(d.get("lock") or {}).get("until"),
        redemption=redemption_from(r) if r else None,
        shared_to=d.get("shared_to", ""),
        shared_from=d.get("shared_from", ""),
        budget_to_return=give_back_from(d["budget_to_return"]) if d.get("budget_to_return") else None,
        budget_returned_at=d.get("budget_returned_at"),
    )


def redemption_doc(r: Redemption) -> dict[str, Any]:
    return asdict(r)


def redemption_from(d: Document) -> Redemption:
    """Redemptions stored before budget_charged was kept read as having charged nothing."""
    return Redemption(
        receipt_no=d["receipt_no"],
        store_id=d["store_id"],
        staff_id=d["staff_id"],
        discount=d["discount"],
        receipt_total=d["receipt_total"],
        purchase_id=d["purchase_id"],
        at=d["at"],
        refunded_by=d.get("refunded_by", ""),
        budget_charged=int(d.get("budget_charged", 0)),
        budget_charge_id=d.get("budget_charge_id", ""),
    )


def give_back_doc(g: GiveBack) -> Document:
    return asdict(g)


def give_back_from(d: Document) -> GiveBack:
    return GiveBack(d["key"], int(d["amount"]), d["since"], bool(d.get("legacy")))
