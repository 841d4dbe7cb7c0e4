"""WeChat mini-program subscribe messages (subscribeMessage.send).

A subscribe message fills a template the platform approved, whose fields have keys WeChat
assigns (`thing1`, `time2`, ...). Our templates therefore render one `key: value` line per
field, and the rendered body becomes the `data` object (`{"thing1": {"value": "..."}}`). Each
send spends one acceptance the member gave (`WechatQuotas`, taken before this is called).

The access token comes from `stable_token` (not the older `token`): every replica asking for it
gets the same token until it nears expiry, where each call to `token` would issue a new one and
void the others' within minutes. It is kept until a margin before `expires_in`, and fetched
again once when WeChat says it expired or is invalid (40001, 40014, 42001), the send then tried
again in the same call.

Answers: errcode 0 sent (msgid is the provider's id); -1 (busy), 45009 (rate limit) and a token
refused even after the refresh worth another try; 43101 (the member refused or has no
subscription left) and every other code final.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

import httpx

from chassis.logs import redact_text
from services.messaging.service.ports import Outgoing, ProviderResult

TOKEN_INVALID = frozenset({40001, 40014, 42001})
RETRYABLE = frozenset({-1, 45009})
REFUSED = 43101
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MARGIN_SECONDS = 300  # WeChat hands out the next token in the last 5 minutes of the old one


class TemplateShapeError(ValueError):
    """The rendered body is not `key: value` lines."""


def subscribe_data(body: str) -> dict[str, dict[str, str]]:
    """WeChat's `data` from the rendered body: one `key: value` per non-empty line."""
    data: dict[str, dict[str, str]] = {}
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or not _KEY.match(key):
            raise TemplateShapeError(f"body line {number} is not `key: value`")
        data[key] = {"value": value.strip()}
    if not data:
        raise TemplateShapeError("body has no `key: value` line")
    return data


class _Answer(Exception):
    """WeChat answered with an error code (a final answer for the token fetch)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"errcode {errcode}: {errmsg}")
        self.errcode = errcode


class WechatProvider:
    name = "wechat"

    def __init__(
        self,
        *,
        app_id: str,
        app_secret: str,
        api_base: str = "https://api.weixin.qq.com",
        page: str = "",
        timeout_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = httpx.AsyncClient(base_url=api_base.rstrip("/"), timeout=timeout_seconds)
        self._app_id = app_id
        self._app_secret = app_secret
        self._page = page
        self._clock = clock
        self._token = ""
        self._token_until = 0.0
        self._lock = asyncio.Lock()

    async def send(self, out: Outgoing) -> ProviderResult:
        if not out.to.openid:
            return self._failed("no openid", retryable=False)
        if not out.provider_template_id:
            return self._failed("no WeChat template id for this template", retryable=False)
        try:
            data = subscribe_data(out.body)
        except TemplateShapeError as exc:
            return self._failed(str(exc), retryable=False)
        message = {
            "touser": out.to.openid,
            "template_id": out.provider_template_id,
            "page": self._page,
            "data": data,
        }
        try:
            token = await self._current_token()
            answer = await self._post_send(token, message)
            if answer.get("errcode") in TOKEN_INVALID:
                token = await self._current_token(stale=token)
                answer = await self._post_send(token, message)
        except _Answer as exc:
            return self._failed(f"access token refused: {exc}", retryable=exc.errcode in RETRYABLE)
        except httpx.TransportError as exc:
            return self._failed(f"WeChat unreachable: {type(exc).__name__}", retryable=True)
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            return self._failed(
                f"WeChat answered HTTP {status}", retryable=status in (408, 429) or status >= 500
            )
        errcode = int(answer.get("errcode") or 0)
        if errcode == 0:
            return ProviderResult(
                ok=True, provider=self.name, provider_message_id=str(answer.get("msgid", ""))
            )
        reason = f"errcode {errcode}: {answer.get('errmsg', '')}"
        if errcode == REFUSED:
            reason = f"member refused or has no subscription ({reason})"
        # A token refused even when fresh is WeChat's trouble or ours, not the message's.
        return self._failed(reason, retryable=errcode in RETRYABLE or errcode in TOKEN_INVALID)

    async def _post_send(self, token: str, message: dict[str, Any]) -> dict[str, Any]:
        response = await self._client.post(
            "/cgi-bin/message/subscribe/send", params={"access_token": token}, json=message
        )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    async def _current_token(self, stale: str = "") -> str:
        """The cached token, fetched when there is none, it is near expiry, or it is `stale`
        (WeChat refused it). One fetch at a time: concurrent sends wait for it and share it."""
        async with self._lock:
            if self._token and self._token != stale and self._clock() < self._token_until:
                return self._token
            response = await self._client.post(
                "/cgi-bin/stable_token",
                json={
                    "grant_type": "client_credential",
                    "appid": self._app_id,
                    "secret": self._app_secret,
                    "force_refresh": False,
                },
            )
            response.raise_for_status()
            answer = response.json()
            if not answer.get("access_token"):
                raise _Answer(int(answer.get("errcode") or -1), str(answer.get("errmsg", "")))
            expires_in = float(answer.get("expires_in") or 0)
            self._token = str(answer["access_token"])
            self._token_until = self._clock() + max(expires_in - min(_MARGIN_SECONDS, expires_in / 2), 0)
            return self._token

    def _failed(self, reason: str, *, retryable: bool) -> ProviderResult:
        return ProviderResult(ok=False, provider=self.name, reason=redact_text(reason), retryable=retryable)

    async def aclose(self) -> None:
        await self._client.aclose()
