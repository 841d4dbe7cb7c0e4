"""The members service as feedback sees it: how long a reviewer has been a member, how often
they bought and whether at the store (the strongest sign against an extortionist), when a store
opened and the cities of the tenant's stores, blacklisting a confirmed extortionist, a points
remedy (once per case: members counts an adjustment once per source) and the points a survey
answer earns (once per survey). Transport errors become domain errors here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc
from regulars.members.v1 import members_pb2, members_pb2_grpc

from chassis.errors import NotFound
from chassis.grpc_client import LazyStub, call_error
from services.feedback.domain.risk import MemberProfile

CALL_SECONDS = 3.0


class MembersClient:
    def __init__(self, address: str) -> None:
        self._stub: LazyStub[Any] = LazyStub(address, members_pb2_grpc.MembersServiceStub)

    async def _call(self, method: str, request: Any) -> Any:
        try:
            return await getattr(self._stub(), method)(request, timeout=CALL_SECONDS)
        except grpc.aio.AioRpcError as exc:
            raise call_error(exc, "members", missing="no such member", refused="members refused") from exc

    async def _activity(self, tenant_id: str, member_id: str, store_id: str) -> Any | None:
        request = members_pb2.GetMemberActivityRequest(
            tenant_id=tenant_id, member_id=member_id, store_id=store_id
        )
        try:
            return await self._call("GetMemberActivity", request)
        except NotFound:
            return None

    async def profile(self, tenant_id: str, member_id: str) -> MemberProfile | None:
        found = await self._activity(tenant_id, member_id, "")
        if found is None:
            return None
        return MemberProfile(
            joined_at=found.registered_at.ToDatetime(tzinfo=UTC),
            purchase_count=int(found.purchase_count),
            blacklisted=bool(found.blacklisted),
        )

    async def purchased_at_store(self, tenant_id: str, member_id: str, store_id: str) -> bool:
        found = await self._activity(tenant_id, member_id, store_id)
        return bool(found and found.purchases_at_store > 0)

    async def store_opened_at(self, tenant_id: str, store_id: str) -> datetime | None:
        stores = await self._call("ListStores", members_pb2.ListStoresRequest(tenant_id=tenant_id))
        for store in stores.stores:
            if store.code == store_id and store.HasField("created_at"):
                return store.created_at.ToDatetime(tzinfo=UTC)  # type: ignore[no-any-return]
        return None

    async def store_cities(self, tenant_id: str) -> frozenset[str]:
        stores = await self._call("ListStores", members_pb2.ListStoresRequest(tenant_id=tenant_id))
        return frozenset(s.city for s in stores.stores if s.city.strip())

    async def blacklist(self, tenant_id: str, member_id: str, reason: str) -> None:
        request = members_pb2.SetBlacklistRequest(tenant_id=tenant_id, member_id=member_id, reason=reason)
        await self._call("SetBlacklist", request)

    async def award_points(self, tenant_id: str, member_id: str, points: int, case_id: str) -> None:
        request = members_pb2.AdjustPointsRequest(
            tenant_id=tenant_id,
            member_id=member_id,
            delta=points,
            reason="manual_adjustment",
            source_id=f"complaint:{case_id}",
        )
        await self._call("AdjustPoints", request)

    async def award_survey_points(self, tenant_id: str, member_id: str, points: int, survey_id: str) -> None:
        request = members_pb2.AdjustPointsRequest(
            tenant_id=tenant_id,
            member_id=member_id,
            delta=points,
            reason="survey_answer",
            source_id=survey_id,
        )
        await self._call("AdjustPoints", request)

    async def close(self) -> None:
        await self._stub.close()
