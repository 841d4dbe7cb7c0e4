"""Messaging's providers without any server: which provider each channel gets from the settings,
settings that configure a provider in part refused at start-up, the log channel keeping
addresses and texts out of production logs, WeChat's data read from the rendered body, and which
of Tencent's codes are worth another try."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from chassis import logs
from services.messaging.adapters import providers
from services.messaging.adapters.providers import (
    LogProvider,
    TencentSmsProvider,
    WebhookProvider,
    WechatProvider,
)
from services.messaging.adapters.providers.log import masked
from services.messaging.adapters.providers.tencent_sms import retryable
from services.messaging.adapters.providers.wechat import TemplateShapeError, subscribe_data
from services.messaging.domain.channels import Channel, MessageClass
from services.messaging.service.ports import Address, Outgoing
from services.messaging.settings import MessagingSettings

REQUIRED: dict[str, Any] = {
    "mongodb_url": "mongodb://x",
    "kafka_bootstrap_servers": "k:9092",
    "grpc_port": 50055,
    "members_grpc_addr": "members:50051",
}
SMS = {
    "tencent_sms_secret_id": "AKID1",
    "tencent_sms_secret_key": "sk-0a1b2c",
    "tencent_sms_app_id": "1400000001",
    "tencent_sms_sign_name": "Regulars",
}
WECHAT = {"wechat_app_id": "wx1", "wechat_app_secret": "secret"}


def settings(**values: Any) -> MessagingSettings:
    return MessagingSettings(**REQUIRED, **values)


async def test_channels_without_provider_settings_go_to_the_log() -> None:
    chosen = providers.for_channels(settings())
    try:
        assert set(chosen) == {Channel.SMS, Channel.WECHAT, Channel.PUSH, Channel.WEBHOOK}
        assert [chosen[c].name for c in (Channel.SMS, Channel.WECHAT, Channel.PUSH)] == [
            "log:sms",
            "log:wechat",
            "log:push",
        ]
        assert all(isinstance(chosen[c], LogProvider) for c in (Channel.SMS, Channel.WECHAT, Channel.PUSH))
        assert isinstance(chosen[Channel.WEBHOOK], WebhookProvider)
    finally:
        await providers.aclose_all(chosen.values())


async def test_configured_providers_are_the_real_ones_and_push_stays_on_the_log() -> None:
    chosen = providers.for_channels(settings(**SMS, **WECHAT))
    try:
        assert isinstance(chosen[Channel.SMS], TencentSmsProvider)
        assert isinstance(chosen[Channel.WECHAT], WechatProvider)
        assert isinstance(chosen[Channel.PUSH], LogProvider)
    finally:
        await providers.aclose_all(chosen.values())


@pytest.mark.parametrize(
    ("values", "missing"),
    [
        ({**SMS, "tencent_sms_sign_name": ""}, "TENCENT_SMS_SIGN_NAME"),
        ({"tencent_sms_secret_key": "sk-0a1b2c"}, "TENCENT_SMS_SECRET_ID"),
        ({"wechat_app_id": "wx1"}, "WECHAT_APP_SECRET"),
    ],
)
def test_a_provider_configured_in_part_is_refused_naming_what_is_missing(
    values: dict[str, str], missing: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        settings(**values)
    assert missing in str(refused.value)


def test_a_send_lease_shorter_than_a_provider_call_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        settings(dispatch_lease_seconds=10, webhook_timeout_seconds=10)
    assert "DISPATCH_LEASE_SECONDS" in str(refused.value)
    assert (
        settings(
            dispatch_lease_seconds=5,
            webhook_timeout_seconds=2,
            tencent_sms_timeout_seconds=2,
            wechat_timeout_seconds=2,
        ).dispatch_lease_seconds
        == 5
    )


def test_provider_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**SMS, **WECHAT, "tencent_sms_scheme": "http", "wechat_page": "pages/x"}.items():
        monkeypatch.setenv(name.upper(), value)
    read = settings()
    assert read.tencent_sms_secret_key.get_secret_value() == "sk-0a1b2c"
    assert "sk-0a1b2c" not in repr(read)  # secrets never printed with the settings
    assert (read.tencent_sms_scheme, read.wechat_page, read.tencent_sms_configured) == (
        "http",
        "pages/x",
        True,
    )


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logs.configure("test", "INFO", stream=stream)
    yield stream
    logs.configure("test", "INFO")


async def test_the_log_channel_logs_no_address_and_no_text_at_info(captured: io.StringIO) -> None:
    out = Outgoing(
        message_id="01JMSG1",
        tenant_id="t1",
        member_id="m1",
        channel=Channel.SMS,
        message_class=MessageClass.CARE,
        template_id="birthday",
        title="Happy birthday",
        body="Ms Wang, your gift is ready",
        to=Address(phone="+8613711112222"),
    )
    result = await LogProvider().send(out)

    assert (result.ok, result.provider, result.provider_message_id) == (True, "log", "log-01JMSG1")
    text = captured.getvalue()
    assert "13711112222" not in text
    assert "Ms Wang" not in text
    line = json.loads(text.strip().splitlines()[-1])
    assert (line["event"], line["message_id"], line["to"]) == ("message_logged", "01JMSG1", "phone …2222")


def test_masking_keeps_at_most_the_last_four_characters() -> None:
    assert [masked(v) for v in ("oUpF8uMuAJO_M2pxb1Q9", "abc", "")] == ["…b1Q9", "…", ""]


def test_wechat_data_is_one_field_per_key_value_line() -> None:
    assert subscribe_data("thing1: Your gift: a rose\n\n  time2 :2026-05-31  \n") == {
        "thing1": {"value": "Your gift: a rose"},
        "time2": {"value": "2026-05-31"},
    }


@pytest.mark.parametrize("body", ["", "just text", "thing 1: spaced key", ": no key"])
def test_a_body_not_in_key_value_lines_is_refused(body: str) -> None:
    with pytest.raises(TemplateShapeError):
        subscribe_data(body)


@pytest.mark.parametrize(
    ("code", "again"),
    [
        ("LimitExceeded.PhoneNumberThirtySecondLimit", True),
        ("RequestLimitExceeded", True),
        ("InternalError.Timeout", True),
        ("ServerNetworkError", True),
        ("InvalidParameterValue.IncorrectPhoneNumber", False),
        ("FailedOperation.TemplateIncorrectOrUnapproved", False),
        ("UnauthorizedOperation.SmsSdkAppIdVerifyFail", False),
        ("AuthFailure.SignatureFailure", False),
    ],
)
def test_only_tencents_throttling_and_internal_errors_are_tried_again(code: str, again: bool) -> None:
    assert retryable(code) is again
