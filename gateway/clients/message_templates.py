"""The messaging service's templates and policy as the gateway uses them. Each method is one
RPC: the request built from a schema, the reply mapped back. Who saves (`by`) is the route's to
say (the caller), never the body's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
from regulars.messaging.v1 import messaging_pb2 as pb
from regulars.messaging.v1 import messaging_pb2_grpc

from gateway.clients.calls import Calls, ServiceClient
from gateway.clients.message_templates_mapping import policy_change_pb, policy_out, template_out, template_pb
from gateway.schemas.messaging_templates import PolicyChangeBody, PolicyOut, TemplateBody, TemplateOut

if TYPE_CHECKING:
    Stub = messaging_pb2_grpc.MessagingServiceAsyncStub
else:  # the async stub class is in the type stubs only
    Stub = messaging_pb2_grpc.MessagingServiceStub


class MessageTemplatesClient(ServiceClient[Stub]):
    @classmethod
    def over(cls, channel: grpc.aio.Channel, calls: Calls) -> MessageTemplatesClient:
        """The client on the gateway's channel to messaging (`ServiceClients.channels["messaging"]`)."""
        return cls(messaging_pb2_grpc.MessagingServiceStub(channel), calls)

    async def save_template(
        self, tenant_id: str, template_id: str, body: TemplateBody, by: str
    ) -> TemplateOut:
        req = pb.SaveTemplateRequest(template=template_pb(tenant_id, template_id, body, by))
        return template_out(await self._call(self._stub.SaveTemplate, req))

    async def get_template(self, tenant_id: str, template_id: str) -> TemplateOut:
        req = pb.GetTemplateRequest(tenant_id=tenant_id, template_id=template_id)
        return template_out(await self._call(self._stub.GetTemplate, req))

    async def list_templates(self, tenant_id: str) -> list[TemplateOut]:
        reply = await self._call(self._stub.ListTemplates, pb.ListTemplatesRequest(tenant_id=tenant_id))
        return [template_out(t) for t in reply.templates]

    async def get_policy(self, tenant_id: str) -> PolicyOut:
        req = pb.GetMessagingPolicyRequest(tenant_id=tenant_id)
        return policy_out(await self._call(self._stub.GetMessagingPolicy, req))

    async def change_policy(self, tenant_id: str, body: PolicyChangeBody, by: str) -> PolicyOut:
        """Only the fields the body sends change; a body that sends none reads the policy (the
        service takes a request naming no field as a change of all of them)."""
        req = policy_change_pb(tenant_id, body, by)
        if not req.fields:
            return await self.get_policy(tenant_id)
        return policy_out(await self._call(self._stub.UpdateMessagingPolicy, req))
