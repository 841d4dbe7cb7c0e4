"""The channels' providers, chosen from the settings.

SMS goes by Tencent Cloud and WeChat by subscribe messages when their settings are present,
else to the log (local development). The webhook is always the Standard Webhooks provider: its
URL and secret come with each message, from the tenant's policy. Push has no provider yet and
always goes to the log. The inbox and staff tasks are not providers' work (the service stores
them itself).
"""

from __future__ import annotations

from collections.abc import Iterable

from services.messaging.adapters.providers.log import LogProvider, unconfigured
from services.messaging.adapters.providers.tencent_sms import TencentSmsProvider
from services.messaging.adapters.providers.webhook import WebhookProvider
from services.messaging.adapters.providers.wechat import WechatProvider
from services.messaging.domain.channels import Channel
from services.messaging.service.ports import Provider
from services.messaging.settings import MessagingSettings

__all__ = [
    "LogProvider",
    "TencentSmsProvider",
    "WebhookProvider",
    "WechatProvider",
    "aclose_all",
    "for_channels",
]


def for_channels(settings: MessagingSettings) -> dict[Channel, Provider]:
    """One provider per channel sent through one (sms, wechat, push, webhook)."""
    sms: Provider
    if settings.tencent_sms_configured:
        sms = TencentSmsProvider(
            secret_id=settings.tencent_sms_secret_id,
            secret_key=settings.tencent_sms_secret_key.get_secret_value(),
            sdk_app_id=settings.tencent_sms_app_id,
            sign_name=settings.tencent_sms_sign_name,
            region=settings.tencent_sms_region,
            endpoint=settings.tencent_sms_endpoint,
            scheme=settings.tencent_sms_scheme,
            timeout_seconds=settings.tencent_sms_timeout_seconds,
        )
    else:
        sms = unconfigured(Channel.SMS)
    wechat: Provider
    if settings.wechat_configured:
        wechat = WechatProvider(
            app_id=settings.wechat_app_id,
            app_secret=settings.wechat_app_secret.get_secret_value(),
            api_base=settings.wechat_api_base,
            page=settings.wechat_page,
            timeout_seconds=settings.wechat_timeout_seconds,
        )
    else:
        wechat = unconfigured(Channel.WECHAT)
    return {
        Channel.SMS: sms,
        Channel.WECHAT: wechat,
        Channel.PUSH: unconfigured(Channel.PUSH),
        Channel.WEBHOOK: WebhookProvider(timeout_seconds=settings.webhook_timeout_seconds),
    }


async def aclose_all(providers: Iterable[Provider]) -> None:
    """Close the providers' HTTP clients (at shutdown)."""
    for provider in providers:
        aclose = getattr(provider, "aclose", None)
        if aclose is not None:
            await aclose()
