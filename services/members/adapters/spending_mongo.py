"""A member document as domain.spending sees it, and the one update that stores a judged change.

Purchases, refunds, merges and the nightly tier review all write a member's spending this way:
read the member, `spending.judge` the change, and write in ONE update the change's increments
(`$inc`, `$max`, `$min`), the judged fields (`$set`: trailing spend, discount share, tier,
referral conversion), the caller's markers and the events (outbox). The update goes through
chassis.mongo.update_versioned, so it applies only if the member's `_v` is still the one read:
a judgement made on a stale read is never stored, it is made again. Every other write of the
fields judged from (balance, statistics, tier, erased/merged state) bumps `_v` too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from chassis import outbox
from chassis.mongo import Document, update_versioned
from services.members.adapters import events, rule_caps_mongo
from services.members.adapters.mongo import MEMBERS, from_doc, in_tenants, marker_key, rule_points
from services.members.domain import earning, spending
from services.members.domain.model import Activity, Member, Referrer
from services.members.domain.programme_versions import Tenants
from services.members.domain.rule_caps import CapHold
from services.members.service.ports import Applied, Judge

MARKER_RETENTION = timedelta(days=30)  # far past Kafka's retention and any completer's delay


class MongoMemberSpending:
    """The spending side of member documents: a judged change stored in one guarded update.

    An effect with an id (a purchase, a refund) leaves `_applied.<key>` on the member in the same
    update, holding the points it moved and when: the effect delivered again finds it and
    changes nothing, and reports the points moved the first time. Markers older than
    MARKER_RETENTION are dropped by the member's next such update, so a member's document holds
    the effects of the last month, not of a lifetime: a purchase or refund replayed after that
    long (no log keeps its event, no completer is that late) is the one case not guarded.
    """

    def __init__(
        self,
        db: AsyncDatabase[Document],
        topic: str,
        out: outbox.Outbox,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._members = db[MEMBERS]
        self._topic = topic
        self._outbox = out
        self._clock = clock

    async def apply(
        self,
        tenant_id: str,
        member_id: str,
        change: spending.SpendChange,
        judge: Judge,
        effect_id: str | None = None,
    ) -> Applied | None:
        now = self._clock()
        key = marker_key(effect_id) if effect_id is not None else None
        judged: spending.Outcome | None = None

        def decide(member: Document) -> Document | None:
            nonlocal judged
            judged = None
            applied: Document = member.get("_applied") or {}
            if key is not None and key in applied:
                return None  # applied before (a replay, or another replica got there first)
            judged = judge(standing(member))
            if judged is None:
                return None
            marks = {f"_applied.{key}": {"points": judged.points, "at": now}} if key is not None else {}
            update = judged_update(
                change,
                judged,
                topic=self._topic,
                tenant_id=tenant_id,
                member_id=member_id,
                at=now,
                marks=marks,
            )
            stale = [k for k, v in applied.items() if _older(v, now - MARKER_RETENTION)]
            if stale:
                update["$unset"] = update.get("$unset", {}) | {f"_applied.{k}": "" for k in stale}
            if change.cap_hold is not None:
                _take_over(update, member, change.cap_hold)
            return update

        member = await update_versioned(self._members, {"_id": member_id, "tenant_id": tenant_id}, decide)
        if member is None:
            return None
        if judged is not None:
            self._outbox.wake()
        return Applied(judged, _points_moved((member.get("_applied") or {}).get(key)) if key else None)

    async def read(
        self, tenant_id: str, member_id: str, store_id: str
    ) -> tuple[Member, earning.MemberFacts] | None:
        doc = await self._members.find_one({"_id": member_id, "tenant_id": tenant_id})
        if doc is None:
            return None
        member = from_doc(doc)
        birthday = member.profile.birthday
        return member, earning.MemberFacts(
            tier=member.tier,
            birthday=(birthday[0], birthday[1]) if birthday else None,
            first_purchase_in_store=store_purchases(doc, store_id) == 0,
            rule_points_given=rule_points(doc),
        )

    async def activity(self, tenant_id: str, member_id: str, store_id: str) -> Activity | None:
        seen = {"registered_at": 1, "stats": 1, "blacklist": 1}
        doc = await self._members.find_one({"_id": member_id, "tenant_id": tenant_id}, seen)
        if doc is None:
            return None
        stats: Document = doc.get("stats") or {}
        return Activity(
            member_id=member_id,
            registered_at=doc["registered_at"],
            purchase_count=int(stats.get("purchase_count", 0)),
            purchases_at_store=store_purchases(doc, store_id) if store_id else 0,
            last_purchase_at=stats.get("last_purchase_at"),
            blacklisted=bool((doc.get("blacklist") or {}).get("reason")),
        )

    def above(self, lowest_tier: str, tenants: Tenants) -> AsyncIterator[tuple[str, str]]:
        """(tenant id, member id) of every member of those tenants, not merged away, above the lowest tier."""
        query = {"tier": {"$nin": ["", lowest_tier]}, "merged_into": {"$exists": False}} | in_tenants(tenants)
        return _ids(self._members.find(query, {"tenant_id": 1}))


def _take_over(update: Document, member: Document, hold: CapHold) -> None:
    """The purchase's member step takes its cap hold over: the hold leaves and its points stay
    counted; a hold no longer there was freed as abandoned (its purchase came later than
    rule_caps.GRACE), so its points are counted now and the counters stay true."""
    mine = rule_caps_mongo.held(member, hold.purchase_id)
    if mine is not None and mine.hold_id == hold.hold_id:
        parts = rule_caps_mongo.dropping(member, hold)
    else:
        parts = {"$inc": {f"rule_points.{marker_key(r)}.points": n for r, n in hold.points.items()}}
    for op, fields in parts.items():
        update[op] = update.get(op, {}) | fields


def _older(marker: Any, than: datetime) -> bool:
    """Whether a marker records its time and is older than `than` (markers written before
    markers kept their time, and merges' own markers, stay)."""
    return isinstance(marker, dict) and isinstance(marker.get("at"), datetime) and marker["at"] < than


def _points_moved(marker: Any) -> int | None:
    """The points an effect moved, from its marker (None when the marker did not keep them)."""
    if isinstance(marker, dict):
        return int(marker.get("points", 0))
    return marker if type(marker) is int else None


async def _ids(cursor: Any) -> AsyncIterator[tuple[str, str]]:
    async for m in cursor:
        yield m["tenant_id"], m["_id"]


def standing(doc: Document) -> spending.Standing:
    stats: Document = doc.get("stats") or {}
    referrer = doc.get("referred_by")
    return spending.Standing(
        tier=doc.get("tier", "") or "",
        points_balance=int(doc.get("points_balance", 0)),
        stats=spending.Stats(
            purchase_count=int(stats.get("purchase_count", 0)),
            total_spend=int(stats.get("total_spend", 0)),
            discounted_count=int(stats.get("discounted_count", 0)),
            spend_by_month={k: int(v) for k, v in (stats.get("spend_by_month") or {}).items()},
            trailing_12m_spend=int(stats.get("trailing_12m_spend", 0)),
            discount_share=float(stats.get("discount_share", 0.0)),
        ),
        referred_by=Referrer(referrer["kind"], referrer["id"], referrer.get("code", ""))
        if referrer
        else None,
        referral_converted=bool(doc.get("referral_converted_at")),
        downgrade_due_at=doc.get("tier_downgrade_due_at"),
    )


def store_purchases(doc: Document, store_id: str) -> int:
    """How many purchases the member made in the store (for "first purchase in a store")."""
    return int(((doc.get("stats") or {}).get("stores") or {}).get(marker_key(store_id), 0))


def judged_update(
    change: spending.SpendChange,
    outcome: spending.Outcome,
    *,
    topic: str,
    tenant_id: str,
    member_id: str,
    at: datetime,
    marks: Document,
) -> Document:
    """The update that stores `change` as judged (`outcome`), with `marks` and the events."""
    inc: dict[str, Any] = {}
    if outcome.points:
        inc["points_balance"] = outcome.points
    if change.purchases or change.spend or change.discounted:
        inc |= {
            "stats.purchase_count": change.purchases,
            "stats.total_spend": change.spend,
            "stats.discounted_count": change.discounted,
        }
    inc |= {f"stats.spend_by_month.{k}": v for k, v in change.spend_by_month.items()}
    inc |= {f"stats.brands.{k}.spend": v for k, v in change.spend_by_brand.items()}
    inc |= {f"stats.categories.{k}.spend": v for k, v in change.spend_by_category.items()}
    inc |= {f"stats.stores.{marker_key(k)}": v for k, v in change.store_purchases.items()}
    inc |= {f"rule_points.{marker_key(k)}.points": v for k, v in outcome.rule_points.items()}
    latest: dict[str, Any] = {f"stats.brands.{k}.last_at": v for k, v in change.brand_last_at.items()}
    latest |= {f"stats.categories.{k}.last_at": v for k, v in change.category_last_at.items()}
    if change.last_at is not None:
        latest["stats.last_purchase_at"] = change.last_at
    fields: dict[str, Any] = {
        "stats.trailing_12m_spend": outcome.stats.trailing_12m_spend,
        "stats.discount_share": outcome.stats.discount_share,
        **marks,
    }
    fields |= {f"rule_points.{marker_key(k)}.rule_id": k for k in outcome.rule_points}
    if outcome.tier_changed:
        fields["tier"] = outcome.tier
    unset: dict[str, str] = {}
    if outcome.downgrade_due_at is not None:
        fields["tier_downgrade_due_at"] = outcome.downgrade_due_at
    else:
        unset["tier_downgrade_due_at"] = ""
    if outcome.converts_referral:
        fields["referral_converted_at"] = at  # the first purchase converts the referral, once
    announced = events.spending_facts(tenant_id, member_id, outcome.facts, at)
    if announced:
        fields |= outbox.embed_set(topic, *announced)
    update: dict[str, Any] = {"$set": fields}
    if unset:
        update["$unset"] = unset
    if inc:
        update["$inc"] = inc
    if latest:
        update["$max"] = latest
    if change.first_at is not None:
        update["$min"] = {"stats.first_purchase_at": change.first_at}
    return update
