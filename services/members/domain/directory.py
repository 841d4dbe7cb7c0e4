"""The chain's directory: stores and the staff who look after members.

A member belongs to one assistant (the QR code on the badge). When an assistant leaves, a
handover moves their members and codes to a successor; the rules for that live here.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chassis.errors import FailedPrecondition, InvalidArgument

STORE_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
NAME_MAX = 64
# Unambiguous when read aloud or typed from a badge: no 0/O, 1/I/L.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8


class Role(StrEnum):
    ASSISTANT = "assistant"
    MANAGER = "manager"


class StaffStatus(StrEnum):
    ACTIVE = "active"
    LEFT = "left"


@dataclass(frozen=True)
class Store:
    tenant_id: str
    code: str
    name: str
    city: str
    created_at: datetime


@dataclass(frozen=True)
class Staff:
    id: str
    tenant_id: str
    store_code: str
    name: str
    role: Role
    status: StaffStatus
    referral_codes: tuple[str, ...]
    successor_id: str = ""


@dataclass(frozen=True)
class Handover:
    id: str
    tenant_id: str
    from_staff_id: str
    to_staff_id: str
    requested_by: str
    done: bool
    members_moved: int
    started_at: datetime
    finished_at: datetime | None


def store_code(raw: str) -> str:
    code = raw.strip().lower()
    if not STORE_CODE.match(code):
        raise InvalidArgument(
            "code", "store code must be 1-32 of a-z, 0-9, '-' or '_', starting with a letter or digit"
        )
    return code


def display_name(field: str, raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise InvalidArgument(field, f"{field} is required")
    if len(name) > NAME_MAX:
        raise InvalidArgument(field, f"{field} is longer than {NAME_MAX} characters")
    return name


def new_referral_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_referral_code(raw: str) -> str:
    return raw.strip().upper()


def check_handover(leaving: Staff, successor: Staff) -> None:
    """Who may hand over to whom: both of the tenant, different people, the successor active."""
    if leaving.id == successor.id:
        raise InvalidArgument("to_staff_id", "an assistant cannot hand over to themselves")
    if leaving.tenant_id != successor.tenant_id:
        raise InvalidArgument("to_staff_id", "the successor belongs to another tenant")
    if successor.status is not StaffStatus.ACTIVE:
        raise FailedPrecondition("the successor has left; choose an active assistant")
    if leaving.status is StaffStatus.LEFT and leaving.successor_id not in ("", successor.id):
        raise FailedPrecondition("this assistant already handed over to someone else")
