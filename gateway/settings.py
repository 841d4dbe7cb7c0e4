"""Gateway settings from the environment; missing or malformed ones stop the start."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    members_grpc_addr: str = Field(min_length=3)
    coupons_grpc_addr: str = Field(min_length=3)
    messaging_grpc_addr: str = Field(min_length=3)
    feedback_grpc_addr: str = Field(min_length=3)
    gateway_api_keys: dict[str, str] = Field(min_length=1, description='JSON object {"api key": "tenant id"}')
    gateway_host: str = "0.0.0.0"
    gateway_port: int = Field(default=8000, ge=1, le=65535)
    grpc_timeout_seconds: float = Field(default=3.0, gt=0)
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
