"""Settings of the messaging service, on top of what every service reads."""

from __future__ import annotations

from pydantic import Field

from chassis.settings import ServiceSettings


class MessagingSettings(ServiceSettings):
    members_grpc_addr: str = Field(
        min_length=3, description="members service host:port (phone numbers, profiles, names)"
    )
    dispatch_poll_seconds: float = Field(
        default=2.0, gt=0, description="How often due messages (deferred, retried, left) are sent"
    )
