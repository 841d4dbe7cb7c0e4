"""The programme's gRPC commands: read it, change it, list its versions, preview a cart.

A mixin of MembersServicer (the proto's MembersService declares them), kept apart so the
servicer module stays about members.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc
from regulars.members.v1 import members_pb2

from chassis.errors import NotFound
from services.members.entrypoints import pb_mapping as pb
from services.members.entrypoints import programme_mapping as mapping
from services.members.service.ports import MemberHistory
from services.members.service.programme import Programmes, score_cart

Context = grpc.aio.ServicerContext[Any, Any]


class ProgrammeCommands:
    _programmes: Programmes
    _history: MemberHistory

    async def GetProgramme(
        self, request: members_pb2.GetProgrammeRequest, context: Context
    ) -> members_pb2.ProgrammeVersion:
        return mapping.version_pb(await self._programmes.get(request.tenant_id, request.version))

    async def UpdateProgramme(
        self, request: members_pb2.UpdateProgrammeRequest, context: Context
    ) -> members_pb2.ProgrammeVersion:
        changed = await self._programmes.change_settings(
            request.tenant_id,
            mapping.sections(request.settings, list(request.sections)),
            request.changed_by,
            request.expected_version,
        )
        return mapping.version_pb(changed)

    async def ListProgrammeVersions(
        self, request: members_pb2.ListProgrammeVersionsRequest, context: Context
    ) -> members_pb2.ListProgrammeVersionsResponse:
        versions = await self._programmes.history(request.tenant_id, request.limit)
        return members_pb2.ListProgrammeVersionsResponse(versions=[mapping.version_pb(v) for v in versions])

    async def PutEarningRule(
        self, request: members_pb2.PutEarningRuleRequest, context: Context
    ) -> members_pb2.ProgrammeVersion:
        changed = await self._programmes.put_rule(
            request.tenant_id, mapping.plain(request.rule), request.changed_by, request.expected_version
        )
        return mapping.version_pb(changed)

    async def DeleteEarningRule(
        self, request: members_pb2.DeleteEarningRuleRequest, context: Context
    ) -> members_pb2.ProgrammeVersion:
        changed = await self._programmes.delete_rule(
            request.tenant_id, request.rule_id, request.changed_by, request.expected_version
        )
        return mapping.version_pb(changed)

    async def PreviewEarning(
        self, request: members_pb2.PreviewEarningRequest, context: Context
    ) -> members_pb2.EarningPreview:
        found = await self._history.read(request.tenant_id, request.member_id, request.store_id.strip())
        if found is None:
            raise NotFound(f"member {request.member_id} not found")
        member, facts = found
        at = request.at.ToDatetime(tzinfo=UTC) if request.HasField("at") else datetime.now(UTC)
        version = await self._programmes.current(request.tenant_id)
        lines = pb.purchase_lines(request.lines)
        payments = pb.payments(request.payments)
        scored = score_cart(version, facts, request.store_id, lines, payments, at)
        return members_pb2.EarningPreview(
            programme_version=version.version,
            points=scored.total,
            shares=mapping.shares_pb(scored),
            tier=member.tier or version.programme.ladder.names[0],
        )
