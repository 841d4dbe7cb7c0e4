"""Purchase use cases: record a till receipt and let its effects follow, exactly once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from chassis.errors import InvalidArgument, NotFound
from services.members.domain import points as pts
from services.members.domain.purchases import Line, RecordedPurchase, parse_purchase
from services.members.service import handlers
from services.members.service.ports import DirectoryRepository, MemberRepository, PurchaseRepository


async def record_purchase(
    *,
    tenant_id: str,
    member_id: str,
    store_id: str,
    receipt_no: str,
    served_by_staff_id: str,
    lines: Sequence[Line],
    coupon_codes: Sequence[str],
    occurred_at: datetime | None,
    currency: str,
    members: MemberRepository,
    directory: DirectoryRepository,
    purchases: PurchaseRepository,
    policy: pts.PointsPolicy,
) -> tuple[RecordedPurchase, bool]:
    """Idempotent on the receipt: the first call records and applies, retries return it.

    Three writes in turn (purchase, ledger entry, member): the gRPC edge runs this under
    chassis.completion.finish, so a caller that gives up does not stop it between two of them;
    a crash can, and `complete_pending` (and members' own purchase_made) then finishes it.
    """
    if occurred_at is None:
        raise InvalidArgument("occurred_at", "occurred_at is required")
    if not member_id:
        raise InvalidArgument("member_id", "member_id is required")
    member = await members.get(tenant_id, member_id)
    if member is None:
        raise NotFound(f"member {member_id} not found")
    owner = (await handlers.with_current_owner(member, directory)).owner_staff_id
    purchase = parse_purchase(
        tenant_id=tenant_id,
        member_id=member.id,
        store_id=store_id,
        receipt_no=receipt_no,
        served_by_staff_id=served_by_staff_id,
        owner_staff_id=owner,
        lines=lines,
        coupon_codes=coupon_codes,
        occurred_at=occurred_at,
        currency=currency,
    )
    birthday = member.profile.birthday
    awarded = pts.points_for_purchase(
        policy, purchase.total_paid, purchase.occurred_at, (birthday[0], birthday[1]) if birthday else None
    )
    recorded, created = await purchases.add(purchase, awarded)
    if created:
        await purchases.apply(recorded)
    return recorded, created


async def complete_pending(
    purchases: PurchaseRepository, now: datetime, grace: timedelta, limit: int = 100
) -> tuple[int, dict[str, Exception]]:
    """Apply purchases recorded more than `grace` ago and still pending: (how many were
    completed, purchase id -> error for those that could not be, to try again next time).

    A purchase is pending from its insert until its member step is done, normally a few
    milliseconds; one pending for longer was cut off by a crash. `apply` is idempotent, so two
    replicas completing the same purchase at once (or with the request itself, or with the
    consumer of purchase_made) count it once. One that fails does not hold up the others.
    """
    stuck = await purchases.pending(now - grace, limit)
    failed: dict[str, Exception] = {}
    for recorded in stuck:
        try:
            await purchases.apply(recorded)
        except Exception as exc:  # the store or contention: it stays pending for the next pass
            failed[recorded.purchase.id] = exc
    return len(stuck) - len(failed), failed
