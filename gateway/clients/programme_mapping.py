"""Members protobuf <-> the gateway's schemas for the loyalty programme: its settings, earning
rules, versions and the preview of a cart.

A change goes out as protobuf's own JSON parsing of what the client sent (the schemas' field
names are the proto's), so a field the client left out stays absent in the message and takes
the programme's default in the service; a version comes back field by field.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from regulars.members.v1 import members_pb2

from gateway.clients.members_mapping import shares_out
from gateway.clients.pb_time import optional_moment
from gateway.schemas.programme import (
    BirthdayOut,
    EarningPreviewOut,
    EarningRuleOut,
    ExpiryOut,
    LadderOut,
    PointsSettingsOut,
    ProgrammeSettingsOut,
    ProgrammeVersionOut,
    TierOut,
)


def settings_pb(sections: dict[str, Any]) -> members_pb2.ProgrammeSettings:
    """The sections of a change (name -> what the client sent of it) as ProgrammeSettings."""
    return json_format.ParseDict(sections, members_pb2.ProgrammeSettings())


def rule_pb(rule_id: str, fields: dict[str, Any]) -> members_pb2.EarningRule:
    """An earning rule from the fields the client sent (JSON values) and the id in the path."""
    return json_format.ParseDict({**fields, "id": rule_id}, members_pb2.EarningRule())


def _given(message: Any, field: str) -> Any:
    """The value of an optional field, or None when it is not set."""
    return getattr(message, field) if message.HasField(field) else None


def settings_out(s: members_pb2.ProgrammeSettings) -> ProgrammeSettingsOut:
    ladder, points, expiry = s.ladder, s.points, s.expiry
    return ProgrammeSettingsOut(
        ladder=LadderOut(
            tiers=[TierOut(name=t.name, min_trailing_spend=t.min_trailing_spend) for t in ladder.tiers],
            window_months=ladder.window_months,
            may_go_down=ladder.may_go_down,
            grace_days=ladder.grace_days,
        ),
        points=PointsSettingsOut(
            points_per_unit=points.points_per_unit,
            unit_minor=points.unit_minor,
            rounding=points.rounding,
            earning_payment_types=list(points.earning_payment_types),
            basis=points.basis,
        ),
        birthday=BirthdayOut(multiplier=s.birthday.multiplier, window=s.birthday.window),
        expiry=ExpiryOut(
            kind=expiry.kind,
            months=_given(expiry, "months"),
            month=_given(expiry, "month"),
            day=_given(expiry, "day"),
            years=_given(expiry, "years"),
        ),
        dormant_days=list(s.dormant_days),
        time_zone=s.time_zone,
    )


def rule_out(r: members_pb2.EarningRule) -> EarningRuleOut:
    return EarningRuleOut(
        id=r.id,
        name=r.name,
        valid_from=optional_moment(r, "valid_from"),
        valid_until=optional_moment(r, "valid_until"),
        days_of_week=list(r.days_of_week),
        stores=list(r.stores),
        tiers=list(r.tiers),
        brands=list(r.brands),
        categories=list(r.categories),
        skus=list(r.skus),
        multiplier=_given(r, "multiplier"),
        bonus_points=_given(r, "bonus_points"),
        first_purchase_in_store=r.first_purchase_in_store,
        cap_per_member=_given(r, "cap_per_member") or None,  # 0: no cap
        active=r.active if r.HasField("active") else True,
    )


def version_out(v: members_pb2.ProgrammeVersion) -> ProgrammeVersionOut:
    return ProgrammeVersionOut(
        version=v.version,
        settings=settings_out(v.settings),
        earning_rules=[rule_out(r) for r in v.earning_rules],
        changed_by=v.changed_by or None,
        changed_at=optional_moment(v, "changed_at"),
    )


def earning_preview_out(p: members_pb2.EarningPreview) -> EarningPreviewOut:
    return EarningPreviewOut(
        programme_version=p.programme_version, points=p.points, shares=shares_out(p.shares), tier=p.tier
    )
