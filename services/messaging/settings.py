"""Settings of the messaging service, on top of what every service reads (none of its own yet)."""

from __future__ import annotations

from chassis.settings import ServiceSettings


class MessagingSettings(ServiceSettings):
    pass
