"""Members' rules. Standard library and phonenumbers only: no I/O here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import phonenumbers

from chassis.errors import InvalidArgument

NAME_MAX = 64
NOTES_MAX = 1000
TAG_MAX = 32
TAGS_MAX = 50
GENDERS = frozenset({"female", "male", "unknown"})
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
    profile: Profile = field(default_factory=lambda: Profile())
    consent: dict[str, bool] = field(default_factory=dict)
    preferred_channel: str = ""
    blacklist_reason: str = ""
    openid: str = ""
    referred_by: Referrer | None = None
    tier: str = ""


@dataclass(frozen=True)
class Referrer:
    """Who brought a member in: another member (their referral code) or an assistant (badge code)."""

    kind: str  # "member" | "staff"
    id: str
    code: str


CONSENT_CHANNELS = ("sms", "wechat", "app", "phone")
# What customers reply to an SMS to stop them ("reply T to unsubscribe").
UNSUBSCRIBE_REPLIES = frozenset({"T", "TD", "退订", "STOP", "UNSUBSCRIBE"})


def consent_channel(field_name: str, channel: str) -> str:
    channel = channel.strip().lower()
    if channel not in CONSENT_CHANNELS:
        raise InvalidArgument(field_name, f"{field_name} must be one of {', '.join(CONSENT_CHANNELS)}")
    return channel


def is_unsubscribe(text: str) -> bool:
    return text.strip().upper() in UNSUBSCRIBE_REPLIES


def blacklist_reason(raw: str) -> str:
    return _bounded("reason", " ".join(raw.split()), 200)


def display_names(name: str | None, surname: str | None) -> dict[str, str]:
    """The name fields given for a profile change, validated like at enrolment."""
    changes: dict[str, str] = {}
    if name is not None:
        changes["name"] = _required_name("name", name)
    if surname is not None:
        changes["surname"] = _optional_name("surname", surname)
    return changes


@dataclass(frozen=True)
class Profile:
    """What the shop knows about the customer beyond the name: for greetings, gifts, targeting."""

    gender: str = "unknown"
    birthday: tuple[int, int, int | None] | None = None  # (month, day, year or None)
    tags: tuple[str, ...] = ()
    notes: str = ""
    card_no: str = ""

    @classmethod
    def parse(
        cls,
        *,
        gender: str = "",
        birthday: tuple[int, int, int] | None = None,
        tags: Sequence[str] = (),
        notes: str = "",
        card_no: str = "",
    ) -> Profile:
        gender = gender.strip().lower() or "unknown"
        if gender not in GENDERS:
            raise InvalidArgument("gender", f"gender must be one of {sorted(GENDERS)}")
        return cls(
            gender=gender,
            birthday=_birthday(birthday) if birthday else None,
            tags=_tags(tags),
            notes=_bounded("notes", notes.strip(), NOTES_MAX),
            card_no=_bounded("card_no", card_no.strip(), 64),
        )


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
    profile: Profile = field(default_factory=lambda: Profile())
    openid: str = ""
    unionid: str = ""
    referral_code: str = ""

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
        profile: Profile | None = None,
        openid: str = "",
        unionid: str = "",
        referral_code: str = "",
    ) -> Enrolment:
        """A mini-program may enrol with only the member's openid: the phone is then optional."""
        if not tenant_id.strip():
            raise InvalidArgument("tenant_id", "tenant_id is required")
        openid, unionid = _wechat_id("openid", openid), _wechat_id("unionid", unionid)
        if unionid and not openid:
            raise InvalidArgument("openid", "openid is required with a unionid")
        channel = channel or (
            "mini_program" if openid else "referral" if referral_code.strip() else "store_app"
        )
        if channel not in CHANNELS:
            raise InvalidArgument("channel", f"channel must be one of {sorted(CHANNELS)}")
        return cls(
            tenant_id=tenant_id,
            phone=normalise_phone(phone, default_region) if phone.strip() or not openid else "",
            name=_required_name("name", name),
            surname=_optional_name("surname", surname),
            store_id=store_id.strip(),
            channel=channel,
            staff_code=staff_code.strip().upper()[:32],
            owner_staff_id=owner_staff_id.strip()[:64],
            profile=profile or Profile(),
            openid=openid,
            unionid=unionid,
            referral_code=referral_code.strip().upper()[:32],
        )


def _wechat_id(field_name: str, raw: str) -> str:
    """WeChat openids/unionids are 28-char URL-safe strings; accept any such token up to 64."""
    value = raw.strip()
    if len(value) > 64 or not all(c.isalnum() or c in "-_" for c in value):
        raise InvalidArgument(field_name, f"{field_name} must be up to 64 letters, digits, - or _")
    return value


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


def _birthday(raw: tuple[int, int, int]) -> tuple[int, int, int | None]:
    month, day, year = raw
    try:
        date(year or 2000, month, day)  # 2000 is a leap year: 29 February stays possible
    except ValueError:
        raise InvalidArgument("birthday", "birthday is not a date") from None
    if year and not 1900 <= year <= 2100:
        raise InvalidArgument("birthday.year", "birthday year must be between 1900 and 2100")
    return month, day, year or None


def _tags(raw: Sequence[str]) -> tuple[str, ...]:
    tags = tuple(dict.fromkeys(" ".join(t.split()) for t in raw if t.strip()))
    if len(tags) > TAGS_MAX:
        raise InvalidArgument("tags", f"at most {TAGS_MAX} tags")
    for t in tags:
        _bounded("tags", t, TAG_MAX)
    return tags


def _bounded(field_name: str, value: str, limit: int) -> str:
    if len(value) > limit:
        raise InvalidArgument(field_name, f"{field_name} is longer than {limit} characters")
    return value


@dataclass(frozen=True)
class Activity:
    """How long someone has been a member and how often they bought: what a reviewer's risk is
    weighed on (feedback asks)."""

    member_id: str
    registered_at: datetime
    purchase_count: int
    purchases_at_store: int
    last_purchase_at: datetime | None
    blacklisted: bool
