"""Settings of the members service, on top of what every service reads."""

from __future__ import annotations

from pydantic import Field

from chassis.settings import ServiceSettings


class MembersSettings(ServiceSettings):
    default_phone_region: str = Field(
        default="CN", pattern=r"^[A-Z]{2}$", description="Region of a phone number given without +country"
    )
    dormant_days: tuple[int, ...] = Field(
        default=(30, 60, 90), description="Days without a purchase after which member_dormant is announced"
    )
