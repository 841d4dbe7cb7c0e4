"""Gateway settings from the environment; missing or malformed ones stop the start."""

from __future__ import annotations

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chassis.grpc_client import channel_target


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    members_grpc_addr: str = Field(min_length=3)
    coupons_grpc_addr: str = Field(min_length=3)
    messaging_grpc_addr: str = Field(min_length=3)
    feedback_grpc_addr: str = Field(min_length=3)
    mongodb_url: str = Field(min_length=1, description="The gateway's own database: API keys, idempotency")
    namespace: str = Field(
        default="", pattern=r"^[a-z0-9_]*$", validation_alias=AliasChoices("REGULARS_NAMESPACE", "namespace")
    )
    gateway_token_secret: str = Field(min_length=32, description="HMAC key signing member session tokens")
    gateway_api_keys: dict[str, str] = Field(
        default_factory=dict,
        description='Static development keys with every scope, JSON {"key": "tenant id"}',
    )
    gateway_host: str = "0.0.0.0"
    gateway_port: int = Field(default=8000, ge=1, le=65535)
    grpc_timeout_seconds: float = Field(default=3.0, gt=0)
    max_request_body_bytes: int = Field(
        default=1024 * 1024, ge=1, description="A larger request body is refused with 413 before it is read"
    )
    segment_preview_timeout_seconds: float = Field(
        default=120.0,
        gt=0,
        description="Counting a large audience scans it (a minute per million on FerretDB)",
    )
    member_token_ttl_seconds: int = Field(default=900, ge=60, le=86400)
    api_key_cache_seconds: float = Field(
        default=30.0, ge=0, description="Revocation takes effect within this"
    )
    rate_limit_per_second: float = Field(default=100.0, gt=0, description="Per API key")
    rate_limit_burst: int = Field(default=200, ge=1)
    member_rate_limit_per_second: float = Field(default=5.0, gt=0, description="Per member token")
    member_rate_limit_burst: int = Field(default=20, ge=1)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")

    @field_validator("members_grpc_addr", "coupons_grpc_addr", "messaging_grpc_addr", "feedback_grpc_addr")
    @classmethod
    def _dialable(cls, value: str) -> str:
        """host:port, or several comma-separated replicas: refused at start, not on first call."""
        channel_target(value)
        return value

    @property
    def database_name(self) -> str:
        return f"{self.namespace}regulars_gateway"
