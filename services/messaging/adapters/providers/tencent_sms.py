"""SMS through Tencent Cloud (SendSms, API 2021-01-11), with Tencent's official SDK.

Mainland-China SMS may only be sent from a registered template and signature: the message's
provider template id is the Tencent TemplateId, and its variables, in the order they appear in
the text, are the TemplateParamSet. The message id travels as SessionContext, so Tencent's
delivery receipts name the message they are about.

The SDK's asyncio client (httpx underneath) is used rather than its blocking one in a thread:
no worker thread per send caps how many go at once. It makes no retries of its own (one try per
call; the pipeline retries across passes). What is worth another try: Tencent's LimitExceeded.*,
RequestLimitExceeded, InternalError.* and no answer at all; every other code is final (a wrong
number, a template or signature not approved, credentials refused).
"""

from __future__ import annotations

import httpx
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models
from tencentcloud.sms.v20210111.sms_client_async import SmsClient

from chassis.logs import redact_text
from services.messaging.service.ports import Outgoing, ProviderResult

OK = "Ok"
# Tencent's codes (and the SDK's own for an HTTP failure) that another try later can cure.
_RETRYABLE_PREFIXES = (
    "LimitExceeded",
    "RequestLimitExceeded",
    "InternalError",
    "ServerNetworkError",
    "ClientNetworkError",
)


def retryable(code: str) -> bool:
    return code.startswith(_RETRYABLE_PREFIXES)


class TencentSmsProvider:
    name = "tencent_sms"

    def __init__(
        self,
        *,
        secret_id: str,
        secret_key: str,
        sdk_app_id: str,
        sign_name: str,
        region: str = "ap-guangzhou",
        endpoint: str = "sms.tencentcloudapi.com",
        scheme: str = "https",
        timeout_seconds: float = 10.0,
    ) -> None:
        http = HttpProfile(protocol=scheme, endpoint=endpoint, reqTimeout=timeout_seconds, keepAlive=True)
        self._client = SmsClient(Credential(secret_id, secret_key), region, ClientProfile(httpProfile=http))
        self._sdk_app_id = sdk_app_id
        self._sign_name = sign_name

    async def send(self, out: Outgoing) -> ProviderResult:
        if not out.to.phone:
            return self._failed("no phone number", retryable=False)
        if not out.provider_template_id:
            return self._failed("no Tencent SMS template id for this template", retryable=False)
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [out.to.phone]
        request.SmsSdkAppId = self._sdk_app_id
        request.SignName = self._sign_name
        request.TemplateId = out.provider_template_id
        request.TemplateParamSet = list(out.data.values())
        request.SessionContext = out.message_id
        try:
            response = await self._client.SendSms(request)
        except TencentCloudSDKException as exc:
            code = str(exc.get_code() or "")
            return self._failed(f"{code}: {exc.get_message()}", retryable=retryable(code))
        except httpx.TransportError as exc:
            return self._failed(f"SMS API unreachable: {type(exc).__name__}", retryable=True)
        statuses = response.SendStatusSet or []
        if not statuses:
            return self._failed("SendSms answered no status", retryable=True)
        status = statuses[0]
        code = str(status.Code or "")
        if code == OK:
            return ProviderResult(ok=True, provider=self.name, provider_message_id=str(status.SerialNo))
        return self._failed(f"{code}: {status.Message or ''}", retryable=retryable(code))

    def _failed(self, reason: str, *, retryable: bool) -> ProviderResult:
        # Tencent's messages may quote the number: never keep one in a reason.
        return ProviderResult(ok=False, provider=self.name, reason=redact_text(reason), retryable=retryable)

    async def aclose(self) -> None:
        await self._client.close()
