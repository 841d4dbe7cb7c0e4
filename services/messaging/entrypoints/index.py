"""Everything the messaging service does: each gRPC command and each event it consumes, and the
function that handles it. bootstrap.py wires the gRPC server and the consumer from this table;
a command missing here, or one the proto does not declare, stops the service at start-up.
"""

from __future__ import annotations

from regulars.messaging.v1 import messaging_pb2

from chassis.handlers import Handlers
from services.messaging.entrypoints import consumer
from services.messaging.entrypoints.grpc_servicer import MessagingServicer
from services.messaging.service.members_view import MembersView
from services.messaging.service.reactions import Reactions

SERVICE = messaging_pb2.DESCRIPTOR.services_by_name["MessagingService"]


def handlers(
    s: MessagingServicer, view: MembersView, conversions: consumer.Conversions, reactions: Reactions
) -> Handlers:
    return Handlers(
        service=SERVICE,
        commands={
            # The member's inbox
            "ListInbox": s.ListInbox,
            "MarkInboxRead": s.MarkInboxRead,
            # Sending (grpc_servicer.py)
            "SendMessage": s.SendMessage,
            "GetMessage": s.GetMessage,
            "ListMessages": s.ListMessages,
            "RecordDeliveryReceipt": s.RecordDeliveryReceipt,
            "RunDispatcher": s.RunDispatcher,
            "RecordWechatSubscription": s.RecordWechatSubscription,
            # Templates and the policy (template_commands.py)
            "SaveTemplate": s.SaveTemplate,
            "GetTemplate": s.GetTemplate,
            "ListTemplates": s.ListTemplates,
            "GetMessagingPolicy": s.GetMessagingPolicy,
            "UpdateMessagingPolicy": s.UpdateMessagingPolicy,
            # Staff tasks (task_commands.py)
            "ListStaffTasks": s.ListStaffTasks,
            "GetStaffTask": s.GetStaffTask,
            "CompleteStaffTask": s.CompleteStaffTask,
            "GetStaffTaskStats": s.GetStaffTaskStats,
            # Tracked links and the report (engagement_commands.py)
            "ResolveLink": s.ResolveLink,
            "GetMessagingReport": s.GetMessagingReport,
        },
        # consumer.py: members' events keep messaging's view of members current (consent,
        # owner, points), welcome new members, reroute staff tasks, attribute purchases; coupons'
        # coupon_issued attributes claims; feedback's events become messages and tasks.
        events=consumer.subscriptions(view, conversions, reactions),
    )
