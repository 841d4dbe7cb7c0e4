"""MembersService over gRPC: protobuf <-> domain; errors are mapped by the chassis.

A use case that writes several documents in turn (a purchase, a refund, a points change with
its ledger entry, a consent change with its history, a merge, a referral code) runs under
chassis.completion.finish: a deadline or a client hanging up stops the waiting, not the writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2
from regulars.common.v1 import money_pb2
from regulars.members.v1 import members_pb2, members_pb2_grpc

from chassis.completion import finish
from chassis.errors import InvalidArgument
from services.members.domain.model import Enrolment, Profile
from services.members.domain.purchases import RefundLine
from services.members.entrypoints import pb_mapping as pb
from services.members.entrypoints.programme_commands import ProgrammeCommands
from services.members.pb_shapes import purchase_pb
from services.members.service.calendar import Calendar
from services.members.service.directory import Directory, Handovers
from services.members.service.handlers import Members
from services.members.service.merge import Merges
from services.members.service.points import Points
from services.members.service.ports import MemberHistory
from services.members.service.privacy import Privacy
from services.members.service.profile import Profiles
from services.members.service.programme import Programmes
from services.members.service.purchases import Purchases
from services.members.service.refunds import Refunds
from services.members.service.segments import Segments

Context = grpc.aio.ServicerContext[Any, Any]


class MembersServicer(ProgrammeCommands, members_pb2_grpc.MembersServiceServicer):
    def __init__(
        self,
        *,
        members: Members,
        profiles: Profiles,
        directory: Directory,
        handovers: Handovers,
        purchases: Purchases,
        refunds: Refunds,
        points: Points,
        programmes: Programmes,
        segments: Segments,
        calendar: Calendar,
        privacy: Privacy,
        merges: Merges,
    ) -> None:
        self._members = members
        self._profiles = profiles
        self._directory = directory
        self._handovers = handovers
        self._purchases = purchases
        self._refunds = refunds
        self._points = points
        self._programmes = programmes
        self._segments = segments
        self._calendar = calendar
        self._privacy = privacy
        self._merges = merges
        # The programme's commands (ProgrammeCommands) read a member and their scoring facts
        # through the MemberHistory port; Members serves that read.
        self._history: MemberHistory = members

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
            default_region=self._members.default_region,
            staff_code=request.staff_code,
            owner_staff_id=request.owner_staff_id,
            profile=Profile.parse(
                gender=request.gender,
                birthday=(request.birthday.month, request.birthday.day, request.birthday.year)
                if request.HasField("birthday")
                else None,
                tags=list(request.tags),
                notes=request.notes,
                card_no=request.card_no,
            ),
            openid=request.openid,
            unionid=request.unionid,
            referral_code=request.referral_code,
        )
        member, created = await self._members.enrol(cmd)
        return members_pb2.EnrollMemberResponse(member=pb.member(member), created=created)

    async def FindMemberByPhone(
        self, request: members_pb2.FindMemberByPhoneRequest, context: Context
    ) -> members_pb2.Member:
        return pb.member(await self._members.find_by_phone(request.tenant_id, request.phone))

    async def FindMemberByOpenid(
        self, request: members_pb2.FindMemberByOpenidRequest, context: Context
    ) -> members_pb2.Member:
        return pb.member(await self._members.find_by_openid(request.tenant_id, request.openid))

    async def GetReferralCode(
        self, request: members_pb2.GetReferralCodeRequest, context: Context
    ) -> members_pb2.ReferralCode:
        code = await finish(self._members.referral_code(request.tenant_id, request.member_id))
        return members_pb2.ReferralCode(member_id=request.member_id, code=code)

    async def AdjustPoints(
        self, request: members_pb2.AdjustPointsRequest, context: Context
    ) -> members_pb2.AdjustPointsResponse:
        balance, applied = await finish(
            self._points.adjust(
                request.tenant_id, request.member_id, request.delta, request.reason, request.source_id
            )
        )
        return members_pb2.AdjustPointsResponse(balance=balance, applied=applied)

    async def GetMember(self, request: members_pb2.GetMemberRequest, context: Context) -> members_pb2.Member:
        return pb.member(await self._members.get(request.tenant_id, request.member_id))

    async def GetMemberActivity(
        self, request: members_pb2.GetMemberActivityRequest, context: Context
    ) -> members_pb2.MemberActivity:
        return pb.activity(
            await self._members.activity(request.tenant_id, request.member_id, request.store_id)
        )

    async def UpdateProfile(
        self, request: members_pb2.UpdateProfileRequest, context: Context
    ) -> members_pb2.Member:
        member = await self._profiles.update(
            request.tenant_id,
            request.member_id,
            name=request.name if request.HasField("name") else None,
            surname=request.surname if request.HasField("surname") else None,
            gender=request.gender if request.HasField("gender") else None,
            birthday=(request.birthday.month, request.birthday.day, request.birthday.year)
            if request.HasField("birthday")
            else None,
            tags=list(request.tags) if request.tags or request.replace_tags else None,
            notes=request.notes if request.HasField("notes") else None,
            preferred_channel=request.preferred_channel if request.HasField("preferred_channel") else None,
        )
        return pb.member(member)

    async def SetConsent(
        self, request: members_pb2.SetConsentRequest, context: Context
    ) -> members_pb2.Member:
        member = await finish(
            self._profiles.set_consent(
                request.tenant_id, request.member_id, request.channel, request.granted, request.source
            )
        )
        return pb.member(member)

    async def HandleSmsReply(
        self, request: members_pb2.HandleSmsReplyRequest, context: Context
    ) -> members_pb2.HandleSmsReplyResponse:
        unsubscribed, member_id = await finish(
            self._profiles.handle_sms_reply(request.tenant_id, request.phone, request.text)
        )
        return members_pb2.HandleSmsReplyResponse(unsubscribed=unsubscribed, member_id=member_id)

    async def SetBlacklist(
        self, request: members_pb2.SetBlacklistRequest, context: Context
    ) -> members_pb2.Member:
        member = await self._profiles.set_blacklist(request.tenant_id, request.member_id, request.reason)
        return pb.member(member)

    async def RunCalendarDay(
        self, request: members_pb2.RunCalendarDayRequest, context: Context
    ) -> members_pb2.CalendarDaySummary:
        try:
            day = date.fromisoformat(request.date)
        except ValueError:
            raise InvalidArgument("date", "date must be YYYY-MM-DD") from None
        counts = await self._calendar.run_day(day)
        return members_pb2.CalendarDaySummary(date=day.isoformat(), **counts)

    async def ExportMember(
        self, request: members_pb2.ExportMemberRequest, context: Context
    ) -> members_pb2.MemberExport:
        exported = await self._privacy.export(request.tenant_id, request.member_id)
        return members_pb2.MemberExport(member_id=request.member_id, json=exported)

    async def EraseMember(
        self, request: members_pb2.EraseMemberRequest, context: Context
    ) -> members_pb2.EraseMemberResponse:
        erased = await self._privacy.erase(request.tenant_id, request.member_id, request.reason)
        return members_pb2.EraseMemberResponse(member_id=request.member_id, erased_now=erased)

    async def MergeMembers(
        self, request: members_pb2.MergeMembersRequest, context: Context
    ) -> members_pb2.Member:
        await finish(self._merges.merge(request.tenant_id, request.survivor_id, request.duplicate_id))
        return pb.member(await self._members.get(request.tenant_id, request.survivor_id))

    async def CreateStore(
        self, request: members_pb2.CreateStoreRequest, context: Context
    ) -> members_pb2.Store:
        store = await self._directory.create_store(
            request.tenant_id, request.code, request.name, request.city
        )
        return pb.store(store)

    async def ListStores(
        self, request: members_pb2.ListStoresRequest, context: Context
    ) -> members_pb2.ListStoresResponse:
        stores = await self._directory.list_stores(request.tenant_id)
        return members_pb2.ListStoresResponse(stores=[pb.store(s) for s in stores])

    async def AddStaff(self, request: members_pb2.AddStaffRequest, context: Context) -> members_pb2.Staff:
        role = pb.ROLE_FROM_PB.get(request.role)
        if role is None:
            raise InvalidArgument("role", "role must be assistant or manager")
        return pb.staff(
            await self._directory.add_staff(request.tenant_id, request.store_code, request.name, role)
        )

    async def GetStaff(self, request: members_pb2.GetStaffRequest, context: Context) -> members_pb2.Staff:
        return pb.staff(await self._directory.get_staff(request.tenant_id, request.staff_id))

    async def ListStaff(
        self, request: members_pb2.ListStaffRequest, context: Context
    ) -> members_pb2.ListStaffResponse:
        staff = await self._directory.list_staff(request.tenant_id, request.store_code)
        return members_pb2.ListStaffResponse(staff=[pb.staff(s) for s in staff])

    async def StartHandover(
        self, request: members_pb2.StartHandoverRequest, context: Context
    ) -> members_pb2.Handover:
        handover = await self._handovers.start(
            request.tenant_id, request.from_staff_id, request.to_staff_id, request.requested_by
        )
        return pb.handover(handover)

    async def GetHandover(
        self, request: members_pb2.GetHandoverRequest, context: Context
    ) -> members_pb2.Handover:
        return pb.handover(await self._handovers.get(request.tenant_id, request.handover_id))

    async def RecordPurchase(
        self, request: members_pb2.RecordPurchaseRequest, context: Context
    ) -> members_pb2.RecordPurchaseResponse:
        recorded, created = await finish(
            self._purchases.record(
                tenant_id=request.tenant_id,
                member_id=request.member_id,
                store_id=request.store_id,
                receipt_no=request.receipt_no,
                served_by_staff_id=request.served_by_staff_id,
                lines=pb.purchase_lines(request.lines),
                coupon_codes=list(request.coupon_codes),
                occurred_at=request.occurred_at.ToDatetime(tzinfo=UTC)
                if request.HasField("occurred_at")
                else None,
                currency=request.currency,
                payments=pb.payments(request.payments),
            )
        )
        return members_pb2.RecordPurchaseResponse(purchase=purchase_pb(recorded), created=created)

    async def GetPoints(self, request: members_pb2.GetPointsRequest, context: Context) -> members_pb2.Points:
        statement = await self._points.statement(request.tenant_id, request.member_id)
        return pb.points(request.member_id, statement)

    async def CreateSegment(
        self, request: members_pb2.CreateSegmentRequest, context: Context
    ) -> members_pb2.Segment:
        segment = await self._segments.create(request.tenant_id, request.name, _from_struct(request.criteria))
        return pb.segment(segment)

    async def GetSegment(
        self, request: members_pb2.GetSegmentRequest, context: Context
    ) -> members_pb2.Segment:
        return pb.segment(await self._segments.get(request.tenant_id, request.segment_id))

    async def PreviewSegment(
        self, request: members_pb2.PreviewSegmentRequest, context: Context
    ) -> members_pb2.SegmentPreview:
        count, sample = await self._segments.preview(
            request.tenant_id, request.segment_id, _criteria(request), request.sample_size
        )
        return members_pb2.SegmentPreview(count=count, sample=[pb.member(m) for m in sample])

    async def StreamSegmentMembers(
        self, request: members_pb2.StreamSegmentMembersRequest, context: Context
    ) -> AsyncIterator[members_pb2.SegmentMember]:
        stream = self._segments.stream(
            request.tenant_id, request.segment_id, _criteria(request), after=request.after_member_id
        )
        async for member_id in stream:
            yield members_pb2.SegmentMember(member_id=member_id)

    async def RefundPurchase(
        self, request: members_pb2.RefundPurchaseRequest, context: Context
    ) -> members_pb2.RefundPurchaseResponse:
        if not request.HasField("occurred_at"):
            raise InvalidArgument("occurred_at", "occurred_at is required")
        lines = [RefundLine(sku=ln.sku, quantity=ln.quantity, amount=ln.amount) for ln in request.lines]
        purchase, recorded, created = await finish(
            self._refunds.refund(
                request.tenant_id,
                request.purchase_id,
                request.refund_id,
                lines or None,
                request.occurred_at.ToDatetime(tzinfo=UTC),
            )
        )
        refund = recorded.refund
        return members_pb2.RefundPurchaseResponse(
            purchase_id=purchase.id,
            refund_id=refund.id,
            lines=[
                members_pb2.RefundLine(sku=ln.sku, quantity=ln.quantity, amount=ln.amount)
                for ln in refund.lines
            ],
            amount=money_pb2.Money(currency=purchase.currency, minor_units=refund.amount),
            points_reversed=recorded.points_reversed,
            created=created,
        )


def _criteria(
    request: members_pb2.PreviewSegmentRequest | members_pb2.StreamSegmentMembersRequest,
) -> dict[str, Any] | None:
    return _from_struct(request.criteria) if request.HasField("criteria") else None


def _from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    """Struct numbers are doubles: whole ones become ints again, as the criteria expect."""
    raw = json_format.MessageToDict(struct)
    return {
        k: int(v) if isinstance(v, float) and v.is_integer() and k != "discount_share_min" else v
        for k, v in raw.items()
    }
