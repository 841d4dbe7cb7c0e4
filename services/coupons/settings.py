"""Settings of the coupons service, on top of what every service reads."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from chassis.settings import ServiceSettings


class CouponsSettings(ServiceSettings):
    members_grpc_addr: str = Field(min_length=3, description="members service host:port (segments)")
    time_zone: str = Field(
        default="Asia/Shanghai",
        description="Where 'end of the day/month' and per-period limits are counted (the chain's zone)",
    )
    coupon_expiring_days: int = Field(default=3, ge=1, le=60, description="Warn this many days before expiry")
    expiry_poll_seconds: float = Field(default=60.0, gt=0)
    template_kept_seconds: float = Field(
        default=0.05,
        ge=0,
        le=5,
        description="How long claims may use an active template read before (0: read every time)",
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value
