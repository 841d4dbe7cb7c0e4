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
    survey_page_url: str = Field(
        default="http://127.0.0.1:8000/v1/surveys/{token}",
        description="The page a satisfaction survey's link opens, with {token} (the mini-program's page)",
    )
