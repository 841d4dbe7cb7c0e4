"""Protobuf <-> the programme's dict form (domain/programme.py, domain/earning.py).

The domain reads and writes programmes and rules as plain dicts whose keys are the proto's
field names, so the mapping is generic: a message becomes a dict of the fields it has set
(optional scalars only when present, so an absent field takes the domain's default), and the
domain's dict becomes a message with protobuf's own JSON parser.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from regulars.members.v1 import members_pb2

from services.members.domain import earning
from services.members.domain import programme_versions as pv
from services.members.domain.programme import programme_to_dict


def plain(message: Message) -> dict[str, Any]:
    """The fields `message` has set, as plain values (timestamps as ISO 8601 strings)."""
    out: dict[str, Any] = {}
    for field, value in message.ListFields():
        if field.is_repeated:
            out[field.name] = [_value(field, v) for v in value]
        else:
            out[field.name] = _value(field, value)
    return out


def _value(field: FieldDescriptor, value: Any) -> Any:
    if isinstance(value, Timestamp):
        return value.ToDatetime(tzinfo=UTC).isoformat()
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return plain(value)
    return value


def sections(settings: members_pb2.ProgrammeSettings, named: list[str]) -> dict[str, Any]:
    """The sections a change replaces: those named, else every section `settings` sets."""
    given = plain(settings)
    chosen = named or list(given)
    return {
        name: given.get(name, {} if name not in ("dormant_days", "time_zone") else None) for name in chosen
    }


def version_pb(v: pv.ProgrammeVersion) -> members_pb2.ProgrammeVersion:
    out = members_pb2.ProgrammeVersion(tenant_id=v.tenant_id, version=v.version, changed_by=v.changed_by)
    json_format.ParseDict(programme_to_dict(v.programme), out.settings)
    for rule in v.rules:
        json_format.ParseDict(earning.rule_to_dict(rule), out.earning_rules.add())
    if v.changed_at is not None:
        out.changed_at.FromDatetime(v.changed_at)
    return out


def shares_pb(scored: earning.Scored) -> list[members_pb2.PointsShare]:
    return [
        members_pb2.PointsShare(source=s.source.value, rule_id=s.rule_id, points=s.points)
        for s in scored.shares
    ]
