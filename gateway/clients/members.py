"""The members service as the gateway uses it: members, profiles, privacy, directory, segments,
purchases, points and the loyalty programme. Each method is one RPC: the request built from a schema,
the reply mapped back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from regulars.members.v1 import members_pb2 as pb
from regulars.members.v1 import members_pb2_grpc

from gateway.clients.calls import Calls, ServiceClient
from gateway.clients.members_mapping import (
    ROLES,
    birthday_pb,
    criteria_pb,
    export_data,
    handover_out,
    member_out,
    payment_pb,
    points_out,
    preview_out,
    profile_out,
    purchase_line_pb,
    purchase_out,
    refund_line_pb,
    refund_out,
    segment_out,
    staff_out,
    store_out,
)
from gateway.clients.pb_time import optional_timestamp, timestamp
from gateway.clients.programme_mapping import earning_preview_out, rule_pb, settings_pb, version_out
from gateway.schemas.directory import AddStaffBody, CreateStoreBody, HandoverOut, StaffOut, StoreOut
from gateway.schemas.members import EnrollMemberBody, MemberOut, ReferralCodeOut
from gateway.schemas.privacy import ErasureOut, ExportOut
from gateway.schemas.profile import ProfileOut, SmsReplyBody, SmsReplyOut, UpdateProfileBody
from gateway.schemas.programme import (
    EarningPreviewBody,
    EarningPreviewOut,
    EarningRuleBody,
    ProgrammeChangeBody,
    ProgrammeVersionOut,
)
from gateway.schemas.purchases import (
    PointsEntryBody,
    PointsEntryResult,
    PointsOut,
    PurchaseOut,
    RecordPurchaseBody,
    RefundBody,
    RefundOut,
)
from gateway.schemas.segments import PreviewOut, SegmentCriteria, SegmentOut

SLOW = 5  # merge and export read the member's whole history: five deadlines


if TYPE_CHECKING:
    Stub = members_pb2_grpc.MembersServiceAsyncStub
else:  # the async stub class is in the type stubs only
    Stub = members_pb2_grpc.MembersServiceStub


class MembersClient(ServiceClient[Stub]):
    def __init__(self, stub: Stub, calls: Calls, preview_timeout: float) -> None:
        super().__init__(stub, calls)
        self._preview_timeout = preview_timeout  # counting a large audience scans it

    # --- Members -------------------------------------------------------------------------------

    async def enroll(
        self, tenant_id: str, body: EnrollMemberBody, owner_staff_id: str
    ) -> tuple[MemberOut, bool]:
        """The member, and whether this enrolled them (False: the phone or openid was known)."""
        reply = await self._call(
            self._stub.EnrollMember,
            pb.EnrollMemberRequest(
                tenant_id=tenant_id,
                phone=body.phone,
                name=body.name,
                surname=body.surname,
                store_id=body.store_id,
                channel="mini_program" if body.openid else "referral" if body.referral_code else "store_app",
                staff_code=body.staff_code,
                owner_staff_id=owner_staff_id,
                gender=body.gender,
                birthday=birthday_pb(body.birthday) if body.birthday else None,
                tags=body.tags,
                notes=body.notes,
                openid=body.openid,
                unionid=body.unionid,
                referral_code=body.referral_code,
            ),
        )
        return member_out(reply.member), reply.created

    async def get(self, tenant_id: str, member_id: str) -> MemberOut:
        return member_out(
            await self._call(
                self._stub.GetMember, pb.GetMemberRequest(tenant_id=tenant_id, member_id=member_id)
            )
        )

    async def find(self, tenant_id: str, *, phone: str = "", openid: str = "") -> MemberOut:
        """The member with this openid when one is given, else with this phone."""
        if openid:
            found = await self._call(
                self._stub.FindMemberByOpenid,
                pb.FindMemberByOpenidRequest(tenant_id=tenant_id, openid=openid),
            )
        else:
            found = await self._call(
                self._stub.FindMemberByPhone, pb.FindMemberByPhoneRequest(tenant_id=tenant_id, phone=phone)
            )
        return member_out(found)

    async def referral_code(self, tenant_id: str, member_id: str) -> ReferralCodeOut:
        reply = await self._call(
            self._stub.GetReferralCode, pb.GetReferralCodeRequest(tenant_id=tenant_id, member_id=member_id)
        )
        return ReferralCodeOut(member_id=reply.member_id, code=reply.code)

    # --- Profile, consent, blacklist, merge ----------------------------------------------------

    async def update_profile(self, tenant_id: str, member_id: str, body: UpdateProfileBody) -> ProfileOut:
        """Only the fields sent change; tags sent replace the member's tags."""
        req = pb.UpdateProfileRequest(tenant_id=tenant_id, member_id=member_id)
        for name in ("name", "surname", "gender", "notes", "preferred_channel"):
            value = getattr(body, name)
            if value is not None:
                setattr(req, name, value)
        if body.birthday is not None:
            req.birthday.CopyFrom(birthday_pb(body.birthday))
        if body.tags is not None:
            req.tags.extend(body.tags)
            req.replace_tags = True
        return profile_out(await self._call(self._stub.UpdateProfile, req))

    async def set_consent(
        self, tenant_id: str, member_id: str, channel: str, granted: bool, source: str
    ) -> ProfileOut:
        req = pb.SetConsentRequest(
            tenant_id=tenant_id, member_id=member_id, channel=channel, granted=granted, source=source
        )
        return profile_out(await self._call(self._stub.SetConsent, req))

    async def set_blacklist(self, tenant_id: str, member_id: str, reason: str) -> ProfileOut:
        """Blacklisted with `reason`; an empty reason takes the member off the blacklist."""
        req = pb.SetBlacklistRequest(tenant_id=tenant_id, member_id=member_id, reason=reason)
        return profile_out(await self._call(self._stub.SetBlacklist, req))

    async def sms_reply(self, tenant_id: str, body: SmsReplyBody) -> SmsReplyOut:
        req = pb.HandleSmsReplyRequest(tenant_id=tenant_id, phone=body.phone, text=body.text)
        reply = await self._call(self._stub.HandleSmsReply, req)
        return SmsReplyOut(unsubscribed=reply.unsubscribed, member_id=reply.member_id or None)

    async def merge(self, tenant_id: str, survivor_id: str, duplicate_id: str) -> ProfileOut:
        req = pb.MergeMembersRequest(tenant_id=tenant_id, survivor_id=survivor_id, duplicate_id=duplicate_id)
        return profile_out(
            await self._call(self._stub.MergeMembers, req, deadline_seconds=self._call.timeout * SLOW)
        )

    # --- Privacy -------------------------------------------------------------------------------

    async def export(self, tenant_id: str, member_id: str) -> ExportOut:
        req = pb.ExportMemberRequest(tenant_id=tenant_id, member_id=member_id)
        reply = await self._call(self._stub.ExportMember, req, deadline_seconds=self._call.timeout * SLOW)
        return ExportOut(member_id=reply.member_id, data=export_data(reply))

    async def erase(self, tenant_id: str, member_id: str, reason: str) -> ErasureOut:
        req = pb.EraseMemberRequest(tenant_id=tenant_id, member_id=member_id, reason=reason)
        reply = await self._call(self._stub.EraseMember, req)
        return ErasureOut(member_id=reply.member_id, erased_now=reply.erased_now)

    # --- Directory -----------------------------------------------------------------------------

    async def create_store(self, tenant_id: str, body: CreateStoreBody) -> StoreOut:
        req = pb.CreateStoreRequest(tenant_id=tenant_id, code=body.code, name=body.name, city=body.city)
        return store_out(await self._call(self._stub.CreateStore, req))

    async def list_stores(self, tenant_id: str) -> list[StoreOut]:
        reply = await self._call(self._stub.ListStores, pb.ListStoresRequest(tenant_id=tenant_id))
        return [store_out(s) for s in reply.stores]

    async def add_staff(self, tenant_id: str, store_code: str, body: AddStaffBody) -> StaffOut:
        req = pb.AddStaffRequest(
            tenant_id=tenant_id, store_code=store_code, name=body.name, role=ROLES[body.role]
        )
        return staff_out(await self._call(self._stub.AddStaff, req))

    async def list_staff(self, tenant_id: str, store_code: str) -> list[StaffOut]:
        reply = await self._call(
            self._stub.ListStaff, pb.ListStaffRequest(tenant_id=tenant_id, store_code=store_code)
        )
        return [staff_out(s) for s in reply.staff]

    async def get_staff(self, tenant_id: str, staff_id: str) -> StaffOut:
        return staff_out(
            await self._call(self._stub.GetStaff, pb.GetStaffRequest(tenant_id=tenant_id, staff_id=staff_id))
        )

    async def start_handover(
        self, tenant_id: str, from_staff_id: str, to_staff_id: str, requested_by: str
    ) -> HandoverOut:
        req = pb.StartHandoverRequest(
            tenant_id=tenant_id,
            from_staff_id=from_staff_id,
            to_staff_id=to_staff_id,
            requested_by=requested_by,
        )
        return handover_out(await self._call(self._stub.StartHandover, req))

    async def get_handover(self, tenant_id: str, handover_id: str) -> HandoverOut:
        req = pb.GetHandoverRequest(tenant_id=tenant_id, handover_id=handover_id)
        return handover_out(await self._call(self._stub.GetHandover, req))

    # --- Segments ------------------------------------------------------------------------------

    async def create_segment(self, tenant_id: str, name: str, criteria: SegmentCriteria) -> SegmentOut:
        req = pb.CreateSegmentRequest(tenant_id=tenant_id, name=name, criteria=criteria_pb(criteria))
        return segment_out(await self._call(self._stub.CreateSegment, req))

    async def get_segment(self, tenant_id: str, segment_id: str) -> SegmentOut:
        req = pb.GetSegmentRequest(tenant_id=tenant_id, segment_id=segment_id)
        return segment_out(await self._call(self._stub.GetSegment, req))

    async def preview(
        self,
        tenant_id: str,
        sample_size: int,
        *,
        criteria: SegmentCriteria | None = None,
        segment_id: str = "",
    ) -> PreviewOut:
        """How many members match `criteria`, or the saved segment `segment_id`, and a sample."""
        req = pb.PreviewSegmentRequest(tenant_id=tenant_id, segment_id=segment_id, sample_size=sample_size)
        if criteria is not None:
            req.criteria.CopyFrom(criteria_pb(criteria))
        return preview_out(
            await self._call(self._stub.PreviewSegment, req, deadline_seconds=self._preview_timeout)
        )

    # --- Purchases and points ------------------------------------------------------------------

    async def record_purchase(self, tenant_id: str, body: RecordPurchaseBody) -> PurchaseOut:
        req = pb.RecordPurchaseRequest(
            tenant_id=tenant_id,
            member_id=body.member_id,
            store_id=body.store_id,
            receipt_no=body.receipt_no,
            served_by_staff_id=body.served_by_staff_id,
            lines=[purchase_line_pb(line) for line in body.lines],
            coupon_codes=body.coupon_codes,
            occurred_at=timestamp(body.occurred_at),
            currency=body.currency,
            payments=[payment_pb(p) for p in body.payments],
        )
        return purchase_out(await self._call(self._stub.RecordPurchase, req))

    async def refund(self, tenant_id: str, purchase_id: str, body: RefundBody) -> RefundOut:
        req = pb.RefundPurchaseRequest(
            tenant_id=tenant_id,
            purchase_id=purchase_id,
            refund_id=body.refund_id,
            occurred_at=timestamp(body.occurred_at),
            lines=[refund_line_pb(line) for line in body.lines or []],
        )
        return refund_out(await self._call(self._stub.RefundPurchase, req))

    async def points(self, tenant_id: str, member_id: str) -> PointsOut:
        reply = await self._call(
            self._stub.GetPoints, pb.GetPointsRequest(tenant_id=tenant_id, member_id=member_id)
        )
        return points_out(reply)

    async def adjust_points(self, tenant_id: str, member_id: str, body: PointsEntryBody) -> PointsEntryResult:
        req = pb.AdjustPointsRequest(
            tenant_id=tenant_id,
            member_id=member_id,
            delta=body.delta,
            reason=body.reason,
            source_id=body.source_id,
        )
        reply = await self._call(self._stub.AdjustPoints, req)
        return PointsEntryResult(balance=reply.balance, applied=reply.applied)

    # --- The loyalty programme -----------------------------------------------------------------

    async def get_programme(self, tenant_id: str, version: int = 0) -> ProgrammeVersionOut:
        """A version of the tenant's programme (0: the current one)."""
        req = pb.GetProgrammeRequest(tenant_id=tenant_id, version=version)
        return version_out(await self._call(self._stub.GetProgramme, req))

    async def change_programme(
        self, tenant_id: str, body: ProgrammeChangeBody, changed_by: str
    ) -> ProgrammeVersionOut:
        """The sections sent replace the current ones, named so that one sent empty is replaced too."""
        sections = body.sections()
        req = pb.UpdateProgrammeRequest(
            tenant_id=tenant_id,
            settings=settings_pb(sections),
            sections=list(sections),
            expected_version=body.expected_version or 0,
            changed_by=changed_by,
        )
        return version_out(await self._call(self._stub.UpdateProgramme, req))

    async def programme_versions(self, tenant_id: str, limit: int) -> list[ProgrammeVersionOut]:
        req = pb.ListProgrammeVersionsRequest(tenant_id=tenant_id, limit=limit)
        reply = await self._call(self._stub.ListProgrammeVersions, req)
        return [version_out(v) for v in reply.versions]

    async def put_earning_rule(
        self, tenant_id: str, rule_id: str, body: EarningRuleBody, changed_by: str
    ) -> ProgrammeVersionOut:
        req = pb.PutEarningRuleRequest(
            tenant_id=tenant_id,
            rule=rule_pb(rule_id, body.rule()),
            expected_version=body.expected_version or 0,
            changed_by=changed_by,
        )
        return version_out(await self._call(self._stub.PutEarningRule, req))

    async def delete_earning_rule(
        self, tenant_id: str, rule_id: str, expected_version: int, changed_by: str
    ) -> ProgrammeVersionOut:
        req = pb.DeleteEarningRuleRequest(
            tenant_id=tenant_id, rule_id=rule_id, expected_version=expected_version, changed_by=changed_by
        )
        return version_out(await self._call(self._stub.DeleteEarningRule, req))

    async def preview_earning(self, tenant_id: str, body: EarningPreviewBody) -> EarningPreviewOut:
        req = pb.PreviewEarningRequest(
            tenant_id=tenant_id,
            member_id=body.member_id,
            store_id=body.store_id,
            lines=[purchase_line_pb(line) for line in body.lines],
            payments=[payment_pb(p) for p in body.payments],
            at=optional_timestamp(body.at),
        )
        return earning_preview_out(await self._call(self._stub.PreviewEarning, req))
