"""The members service as messaging sees it: a member's phone number when an SMS goes (it is
not copied into messaging), the member's profile and consent the first time messaging meets a
member before their events, and the names of stores and assistants that greetings mention.
Transport errors become domain errors here."""

from __future__ import annotations

from typing import Any

import grpc
from regulars.members.v1 import members_pb2, members_pb2_grpc

from chassis.errors import NotFound
from chassis.grpc_client import LazyStub, call_error
from services.messaging.domain.contacts import Contact

CALL_SECONDS = 3.0


class MembersClient:
    def __init__(self, address: str) -> None:
        self._stub: LazyStub[Any] = LazyStub(address, members_pb2_grpc.MembersServiceStub)

    async def close(self) -> None:
        await self._stub.close()

    async def _call(self, method: str, request: Any) -> Any:
        try:
            return await getattr(self._stub(), method)(request, timeout=CALL_SECONDS)
        except grpc.aio.AioRpcError as exc:
            raise call_error(exc, "members", missing="not found") from exc

    async def _member(self, tenant_id: str, member_id: str) -> Any | None:
        try:
            return await self._call(
                "GetMember", members_pb2.GetMemberRequest(tenant_id=tenant_id, member_id=member_id)
            )
        except NotFound:
            return None

    async def phone(self, tenant_id: str, member_id: str) -> str:
        m = await self._member(tenant_id, member_id)
        return str(m.phone) if m is not None else ""

    async def contact(self, tenant_id: str, member_id: str) -> Contact | None:
        m = await self._member(tenant_id, member_id)
        if m is None:
            return None
        return Contact(
            tenant_id=tenant_id,
            member_id=member_id,
            name=m.name,
            surname=m.surname,
            gender=m.gender,
            consent=dict(m.consent),
            preferred_channel=m.preferred_channel,
            owner_staff_id=m.owner_staff_id,
            home_store_id=m.home_store_id,
            tier=m.tier,
        )

    async def staff_name(self, tenant_id: str, staff_id: str) -> str:
        try:
            s = await self._call(
                "GetStaff", members_pb2.GetStaffRequest(tenant_id=tenant_id, staff_id=staff_id)
            )
        except NotFound:
            return ""
        return str(s.name)

    async def store_name(self, tenant_id: str, store_id: str) -> str:
        stores = await self._call("ListStores", members_pb2.ListStoresRequest(tenant_id=tenant_id))
        return next((str(s.name) for s in stores.stores if s.code == store_id), "")
