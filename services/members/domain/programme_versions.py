"""Versions of a tenant's programme: what each change makes, and what it changed. No I/O.

A version holds the whole programme and its earning rules, so a purchase scored under
version N can always say what it was scored under. Version 0 is the defaults, which a tenant
that never changed anything runs without any stored version. A change is judged here on the
current version: the sections it names are replaced (each in its dict form, an absent field
taking its default), the rules are checked against the ladder that results, and the next
version lists the sections that really changed — a change that changes nothing makes none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from chassis.errors import InvalidArgument, NotFound
from services.members.domain import earning
from services.members.domain.programme import DEFAULT_PROGRAMME, Programme, parse_programme, programme_to_dict

K = TypeVar("K")
SECTIONS = ("ladder", "points", "birthday", "expiry", "dormant_days", "time_zone")
RULES_SECTION = "earning_rules"
CHANGED_BY_MAX = 128


@dataclass(frozen=True)
class ProgrammeVersion:
    """One version of a tenant's programme: every change makes the next one."""

    tenant_id: str
    version: int  # 0: the defaults, never stored
    programme: Programme = DEFAULT_PROGRAMME
    rules: tuple[earning.EarningRule, ...] = ()
    changed_by: str = ""  # the API key or staff that made it
    changed_at: datetime | None = None
    sections: tuple[str, ...] = ()  # what this version changed from the one before


def defaults(tenant_id: str) -> ProgrammeVersion:
    return ProgrammeVersion(tenant_id, 0)


def with_settings(
    current: ProgrammeVersion, sections: Mapping[str, object], changed_by: str, at: datetime
) -> ProgrammeVersion | None:
    """The next version with `sections` (name -> dict form) replaced; None when nothing changes."""
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        raise InvalidArgument(
            "sections", f"unknown section {unknown[0]!r}; sections are {', '.join(SECTIONS)}"
        )
    if not sections:
        raise InvalidArgument("settings", "name at least one section to change")
    before = programme_to_dict(current.programme)
    programme = parse_programme(before | dict(sections))
    earning.check_rules(programme, current.rules)
    after = programme_to_dict(programme)
    changed = tuple(name for name in SECTIONS if before[name] != after[name])
    return _next(current, programme, current.rules, changed, changed_by, at)


def with_rule(
    current: ProgrammeVersion, rule: object, changed_by: str, at: datetime
) -> ProgrammeVersion | None:
    """The next version with `rule` (dict form) added, or replacing the rule with its id."""
    parsed = earning.parse_rule(rule, "rule")
    ladder = current.programme.ladder.names
    for j, tier in enumerate(sorted(parsed.tiers)):
        if tier not in ladder:
            raise InvalidArgument(f"rule.tiers[{j}]", f"tier {tier!r} is not on the ladder")
    rules = (*(r for r in current.rules if r.id != parsed.id), parsed)
    earning.check_rules(current.programme, rules)
    if parsed in current.rules:
        return None
    return _next(
        current, current.programme, tuple(sorted(rules, key=lambda r: r.id)), (RULES_SECTION,), changed_by, at
    )


def without_rule(current: ProgrammeVersion, rule_id: str, changed_by: str, at: datetime) -> ProgrammeVersion:
    rules = tuple(r for r in current.rules if r.id != rule_id)
    if len(rules) == len(current.rules):
        raise NotFound(f"the programme has no earning rule {rule_id!r}")
    made = _next(current, current.programme, rules, (RULES_SECTION,), changed_by, at)
    assert made is not None
    return made


def _next(
    current: ProgrammeVersion,
    programme: Programme,
    rules: tuple[earning.EarningRule, ...],
    sections: tuple[str, ...],
    changed_by: str,
    at: datetime,
) -> ProgrammeVersion | None:
    if not sections:
        return None
    changed_by = changed_by.strip()
    if not changed_by or len(changed_by) > CHANGED_BY_MAX:
        raise InvalidArgument("changed_by", f"changed_by is required, at most {CHANGED_BY_MAX} characters")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be timezone-aware")
    return ProgrammeVersion(
        current.tenant_id, current.version + 1, programme, rules, changed_by, at.astimezone(UTC), sections
    )


@dataclass(frozen=True)
class Tenants:
    """The tenants a step of the daily calendar covers: those named, or every tenant but those."""

    names: frozenset[str]
    all_but: bool = False

    def __and__(self, other: Tenants) -> Tenants:
        """The tenants both cover (a step's group within a calendar day's tenants)."""
        if self.all_but and other.all_but:
            return Tenants(self.names | other.names, all_but=True)
        if not self.all_but and not other.all_but:
            return Tenants(self.names & other.names)
        named, excluded = (other, self) if self.all_but else (self, other)
        return Tenants(named.names - excluded.names)

    @property
    def none(self) -> bool:
        """Covers no tenant at all (a query for it can be skipped)."""
        return not self.all_but and not self.names


EVERY_TENANT = Tenants(frozenset(), all_but=True)


def grouped(
    customised: Iterable[ProgrammeVersion], setting: Callable[[Programme], K]
) -> list[tuple[K, Tenants]]:
    """Tenants grouped by one setting of their programme, so a daily step runs one query per
    distinct value instead of one per tenant: each tenant that runs its own programme goes to
    its value's group, and every other tenant (the defaults) to the default value's group."""
    by_value: dict[K, set[str]] = {}
    for version in customised:
        by_value.setdefault(setting(version.programme), set()).add(version.tenant_id)
    default = setting(DEFAULT_PROGRAMME)
    departed = {t for value, names in by_value.items() if value != default for t in names}
    groups = [(value, Tenants(frozenset(names))) for value, names in by_value.items() if value != default]
    return [*groups, (default, Tenants(frozenset(departed), all_but=True))]
