"""The tenant's own endpoint, called the Standard Webhooks way (standardwebhooks.com).

Each call is a POST of one JSON event with three headers: `webhook-id` (the message id: the
same on every retry, so the receiver can drop a repeat), `webhook-timestamp` (Unix seconds) and
`webhook-signature` (`v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` under the tenant's
`whsec_` secret), signed by the official `standardwebhooks` library, which receivers verify with.

The answer decides the result: 2xx sent; 408, 429, 5xx and no answer at all (timeout, refused
connection) worth another try later; any other status final (the receiver refused this
message: a wrong secret makes it answer 401). Redirects are not followed: a signed event goes
only to the URL the tenant configured.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

from services.messaging.service.ports import Outgoing, ProviderResult

EVENT_TYPE = "message.send"
_RETRYABLE_STATUSES = frozenset({408, 429})


def _utc_now() -> datetime:
    return datetime.now(UTC)


def payload(out: Outgoing, now: datetime) -> bytes:
    """The body, serialised once: the bytes signed are the bytes sent."""
    event = {
        "type": EVENT_TYPE,
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": {
            "message_id": out.message_id,
            "tenant_id": out.tenant_id,
            "member_id": out.member_id,
            "channel": str(out.channel),
            "message_class": str(out.message_class),
            "template_id": out.template_id,
            "title": out.title,
            "body": out.body,
        },
    }
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class WebhookProvider:
    name = "webhook"

    def __init__(self, timeout_seconds: float, clock: Callable[[], datetime] = _utc_now) -> None:
        self._client = httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False)
        self._clock = clock

    async def send(self, out: Outgoing) -> ProviderResult:
        url, secret = out.to.webhook_url, out.to.webhook_secret
        if not url.startswith(("https://", "http://")):
            return self._failed("no webhook URL (http or https)" if not url else "webhook URL is not http(s)")
        try:
            signer = Webhook(secret)
        except Exception:  # the library raises its own and binascii's errors for a bad secret
            return self._failed("no usable webhook secret (whsec_ and base64)")
        now = self._clock().astimezone(UTC)
        body = payload(out, now)
        headers = {
            "content-type": "application/json",
            "webhook-id": out.message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signer.sign(out.message_id, now, body.decode("utf-8")),
        }
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.TransportError as exc:
            return self._failed(f"webhook unreachable: {type(exc).__name__}", retryable=True)
        status = response.status_code
        if 200 <= status < 300:
            return ProviderResult(ok=True, provider=self.name, provider_message_id=out.message_id)
        retryable = status in _RETRYABLE_STATUSES or status >= 500
        return self._failed(f"webhook answered HTTP {status}", retryable=retryable)

    def _failed(self, reason: str, retryable: bool = False) -> ProviderResult:
        return ProviderResult(ok=False, provider=self.name, reason=reason, retryable=retryable)

    async def aclose(self) -> None:
        await self._client.aclose()
