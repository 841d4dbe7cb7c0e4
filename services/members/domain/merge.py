"""What merging two records of one person means: the survivor takes everything the duplicate
brings, judged as a change of spending (domain.spending). No I/O here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from services.members.domain import spending, tiers

Birthday = tuple[int, int, int | None]  # month, day, year


@dataclass(frozen=True)
class Duplicate:
    """The record folded into another, as claimed for the merge.

    `brings` is all of its spending and its balance, as a SpendChange (announced by
    member_merged, not points_changed); `applied` the effects already applied to it (effect id
    -> points moved), which the survivor inherits: the duplicate's purchases now point at the
    survivor, and a replayed effect of one must not count it a second time.
    """

    id: str
    brings: spending.SpendChange
    tags: tuple[str, ...] = ()
    owner_staff_id: str = ""
    birthday: Birthday | None = None
    applied: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Survivor:
    """The member a duplicate is folded into, as read."""

    standing: spending.Standing
    owner_staff_id: str = ""
    has_birthday: bool = False
    closed: bool = False  # merged into another member, or erased
    merging: bool = False  # being merged into another member itself


@dataclass(frozen=True)
class Fold:
    """The survivor after the fold: its spending judged again (member_tier_changed when the
    combined spend reaches another tier), the duplicate's tags added, and the duplicate's
    assistant and birthday where the survivor has none ("" and None keep the survivor's)."""

    outcome: spending.Outcome
    tags: tuple[str, ...]
    owner_staff_id: str
    birthday: Birthday | None
    at: datetime


@dataclass(frozen=True)
class Refused:
    """A fold not made, and why: nothing is stored, and the merge gives its claim back."""

    reason: str


def fold(
    survivor: Survivor, duplicate: Duplicate, ladder: tiers.TierLadder, now: datetime, zone: tzinfo = UTC
) -> Fold | Refused:
    """Refuses a survivor that is merged, erased or being merged (the claim is then released).
    The survivor's spend months are judged in the tenant's `zone`."""
    if survivor.closed or survivor.merging:
        return Refused("survivor_id is already merged, erased or being merged")
    return Fold(
        outcome=spending.judge(survivor.standing, duplicate.brings, ladder, now, zone),
        tags=duplicate.tags,
        # Ownership: the survivor keeps its assistant; without one it takes the duplicate's.
        owner_staff_id="" if survivor.owner_staff_id else duplicate.owner_staff_id,
        birthday=None if survivor.has_birthday else duplicate.birthday,
        at=now,
    )


@dataclass(frozen=True)
class Merged:
    """The duplicate is merged away (member_merged): its balance is lowered by what moved."""

    survivor_id: str
    duplicate_id: str
    points_moved: int
    at: datetime
