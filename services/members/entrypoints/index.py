"""Everything the members service does: each gRPC command and each event it consumes, and the
function that handles it. bootstrap.py wires the gRPC server and the consumer from this table;
a command missing here, or one the proto does not declare, stops the service at start-up.
"""

from __future__ import annotations

from regulars.members.v1 import members_pb2

from chassis.handlers import Handlers
from services.members.entrypoints import consumer
from services.members.entrypoints.grpc_servicer import MembersServicer
from services.members.service.refunds import Refunds

SERVICE = members_pb2.DESCRIPTOR.services_by_name["MembersService"]


def handlers(s: MembersServicer, refunds: Refunds) -> Handlers:
    return Handlers(
        service=SERVICE,
        commands={
            # Enrolment and finding a member
            "EnrollMember": s.EnrollMember,
            "GetMember": s.GetMember,
            "GetMemberActivity": s.GetMemberActivity,
            "FindMemberByPhone": s.FindMemberByPhone,
            "FindMemberByOpenid": s.FindMemberByOpenid,
            "GetReferralCode": s.GetReferralCode,
            # Profile, consent, blacklist
            "UpdateProfile": s.UpdateProfile,
            "SetConsent": s.SetConsent,
            "HandleSmsReply": s.HandleSmsReply,
            "SetBlacklist": s.SetBlacklist,
            # The calendar (birthdays, dormancy)
            "RunCalendarDay": s.RunCalendarDay,
            # Privacy and duplicates
            "ExportMember": s.ExportMember,
            "EraseMember": s.EraseMember,
            "MergeMembers": s.MergeMembers,
            # Directory: stores, staff, handovers
            "CreateStore": s.CreateStore,
            "ListStores": s.ListStores,
            "AddStaff": s.AddStaff,
            "GetStaff": s.GetStaff,
            "ListStaff": s.ListStaff,
            "StartHandover": s.StartHandover,
            "GetHandover": s.GetHandover,
            # Purchases, refunds, points
            "RecordPurchase": s.RecordPurchase,
            "RefundPurchase": s.RefundPurchase,
            "GetPoints": s.GetPoints,
            "AdjustPoints": s.AdjustPoints,
            # Segments
            "CreateSegment": s.CreateSegment,
            "GetSegment": s.GetSegment,
            "PreviewSegment": s.PreviewSegment,
            "StreamSegmentMembers": s.StreamSegmentMembers,  # streams its replies
            # The loyalty programme: ladder, earning, expiry, calendar; earning rules (programme_commands.py)
            "GetProgramme": s.GetProgramme,
            "UpdateProgramme": s.UpdateProgramme,
            "ListProgrammeVersions": s.ListProgrammeVersions,
            "PutEarningRule": s.PutEarningRule,
            "DeleteEarningRule": s.DeleteEarningRule,
            "PreviewEarning": s.PreviewEarning,
        },
        # Its own purchase_refunded, to finish a refund a crash interrupted (consumer.py).
        events=consumer.subscriptions(refunds),
    )
