"""Settings of the messaging service, on top of what every service reads."""

from __future__ import annotations

from pydantic import Field

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
