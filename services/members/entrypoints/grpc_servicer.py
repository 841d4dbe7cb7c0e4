"""MembersService over gRPC: protobuf <-> domain; errors are mapped by the chassis."""

from __future__ import annotations

from typing import Any

import grpc
from regulars.members.v1 import members_pb2, members_pb2_grpc

from services.members.domain.model import Enrolment, Member
from services.members.service import handlers
from services.members.service.ports import MemberRepository

Context = grpc.aio.ServicerContext[Any, Any]


def to_pb(m: Member) -> members_pb2.Member:
    pb = members_pb2.Member(
        id=m.id,
        tenant_id=m.tenant_id,
        phone=m.phone,
        name=m.name,
        surname=m.surname,
        home_store_id=m.home_store_id,
    )
    pb.registered_at.FromDatetime(m.registered_at)
    return pb


class MembersServicer(members_pb2_grpc.MembersServiceServicer):
    def __init__(self, repo: MemberRepository, default_region: str) -> None:
        self._repo = repo
        self._region = default_region

    async def EnrollMember(
        self, request: members_pb2.EnrollMemberRequest, context: Context
    ) -> members_pb2.EnrollMemberResponse:
        cmd = Enrolment.parse(
            tenant_id=request.tenant_id,
            phone=request.phone,
            name=request.name,
            surname=request.surname,
            store_id=request.store_id,
            channel=request.channel,
            default_region=self._region,
        )
        member, created = await handlers.enroll(cmd, self._repo)
        return members_pb2.EnrollMemberResponse(member=to_pb(member), created=created)

    async def FindMemberByPhone(
        self, request: members_pb2.FindMemberByPhoneRequest, context: Context
    ) -> members_pb2.Member:
        member = await handlers.find_by_phone(request.tenant_id, request.phone, self._region, self._repo)
        return to_pb(member)

    async def GetMember(self, request: members_pb2.GetMemberRequest, context: Context) -> members_pb2.Member:
        return to_pb(await handlers.get_member(request.tenant_id, request.member_id, self._repo))
