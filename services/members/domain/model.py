"""Members' rules. Standard library and phonenumbers only: no I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import phonenumbers

from chassis.errors import InvalidArgument

NAME_MAX = 64
CHANNELS = frozenset({"store_app", "mini_program", "referral", "import", "staff_app"})


@dataclass(frozen=True)
class Member:
    id: str
    tenant_id: str
    phone: str
    name: str
    surname: str
    home_store_id: str
    channel: str
    registered_at: datetime
    owner_staff_id: str = ""


@dataclass(frozen=True)
class Enrolment:
    """A validated request to enrol; build it with `Enrolment.parse`."""

    tenant_id: str
    phone: str
    name: str
    surname: str
    store_id: str
    channel: str
    staff_code: str = ""
    owner_staff_id: str = ""

    @classmethod
    def parse(
        cls,
        *,
        tenant_id: str,
        phone: str,
        name: str,
        surname: str,
        store_id: str,
        channel: str,
        default_region: str,
        staff_code: str = "",
        owner_staff_id: str = "",
    ) -> Enrolment:
        if not tenant_id.strip():
            raise InvalidArgument("tenant_id", "tenant_id is required")
        channel = channel or "store_app"
        if channel not in CHANNELS:
            raise InvalidArgument("channel", f"channel must be one of {sorted(CHANNELS)}")
        return cls(
            tenant_id=tenant_id,
            phone=normalise_phone(phone, default_region),
            name=_required_name("name", name),
            surname=_optional_name("surname", surname),
            store_id=store_id.strip(),
            channel=channel,
            staff_code=staff_code.strip().upper()[:32],
            owner_staff_id=owner_staff_id.strip()[:64],
        )


def normalise_phone(raw: str, default_region: str) -> str:
    """E.164 form of a phone typed at a till ("138 0013 8000" in CN -> "+8613800138000")."""
    if not raw.strip():
        raise InvalidArgument("phone", "phone is required")
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidArgument("phone", "phone is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidArgument("phone", "phone is not a valid number for its region")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _required_name(field: str, value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise InvalidArgument(field, f"{field} is required")
    return _optional_name(field, value)


def _optional_name(field: str, value: str) -> str:
    value = " ".join(value.split())
    if len(value) > NAME_MAX:
        raise InvalidArgument(field, f"{field} is longer than {NAME_MAX} characters")
    return value
