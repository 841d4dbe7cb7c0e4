"""Settings of the messaging service, on top of what every service reads.

The channel providers' settings are optional: a channel whose provider is not configured goes to
the log (local development). A provider configured in part is refused at start-up, naming what is
missing, so a typo never quietly turns real SMS into log lines.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from chassis.settings import ServiceSettings


class MessagingSettings(ServiceSettings):
    """`LINK_SECRET` has a development default only: set it (16+ random characters) in production,
    or whoever reads the source can work out the token of a message's link from its id and url and
    tap it in the member's name (skewing clicks and attribution)."""

    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
        description="Where the gateway serves /r/{token}: tracked links in messages start with it",
    )
    link_secret: str = Field(
        default="dev-only-link-secret-change-me",
        min_length=16,
        description=(
            "HMAC key of tracked-link tokens. Set it in production (and keep it: changing it makes "
            "a re-rendered message's links new tokens; the ones already sent keep working)"
        ),
    )
    members_grpc_addr: str = Field(
        min_length=3, description="members service host:port (phone numbers, profiles, names)"
    )
    dispatch_poll_seconds: float = Field(
        default=2.0, gt=0, description="How often due messages (deferred, retried, left) are sent"
    )
    dispatch_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description=(
            "How long a sender holds a message: longer than any provider call, or a slow send may "
            "be sent again by another pass; what a crash costs in delay"
        ),
    )
    messaging_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        description="How long sending keeps a template or policy in memory (0: read the store every send)",
    )
    survey_page_url: str = Field(
        default="http://127.0.0.1:8000/v1/surveys/{token}",
        description="The page a satisfaction survey's link opens, with {token} (the mini-program's page)",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Per call to a tenant's webhook endpoint"
    )
    tencent_sms_secret_id: str = Field(default="", description="Tencent Cloud API SecretId")
    tencent_sms_secret_key: SecretStr = Field(
        default=SecretStr(""), description="Tencent Cloud API SecretKey"
    )
    tencent_sms_app_id: str = Field(default="", description="SmsSdkAppId of the SMS application")
    tencent_sms_sign_name: str = Field(
        default="", description="The registered SMS signature (SignName), required in mainland China"
    )
    tencent_sms_region: str = Field(default="ap-guangzhou", description="Tencent Cloud region")
    tencent_sms_endpoint: str = Field(
        default="sms.tencentcloudapi.com", min_length=1, description="host[:port] of the SMS API"
    )
    tencent_sms_scheme: Literal["https", "http"] = Field(
        default="https", description="http only for a local stand-in of the API"
    )
    tencent_sms_timeout_seconds: float = Field(default=10.0, gt=0, description="Per SendSms call")
    wechat_app_id: str = Field(default="", description="The mini-program's AppID")
    wechat_app_secret: SecretStr = Field(default=SecretStr(""), description="The mini-program's AppSecret")
    wechat_api_base: str = Field(
        default="https://api.weixin.qq.com", min_length=1, description="WeChat's API root URL"
    )
    wechat_page: str = Field(
        default="", description="Mini-program page a subscribe message opens; empty: none"
    )
    wechat_timeout_seconds: float = Field(default=10.0, gt=0, description="Per WeChat API call")

    @property
    def tencent_sms_configured(self) -> bool:
        return bool(self.tencent_sms_secret_id)

    @property
    def wechat_configured(self) -> bool:
        return bool(self.wechat_app_id)

    @model_validator(mode="after")
    def _lease_outlasts_providers(self) -> MessagingSettings:
        """A send held for less than a provider may take could be sent again by another pass."""
        longest = max(
            self.webhook_timeout_seconds, self.tencent_sms_timeout_seconds, self.wechat_timeout_seconds
        )
        if self.dispatch_lease_seconds <= longest:
            raise ValueError(
                f"DISPATCH_LEASE_SECONDS must be longer than the longest provider timeout ({longest} s)"
            )
        return self

    @model_validator(mode="after")
    def _providers_complete(self) -> MessagingSettings:
        sms = {
            "tencent_sms_secret_id": self.tencent_sms_secret_id,
            "tencent_sms_secret_key": self.tencent_sms_secret_key.get_secret_value(),
            "tencent_sms_app_id": self.tencent_sms_app_id,
            "tencent_sms_sign_name": self.tencent_sms_sign_name,
        }
        wechat = {
            "wechat_app_id": self.wechat_app_id,
            "wechat_app_secret": self.wechat_app_secret.get_secret_value(),
        }
        for group in (sms, wechat):
            if any(group.values()):
                missing = [name.upper() for name, value in group.items() if not value]
                if missing:
                    raise ValueError(
                        f"set {', '.join(missing)} too, or none of {', '.join(n.upper() for n in group)}"
                    )
        return self
