"""Messaging's channel providers against local stand-ins of the services they call, each of which
checks what a real one checks: the webhook receiver verifies the Standard Webhooks signature with
the official library; the Tencent Cloud stand-in recomputes the TC3-HMAC-SHA256 signature of every
request from the secret key, as Tencent documents it; the WeChat stand-in issues access tokens
and refuses stale ones. Each proves how the provider's answers map to sent / try again / final."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError

from services.messaging.adapters.providers.tencent_sms import TencentSmsProvider
from services.messaging.adapters.providers.webhook import WebhookProvider
from services.messaging.adapters.providers.wechat import WechatProvider
from services.messaging.domain.channels import Channel, MessageClass
from services.messaging.service.ports import Address, Outgoing

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


NOWHERE = Address()


def outgoing(channel: Channel, to: Address = NOWHERE, **changes: Any) -> Outgoing:
    base = Outgoing(
        message_id="01JMSG00000000000000000001",
        tenant_id="t1",
        member_id="m1",
        channel=channel,
        message_class=MessageClass.CARE,
        template_id="birthday-gift",
        title="Happy birthday",
        body="Ms Wang, your gift is ready",
        to=to,
    )
    return replace(base, **changes)


# --- Standard Webhooks ---------------------------------------------------------------------


@dataclass
class Receiver:
    """The tenant's endpoint: verifies each request with its secret, then answers per script."""

    statuses: list[int]
    secret: str = SECRET
    seen: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            event = Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.seen.append({"verified": False})
            return web.Response(status=401)
        self.seen.append({"verified": True, "id": request.headers["webhook-id"], "event": event})
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


async def test_a_webhook_failing_twice_then_accepting_is_sent_once_on_the_third_try(serve) -> None:
    receiver = Receiver(statuses=[500, 500, 200])
    url = await serve(receiver)
    provider = WebhookProvider(timeout_seconds=5)
    out = outgoing(Channel.WEBHOOK, Address(webhook_url=f"{url}/hooks", webhook_secret=SECRET))
    try:
        results = [await provider.send(replace(out, attempt=n)) for n in (1, 2, 3)]
    finally:
        await provider.aclose()

    assert [(r.ok, r.retryable) for r in results[:2]] == [(False, True), (False, True)]
    assert results[0].reason == "webhook answered HTTP 500"
    assert results[2].ok
    assert results[2].provider == "webhook"
    assert [s["verified"] for s in receiver.seen] == [True, True, True]
    assert {s["id"] for s in receiver.seen} == {out.message_id}  # one id: the receiver dedupes
    event = receiver.seen[2]["event"]
    assert event["type"] == "message.send"
    assert event["data"] == {
        "message_id": out.message_id,
        "tenant_id": "t1",
        "member_id": "m1",
        "channel": "webhook",
        "message_class": "care",
        "template_id": "birthday-gift",
        "title": "Happy birthday",
        "body": "Ms Wang, your gift is ready",
    }


async def test_a_webhook_signed_with_another_secret_is_refused_for_good(serve) -> None:
    receiver = Receiver(statuses=[])
    url = await serve(receiver)
    provider = WebhookProvider(timeout_seconds=5)
    out = outgoing(Channel.WEBHOOK, Address(webhook_url=url, webhook_secret=OTHER_SECRET))
    try:
        result = await provider.send(out)
    finally:
        await provider.aclose()

    assert receiver.seen == [{"verified": False}]
    assert (result.ok, result.retryable, result.reason) == (False, False, "webhook answered HTTP 401")


@pytest.mark.parametrize(
    ("status", "retryable"), [(408, True), (429, True), (503, True), (400, False), (404, False)]
)
async def test_a_webhook_answer_decides_whether_to_try_again(serve, status: int, retryable: bool) -> None:
    url = await serve(Receiver(statuses=[status]))
    provider = WebhookProvider(timeout_seconds=5)
    try:
        result = await provider.send(
            outgoing(Channel.WEBHOOK, Address(webhook_url=url, webhook_secret=SECRET))
        )
    finally:
        await provider.aclose()
    assert (result.ok, result.retryable, result.reason) == (
        False,
        retryable,
        f"webhook answered HTTP {status}",
    )


async def test_an_unreachable_webhook_is_tried_again_later() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = WebhookProvider(timeout_seconds=5)
    try:
        result = await provider.send(
            outgoing(Channel.WEBHOOK, Address(webhook_url=f"http://127.0.0.1:{port}/", webhook_secret=SECRET))
        )
    finally:
        await provider.aclose()
    assert (result.ok, result.retryable) == (False, True)
    assert result.reason.startswith("webhook unreachable: ")


@pytest.mark.parametrize(
    ("to", "reason"),
    [
        (Address(webhook_secret=SECRET), "no webhook URL (http or https)"),
        (Address(webhook_url="ftp://example.com/", webhook_secret=SECRET), "webhook URL is not http(s)"),
        (Address(webhook_url="http://127.0.0.1:9/"), "no usable webhook secret (whsec_ and base64)"),
    ],
)
async def test_a_webhook_without_url_or_secret_fails_for_good_without_a_call(
    to: Address, reason: str
) -> None:
    provider = WebhookProvider(timeout_seconds=5)
    try:
        result = await provider.send(outgoing(Channel.WEBHOOK, to))
    finally:
        await provider.aclose()
    assert (result.ok, result.retryable, result.reason) == (False, False, reason)


# --- Tencent Cloud SMS -----------------------------------------------------------------------

SECRET_ID = "AKIDtestsecretid000000000000000000"
SECRET_KEY = "test-secret-key-0000000000000000"
APP_ID = "1400000001"
SIGN = "Regulars"
PHONE = "+8613711112222"


def tc3_signature(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    """Tencent Cloud's documented key derivation: TC3+key -> date -> service -> tc3_request."""

    def mac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()

    signing = mac(mac(mac(("TC3" + secret_key).encode("utf-8"), date), service), "tc3_request")
    return hmac.new(signing, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass
class TencentSms:
    """A stand-in of sms.tencentcloudapi.com: authenticates like the real API, then answers
    each SendSms per `answer` (a SendStatus code, or an `Error` code of the whole request)."""

    answer: str = "Ok"
    whole_request_error: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, request: web.Request) -> web.Response:
        body = await request.read()
        error = self._authenticate(request, body)
        if error:
            return self._error(*error)
        params = json.loads(body)
        self.requests.append(params)
        if (
            request.headers.get("X-TC-Action") != "SendSms"
            or request.headers.get("X-TC-Version") != "2021-01-11"
        ):
            return self._error("InvalidAction", "unexpected action or version")
        if self.whole_request_error:
            return self._error(self.answer, "the stand-in was told to fail")
        ok = self.answer == "Ok"
        status = {
            "SerialNo": "2645:3270151418616990300312345" if ok else "",
            "PhoneNumber": params["PhoneNumberSet"][0],
            "Fee": 1 if ok else 0,
            "SessionContext": params.get("SessionContext", ""),
            "Code": self.answer,
            "Message": "send success" if ok else f"{self.answer} for {params['PhoneNumberSet'][0]}",
            "IsoCode": "CN",
        }
        return self._json({"Response": {"SendStatusSet": [status], "RequestId": "req-1"}})

    def _authenticate(self, request: web.Request, body: bytes) -> tuple[str, str] | None:
        auth = request.headers.get("Authorization", "")
        algorithm, _, rest = auth.partition(" ")
        parts = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
        if algorithm != "TC3-HMAC-SHA256" or {"Credential", "SignedHeaders", "Signature"} - parts.keys():
            return ("AuthFailure.InvalidAuthorization", "Authorization header is malformed")
        secret_id, date, service, terminator = parts["Credential"].split("/")
        if secret_id != SECRET_ID:
            return ("AuthFailure.SecretIdNotFound", "the SecretId is not found")
        timestamp = request.headers["X-TC-Timestamp"]
        if datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d") != date or service != "sms":
            return ("AuthFailure.InvalidAuthorization", "credential scope does not match")
        signed = parts["SignedHeaders"].split(";")
        canonical_headers = "".join(f"{name}:{request.headers[name].strip().lower()}\n" for name in signed)
        canonical_request = "\n".join(
            [
                request.method,
                request.path,
                request.query_string,
                canonical_headers,
                parts["SignedHeaders"],
                hashlib.sha256(body).hexdigest(),
            ]
        )
        string_to_sign = "\n".join(
            [
                "TC3-HMAC-SHA256",
                timestamp,
                f"{date}/{service}/{terminator}",
                hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
            ]
        )
        if not hmac.compare_digest(
            tc3_signature(SECRET_KEY, date, service, string_to_sign), parts["Signature"]
        ):
            return ("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
        return None

    def _error(self, code: str, message: str) -> web.Response:
        return self._json({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "req-e"}})

    @staticmethod
    def _json(doc: dict[str, Any]) -> web.Response:
        # Exactly "application/json", as Tencent answers (the SDK reads errors only then).
        return web.Response(body=json.dumps(doc).encode(), content_type="application/json")


def sms_provider(url: str, secret_key: str = SECRET_KEY) -> TencentSmsProvider:
    return TencentSmsProvider(
        secret_id=SECRET_ID,
        secret_key=secret_key,
        sdk_app_id=APP_ID,
        sign_name=SIGN,
        endpoint=url.removeprefix("http://"),
        scheme="http",
        timeout_seconds=5,
    )


def sms(**changes: Any) -> Outgoing:
    fields: dict[str, Any] = {
        "to": Address(phone=PHONE),
        "provider_template_id": "1234567",
        "data": {"name": "Ms Wang", "gift": "a rose"},
    }
    return outgoing(Channel.SMS, **(fields | changes))


async def test_an_sms_signed_right_is_sent_with_tencents_serial_number(serve) -> None:
    tencent = TencentSms()
    provider = sms_provider(await serve(tencent))
    try:
        result = await provider.send(sms())
    finally:
        await provider.aclose()

    assert result.ok
    assert result.provider == "tencent_sms"
    assert result.provider_message_id == "2645:3270151418616990300312345"
    assert tencent.requests == [
        {
            "PhoneNumberSet": [PHONE],
            "SmsSdkAppId": APP_ID,
            "SignName": SIGN,
            "TemplateId": "1234567",
            "TemplateParamSet": ["Ms Wang", "a rose"],
            "SessionContext": "01JMSG00000000000000000001",
        }
    ]


async def test_an_sms_signed_with_a_wrong_key_is_refused_for_good(serve) -> None:
    tencent = TencentSms()
    provider = sms_provider(await serve(tencent), secret_key="not-the-key")
    try:
        result = await provider.send(sms())
    finally:
        await provider.aclose()

    assert (result.ok, result.retryable) == (False, False)
    assert result.reason.startswith("AuthFailure.SignatureFailure")
    assert tencent.requests == []  # refused before anything was read


@pytest.mark.parametrize(
    ("code", "whole_request", "retryable"),
    [
        ("InternalError.Timeout", True, True),
        ("RequestLimitExceeded", True, True),
        ("LimitExceeded.PhoneNumberDailyLimit", False, True),
        ("InvalidParameterValue.IncorrectPhoneNumber", False, False),
        ("FailedOperation.TemplateIncorrectOrUnapproved", True, False),
        ("UnauthorizedOperation.SmsSdkAppIdVerifyFail", True, False),
    ],
)
async def test_tencents_code_decides_whether_to_try_again(
    serve, code: str, whole_request: bool, retryable: bool
) -> None:
    provider = sms_provider(await serve(TencentSms(answer=code, whole_request_error=whole_request)))
    try:
        result = await provider.send(sms())
    finally:
        await provider.aclose()
    assert (result.ok, result.retryable) == (False, retryable)
    assert result.reason.startswith(f"{code}: ")
    assert "13711112222" not in result.reason  # Tencent quoted the number; the reason does not


async def test_an_sms_api_answering_500_is_tried_again_later(serve) -> None:
    async def broken(_request: web.Request) -> web.Response:
        return web.Response(status=502, text="bad gateway")

    provider = sms_provider(await serve(broken))
    try:
        result = await provider.send(sms())
    finally:
        await provider.aclose()
    assert (result.ok, result.retryable) == (False, True)
    assert result.reason.startswith("ServerNetworkError: ")


async def test_an_sms_without_a_number_fails_for_good(serve) -> None:
    tencent = TencentSms()
    provider = sms_provider(await serve(tencent))
    try:
        result = await provider.send(sms(to=Address()))
    finally:
        await provider.aclose()
    assert (result.ok, result.retryable, result.reason) == (False, False, "no phone number")
    assert tencent.requests == []


# --- WeChat subscribe messages ---------------------------------------------------------------

WX_APP_ID = "wx0123456789abcdef"
WX_SECRET = "wechat-app-secret"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
WX_BODY = "thing1: Your birthday gift is ready\n\ntime2: 2026-05-31\n"


@dataclass
class WechatApi:
    """A stand-in of api.weixin.qq.com: stable tokens for the right app secret, and subscribe
    sends that need the token issued last; `expire()` makes that token stale (42001)."""

    expires_in: int = 7200
    send_errcode: int = 0
    tokens_issued: int = 0
    valid_token: str = ""
    sends: list[dict[str, Any]] = field(default_factory=list)

    def expire(self) -> None:
        self.valid_token = ""

    async def __call__(self, request: web.Request) -> web.Response:
        if request.method == "POST" and request.path == "/cgi-bin/stable_token":
            asked = await request.json()
            if asked.get("grant_type") != "client_credential" or asked.get("appid") != WX_APP_ID:
                return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
            if asked.get("secret") != WX_SECRET:
                return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
            if asked.get("force_refresh") is not False:
                return web.json_response({"errcode": 45011, "errmsg": "force refresh is for leaks"})
            self.tokens_issued += 1
            self.valid_token = f"token-{self.tokens_issued}"
            return web.json_response({"access_token": self.valid_token, "expires_in": self.expires_in})
        if request.method == "POST" and request.path == "/cgi-bin/message/subscribe/send":
            token = request.query.get("access_token", "")
            if not token.startswith("token-"):
                return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
            if token != self.valid_token:
                return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
            self.sends.append({"token": token, **(await request.json())})
            if self.send_errcode:
                return web.json_response({"errcode": self.send_errcode, "errmsg": "as told"})
            return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": 294402298110051942})
        return web.Response(status=404)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wechat_provider(url: str, clock: Clock | None = None, secret: str = WX_SECRET) -> WechatProvider:
    return WechatProvider(
        app_id=WX_APP_ID,
        app_secret=secret,
        api_base=url,
        page="pages/gift/index",
        timeout_seconds=5,
        clock=clock or Clock(),
    )


def wx(**changes: Any) -> Outgoing:
    fields: dict[str, Any] = {
        "to": Address(openid=OPENID),
        "body": WX_BODY,
        "provider_template_id": "tplGift01",
    }
    return outgoing(Channel.WECHAT, **(fields | changes))


async def test_a_subscribe_message_goes_with_a_token_fetched_once(serve) -> None:
    api = WechatApi()
    provider = wechat_provider(await serve(api))
    try:
        first = await provider.send(wx())
        second = await provider.send(wx(message_id="01JMSG00000000000000000002"))
    finally:
        await provider.aclose()

    assert first.ok
    assert second.ok
    assert first.provider == "wechat"
    assert first.provider_message_id == "294402298110051942"
    assert api.tokens_issued == 1  # the second send used the cached token
    assert api.sends[0] == {
        "token": "token-1",
        "touser": OPENID,
        "template_id": "tplGift01",
        "page": "pages/gift/index",
        "data": {"thing1": {"value": "Your birthday gift is ready"}, "time2": {"value": "2026-05-31"}},
    }


async def test_a_token_near_its_expiry_is_fetched_anew_before_the_send(serve) -> None:
    api = WechatApi(expires_in=7200)
    clock = Clock()
    provider = wechat_provider(await serve(api), clock)
    try:
        assert (await provider.send(wx())).ok
        clock.now += 7200 - 301  # still inside the margin WeChat keeps: the cached one
        assert (await provider.send(wx())).ok
        clock.now += 2  # within the last five minutes: WeChat would hand out the next one
        assert (await provider.send(wx())).ok
    finally:
        await provider.aclose()
    assert api.tokens_issued == 2
    assert [s["token"] for s in api.sends] == ["token-1", "token-1", "token-2"]


async def test_a_token_wechat_says_expired_is_refreshed_once_and_the_send_retried(serve) -> None:
    api = WechatApi()
    provider = wechat_provider(await serve(api))
    try:
        assert (await provider.send(wx())).ok
        api.expire()  # WeChat no longer takes token-1, though the cache thinks it valid
        result = await provider.send(wx(message_id="01JMSG00000000000000000002"))
    finally:
        await provider.aclose()
    assert result.ok
    assert api.tokens_issued == 2
    assert [s["token"] for s in api.sends] == ["token-1", "token-2"]


@pytest.mark.parametrize(
    ("errcode", "retryable"), [(43101, False), (-1, True), (45009, True), (47003, False)]
)
async def test_wechats_errcode_decides_whether_to_try_again(serve, errcode: int, retryable: bool) -> None:
    provider = wechat_provider(await serve(WechatApi(send_errcode=errcode)))
    try:
        result = await provider.send(wx())
    finally:
        await provider.aclose()
    assert (result.ok, result.retryable) == (False, retryable)
    assert f"errcode {errcode}" in result.reason


async def test_a_member_who_refused_is_named_so_in_the_reason(serve) -> None:
    provider = wechat_provider(await serve(WechatApi(send_errcode=43101)))
    try:
        result = await provider.send(wx())
    finally:
        await provider.aclose()
    assert result.reason.startswith("member refused or has no subscription")


async def test_a_wrong_app_secret_fails_for_good_without_a_send(serve) -> None:
    api = WechatApi()
    provider = wechat_provider(await serve(api), secret="wrong")
    try:
        result = await provider.send(wx())
    finally:
        await provider.aclose()
    assert (result.ok, result.retryable) == (False, False)
    assert result.reason == "access token refused: errcode 40125: invalid appsecret"
    assert api.sends == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"to": Address()}, "no openid"),
        ({"provider_template_id": ""}, "no WeChat template id for this template"),
        ({"body": "Your gift is ready"}, "body line 1 is not `key: value`"),
        ({"body": "\n \n"}, "body has no `key: value` line"),
    ],
)
async def test_a_subscribe_message_that_cannot_be_made_fails_for_good_without_a_call(
    serve, changes: dict[str, Any], reason: str
) -> None:
    api = WechatApi()
    provider = wechat_provider(await serve(api))
    try:
        result = await provider.send(wx(**changes))
    finally:
        await provider.aclose()
    assert (result.ok, result.retryable, result.reason) == (False, False, reason)
    assert api.tokens_issued == 0
    assert api.sends == []
