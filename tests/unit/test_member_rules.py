from typing import Any

import pytest

from chassis.errors import InvalidArgument
from services.members.domain.model import Enrolment, Profile, normalise_phone


def enrolment(**overrides: Any) -> Enrolment:
    fields: dict[str, Any] = dict(
        tenant_id="t", phone="13800138000", name="Li", surname="Wang", store_id="", channel=""
    )
    fields.update(overrides)
    return Enrolment.parse(**fields, default_region="CN")


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phone_numbers_are_normalised_to_e164(typed: str, e164: str) -> None:
    assert normalise_phone(typed, "CN") == e164


@pytest.mark.parametrize("typed", ["123", "not a phone", "+86 1", "", "   "])
def test_a_malformed_phone_is_rejected_naming_the_field(typed: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        normalise_phone(typed, "CN")
    assert err.value.field == "phone"


def test_a_missing_name_is_rejected_naming_the_field() -> None:
    with pytest.raises(InvalidArgument) as err:
        enrolment(name="   ")
    assert err.value.field == "name"


def test_names_are_trimmed_and_inner_spaces_collapsed() -> None:
    e = enrolment(name="  Mei   Ling ", surname=" Wang ")
    assert (e.name, e.surname) == ("Mei Ling", "Wang")


def test_an_overlong_surname_is_rejected() -> None:
    with pytest.raises(InvalidArgument) as err:
        enrolment(surname="x" * 65)
    assert err.value.field == "surname"


def test_channel_defaults_to_store_app_and_unknown_channels_are_rejected() -> None:
    assert enrolment().channel == "store_app"
    with pytest.raises(InvalidArgument) as err:
        enrolment(channel="carrier_pigeon")
    assert err.value.field == "channel"


def test_a_tenant_is_required() -> None:
    with pytest.raises(InvalidArgument) as err:
        enrolment(tenant_id="")
    assert err.value.field == "tenant_id"


def test_a_profile_keeps_gender_birthday_tags_and_notes() -> None:
    profile = Profile.parse(
        gender="Female", birthday=(2, 29, 0), tags=["vip", " vip ", "likes  red"], notes=" calm "
    )
    assert profile.gender == "female"
    assert profile.birthday == (2, 29, None)
    assert profile.tags == ("vip", "likes red")
    assert profile.notes == "calm"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"gender": "robot"}, "gender"),
        ({"birthday": (2, 30, 0)}, "birthday"),
        ({"birthday": (13, 1, 0)}, "birthday"),
        ({"birthday": (1, 1, 1800)}, "birthday.year"),
        ({"tags": ["x" * 33]}, "tags"),
        ({"notes": "x" * 1001}, "notes"),
    ],
)
def test_a_bad_profile_is_refused_naming_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        Profile.parse(**kwargs)
    assert err.value.field == field
