"""The member's side: their coupons, sharing one to a friend, and following members' changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from chassis.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from services.coupons.domain.codes import new_code, normalise_code
from services.coupons.domain.coupons import Coupon, CouponState, Source, deterministic_id, stored_instant
from services.coupons.domain.keys import unlimited
from services.coupons.service.ports import Added, AudienceProjection, CouponRepository


class Wallet:
    def __init__(
        self,
        coupons: CouponRepository,
        audience: AudienceProjection,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._coupons = coupons
        self._audience = audience
        self._clock = clock

    async def coupons(self, tenant_id: str, member_id: str, states: list[str]) -> list[Coupon]:
        """Newest first. Lapsed coupons the expiry job has not reached yet already show as expired."""
        now = self._clock()
        wanted = set(states)
        stored = {"expired": ["available", "locked", "expired"], "available": ["available", "locked"]}
        query = sorted({s for w in wanted for s in stored.get(w, [w])})
        held = await self._coupons.of_member(tenant_id, member_id, query)
        return [c for c in held if not wanted or c.state_at(now).value in wanted]

    async def share(self, tenant_id: str, code: str, from_member: str, to_member: str) -> Coupon:
        """The friend gets a new coupon with the same terms and expiry; the original is gone.

        The original is marked shared (naming the friend's coupon) with a conditional update
        before the friend's coupon is written; a retry after a crash in between writes the
        friend's coupon then. Sharing the same coupon again returns the friend's coupon.
        """
        if not to_member.strip():
            raise InvalidArgument("to_member_id", "to_member_id is required")
        if to_member == from_member:
            raise InvalidArgument("to_member_id", "a coupon cannot be shared with its holder")
        found = await self._coupons.by_code(tenant_id, normalise_code(code))
        if found is None or found.member_id != from_member:
            raise NotFound("no coupon has this code")
        friend = await self._audience.member(tenant_id, to_member)
        # Unknown here is fine (the gateway asked members; our copy may lag a fresh enrolment).
        if friend is not None and friend.gone:
            raise NotFound(f"member {to_member} not found")
        if friend is not None and friend.blacklisted:
            raise FailedPrecondition("this member cannot receive coupons")
        friend_id = deterministic_id(tenant_id, found.id, Source.SHARE.value, to_member)
        c = await self._coupons.get(tenant_id, found.id)
        assert c is not None
        if c.state is CouponState.SHARED:
            if c.shared_to != friend_id:
                raise FailedPrecondition("the coupon was already given to someone else")
        else:
            if not c.terms.shareable:
                raise FailedPrecondition("this coupon cannot be shared")
            state = c.state_at(self._clock())
            if state is not CouponState.AVAILABLE:
                raise FailedPrecondition(f"only an unused, valid coupon can be shared (it is {state})")
            if await self._coupons.mark_shared(c, friend_id) is None:
                raise FailedPrecondition("the coupon changed meanwhile; try again")
        existing = await self._coupons.get(tenant_id, friend_id)
        if existing is not None:
            return existing
        gift = replace(
            c,
            id=friend_id,
            member_id=to_member,
            code=new_code(),
            state=CouponState.AVAILABLE,
            issued_at=stored_instant(self._clock()),
            source=Source.SHARE,
            source_ref=c.id,
            shared_from=c.id,
            shared_to="",
        )
        for _ in range(3):  # a new code again in the unlikely case the first was taken
            added = await self._coupons.add(gift, unlimited(friend_id))
            if added is Added.ADDED:
                return gift
            if added is Added.EXISTS:
                stored = await self._coupons.get(tenant_id, friend_id)
                assert stored is not None
                return stored
            gift = replace(gift, code=new_code())
        raise Unavailable("could not give the coupon a code; try again")

    async def member_merged(self, tenant_id: str, survivor_id: str, duplicate_id: str) -> int:
        """The duplicate's unspent coupons move to the survivor; how many moved."""
        await self._audience.change(tenant_id, duplicate_id, {"merged_into": survivor_id})
        moved = 0
        for c in await self._coupons.of_member(tenant_id, duplicate_id, ["available", "locked"]):
            moved += await self._coupons.reassign(c, survivor_id) is not None
        return moved
