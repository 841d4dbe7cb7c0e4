"""Settings of the members service, on top of what every service reads."""

from __future__ import annotations

from pydantic import Field

from chassis.settings import ServiceSettings


class MembersSettings(ServiceSettings):
    default_phone_region: str = Field(
        default="CN", pattern=r"^[A-Z]{2}$", description="Region of a phone number given without +country"
    )
