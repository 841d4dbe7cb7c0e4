"""Everything the messaging service does: each gRPC command and each event it consumes, and the
function that handles it. bootstrap.py wires the gRPC server and the consumer from this table;
a command missing here, or one the proto does not declare, stops the service at start-up.
"""

from __future__ import annotations

from regulars.messaging.v1 import messaging_pb2

from chassis.handlers import Handlers
from services.messaging.entrypoints import consumer
from services.messaging.entrypoints.grpc_servicer import MessagingServicer
from services.messaging.service.ports import InboxRepository

SERVICE = messaging_pb2.DESCRIPTOR.services_by_name["MessagingService"]


def handlers(s: MessagingServicer, repo: InboxRepository) -> Handlers:
    return Handlers(
        service=SERVICE,
        commands={
            # The member's inbox
            "ListInbox": s.ListInbox,
        },
        # From members (consumer.py): a welcome on member_registered; member_erased forgets the
        # member's messages.
        events=consumer.subscriptions(repo),
    )
