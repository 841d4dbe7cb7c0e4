"""gRPC commands of templates and the messaging policy (a mixin of MessagingServicer).

Kept apart so the servicer module stays about sending; bootstrap hands it its use cases with
`serve_templates`. Who saves or changes (`updated_by`) is the request's: the gateway fills it
from the caller. Domain errors (a misspelled variable, an unknown template) become statuses in
chassis.grpc_server, the field travelling with INVALID_ARGUMENT.
"""

from __future__ import annotations

from typing import Any

import grpc
from regulars.messaging.v1 import messaging_pb2

from services.messaging.entrypoints.template_mapping import (
    policy_change,
    policy_pb,
    template_from_pb,
    template_pb,
)
from services.messaging.service.policies import Policies
from services.messaging.service.templates import Templates

Context = grpc.aio.ServicerContext[Any, Any]


class TemplateCommands:
    _templates: Templates
    _policies: Policies

    def serve_templates(self, templates: Templates, policies: Policies) -> None:
        """The use cases these commands run on (bootstrap calls it once, before serving)."""
        self._templates = templates
        self._policies = policies

    async def SaveTemplate(
        self, request: messaging_pb2.SaveTemplateRequest, context: Context
    ) -> messaging_pb2.Template:
        template = template_from_pb(request.template)
        return template_pb(await self._templates.save(template, updated_by=request.template.updated_by))

    async def GetTemplate(
        self, request: messaging_pb2.GetTemplateRequest, context: Context
    ) -> messaging_pb2.Template:
        return template_pb(await self._templates.get(request.tenant_id, request.template_id))

    async def ListTemplates(
        self, request: messaging_pb2.ListTemplatesRequest, context: Context
    ) -> messaging_pb2.ListTemplatesResponse:
        found = await self._templates.list_templates(request.tenant_id)
        return messaging_pb2.ListTemplatesResponse(templates=[template_pb(t) for t in found])

    async def GetMessagingPolicy(
        self, request: messaging_pb2.GetMessagingPolicyRequest, context: Context
    ) -> messaging_pb2.MessagingPolicy:
        return policy_pb(await self._policies.get(request.tenant_id))

    async def UpdateMessagingPolicy(
        self, request: messaging_pb2.UpdateMessagingPolicyRequest, context: Context
    ) -> messaging_pb2.MessagingPolicy:
        change, fields = policy_change(request)
        updated = await self._policies.update(
            change, fields, updated_by=request.policy.updated_by, expected_version=request.policy.version
        )
        return policy_pb(updated)
