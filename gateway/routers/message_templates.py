"""Message templates and the tenant's messaging policy, for the tenant's admins (scope
`messages:admin`). Who saves or changes is the caller (`actor`), never the body. A template is
judged by the messaging service when saved: a misspelled variable, a syntax error or an SMS too
long is a 400 whose `field` names the text ("texts.sms.body"), and nothing is saved. Another
tenant's template is a 404, as an unknown one is.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from gateway.clients.message_templates import MessageTemplatesClient
from gateway.deps import require, side_client
from gateway.identity import Caller
from gateway.routers.cases import actor
from gateway.schemas.messaging_templates import (
    PolicyChangeBody,
    PolicyOut,
    TemplateBody,
    TemplateList,
    TemplateOut,
)
from gateway.schemas.problems import responses

router = APIRouter(prefix="/v1", tags=["messaging"])
AdminMessages = Annotated[Caller, Depends(require("messages:admin"))]
TemplateId = Annotated[
    str,
    # The service judges the id (a 400 naming `id` on a save; an id it never saved is a 404).
    Path(
        min_length=1, max_length=64, description="The template's id, chosen by the tenant: a-z, 0-9, _ and -"
    ),
]


async def _templates(request: Request) -> MessageTemplatesClient:
    return side_client(request, "message_templates", "messaging", MessageTemplatesClient.over)


TemplatesDep = Annotated[MessageTemplatesClient, Depends(_templates)]


@router.put(
    "/message-templates/{template_id}",
    summary="Save a message template",
    description=(
        "Creates the template or replaces it whole, as its next version (1 when new). Each channel's "
        "text may use the variables name, surname, title, full_name, store, assistant, coupon_value, "
        "coupon_expiry, coupon_code, points_balance, tier, survey_link and case_id, tracked links "
        "`{{ link('https://…') }}`, the filters default, upper, lower, title, capitalize, trim, "
        "truncate and int, and `{% if %}`. sms and wechat need the provider's `provider_template_id`; "
        "WeChat text is one `key: value` data field a line. An SMS may take at most 4 segments with "
        "each variable at a typical length (a marketing SMS gets the unsubscribe footer). A mistake is "
        "a 400 naming the field, e.g. `texts.sms.body` for an unknown variable, and saves nothing. "
        "Scope `messages:admin`."
    ),
    responses=responses(400, 401, 403, 422, 429, 503),
)
async def save_template(
    template_id: TemplateId, body: TemplateBody, caller: AdminMessages, templates: TemplatesDep
) -> TemplateOut:
    return await templates.save_template(caller.tenant_id, template_id, body, actor(caller))


@router.get(
    "/message-templates/{template_id}",
    summary="Read a message template",
    description="The template's current version. Scope `messages:admin`.",
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def get_template(
    template_id: TemplateId, caller: AdminMessages, templates: TemplatesDep
) -> TemplateOut:
    return await templates.get_template(caller.tenant_id, template_id)


@router.get(
    "/message-templates",
    summary="List the message templates",
    description="Every template of the tenant, by id, each at its current version. Scope `messages:admin`.",
    responses=responses(400, 401, 403, 422, 429, 503),
)
async def list_templates(caller: AdminMessages, templates: TemplatesDep) -> TemplateList:
    return TemplateList(items=await templates.list_templates(caller.tenant_id))


@router.get(
    "/messaging-policy",
    summary="Read the messaging policy",
    description=(
        "Caps per member (care, marketing, or contact: both, per calendar day or week), quiet hours and "
        "the time zone they are in, the fallback order of channels by the member's preferred one, the "
        "attribution window, tries per channel and the webhook. A tenant that never changed it runs the "
        "defaults, as version 0. The webhook secret is never shown: `webhook_secret_set` says whether "
        "there is one. Scope `messages:admin`."
    ),
    responses=responses(400, 401, 403, 422, 429, 503),
)
async def get_policy(caller: AdminMessages, templates: TemplatesDep) -> PolicyOut:
    return await templates.get_policy(caller.tenant_id)


@router.patch(
    "/messaging-policy",
    summary="Change the messaging policy",
    description=(
        "Only the fields sent change (`caps` and `fallback` replace the whole list or map); a field left "
        "out or null stays. Every change is a new version recorded with who made it; one that changes "
        'nothing answers the current version. Quiet hours are both "HH:MM" or both "". A mistake is a '
        "400 naming the field (`time_zone`, `caps[0].limit`, `fallback.wechat`); with "
        "`expected_version`, a policy changed since is a 409. Scope `messages:admin`."
    ),
    responses=responses(400, 401, 403, 409, 422, 429, 503),
)
async def change_policy(body: PolicyChangeBody, caller: AdminMessages, templates: TemplatesDep) -> PolicyOut:
    return await templates.change_policy(caller.tenant_id, body, actor(caller))
