"""Sending one message to a member, and what became of it.

A store app or an internal service asks for one message (a template, a member, a key); the
messaging pipeline decides the channel (consent, fallback), the time (quiet hours) and whether
it may go at all (frequency caps), and the answer says which. The same `message_key` sends once:
sending it again returns the first message with 200. Providers report delivery receipts here; a
mini-program marks inbox messages read and records the WeChat subscriptions a member accepted.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from gateway.deps import ConsentingMember, MessagingDep, ReadMember, require
from gateway.identity import Caller
from gateway.routers.cases import actor
from gateway.schemas.members import InboxMessageOut
from gateway.schemas.messages import (
    MessageOut,
    MessagePage,
    ReceiptBody,
    SendMessageBody,
    WechatQuotaOut,
    WechatSubscriptionBody,
)
from gateway.schemas.problems import responses

router = APIRouter(prefix="/v1", tags=["messages"])
SendMessages = Annotated[Caller, Depends(require("messages:send"))]
MessageId = Annotated[str, Path(min_length=1, max_length=64, description="The message's id")]


@router.post(
    "/messages",
    status_code=201,
    summary="Send a member one message",
    description=(
        "Renders the template for the first usable channel (consent, an address, a WeChat "
        "subscription left) and hands it to the channel's provider, unless quiet hours defer it "
        "(`state` pending, `deferred` true, `due_at` the morning) or a frequency cap stops it "
        "(`state` capped, `reason` the rule). Transactional templates are never capped or "
        "deferred. The same `message_key` returns the first message with 200 and sends nothing "
        "again. Scope `messages:send`."
    ),
    responses={
        200: {"model": MessageOut, "description": "The key was used"},
        **responses(400, 401, 403, 404, 422, 429, 503),
    },
)
async def send_message(
    caller: SendMessages, body: SendMessageBody, messaging: MessagingDep, response: Response
) -> MessageOut:
    message, created = await messaging.send(caller.tenant_id, body, source=actor(caller))
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/v1/messages/{message.id}"
    return message


@router.get(
    "/messages/{message_id}",
    summary="A message and its delivery history",
    description="Scope `messages:send`.",
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def get_message(caller: SendMessages, message_id: MessageId, messaging: MessagingDep) -> MessageOut:
    return await messaging.get(caller.tenant_id, message_id)


@router.get(
    "/messages",
    summary="Messages, newest first",
    description="A member's, a template's, or all of the tenant's. Scope `messages:send`.",
    responses=responses(400, 401, 403, 422, 429, 503),
)
async def list_messages(
    caller: SendMessages,
    messaging: MessagingDep,
    member_id: Annotated[str, Query(max_length=64)] = "",
    template_id: Annotated[str, Query(max_length=64)] = "",
    page_size: Annotated[int, Query(ge=1, le=100, description="Items per page")] = 20,
    page_token: Annotated[str, Query(max_length=64, description="next_page_token of the previous page")] = "",
) -> MessagePage:
    return await messaging.list(caller.tenant_id, member_id, template_id, page_size, page_token)


@router.post(
    "/messages/{message_id}/receipts",
    summary="Report a provider's delivery receipt",
    description=(
        "`delivered`, or `failed` with the reason (announced as message_failed once). A receipt "
        "for a message not sent, or a second one, changes nothing. Scope `messages:send`."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def record_receipt(
    caller: SendMessages, message_id: MessageId, body: ReceiptBody, messaging: MessagingDep
) -> MessageOut:
    return await messaging.receipt(caller.tenant_id, message_id, body)


@router.post(
    "/members/{member_id}/inbox/{inbox_message_id}/read",
    summary="Mark an inbox message read",
    description=(
        "The first read is recorded (and counts as engagement with the message); later ones "
        "change nothing. Scope `members:read`; a member session only its own inbox."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def mark_inbox_read(
    member: ReadMember,
    inbox_message_id: Annotated[str, Path(min_length=1, max_length=64)],
    messaging: MessagingDep,
) -> InboxMessageOut:
    caller, member_id = member
    return await messaging.mark_read(caller.tenant_id, member_id, inbox_message_id)


@router.post(
    "/members/{member_id}/wechat-subscriptions",
    summary="Record a WeChat one-time subscription the member accepted",
    description=(
        "WeChat allows one subscribe message per acceptance (`wx.requestSubscribeMessage`); the "
        "mini-program reports each here with its own `grant_id` (a repeat counts once). A send "
        "with no subscription left falls back to the next channel. Scope `members:consent`; a "
        "member session only for itself; a member of another tenant (or none) is a 404."
    ),
    responses=responses(400, 401, 403, 404, 422, 429, 503),
)
async def record_wechat_subscription(
    member: ConsentingMember, body: WechatSubscriptionBody, messaging: MessagingDep
) -> WechatQuotaOut:
    caller, member_id = member
    return await messaging.subscribe(caller.tenant_id, member_id, body)
