"""Settings of the feedback service, on top of what every service reads."""

from __future__ import annotations

from pydantic import Field

from chassis.settings import ServiceSettings


class FeedbackSettings(ServiceSettings):
    members_grpc_addr: str = Field(
        min_length=3, description="members service host:port (reviewer activity, blacklist)"
    )
    coupons_grpc_addr: str = Field(
        min_length=3, description="coupons service host:port (compensation coupons)"
    )
    messaging_grpc_addr: str = Field(
        min_length=3, description="messaging service host:port (messages sent, for evidence packs)"
    )
    case_clock_seconds: float = Field(
        default=60.0, gt=0, description="How often SLAs and follow-ups are checked"
    )
