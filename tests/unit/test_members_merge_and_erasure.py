"""Merge and erasure use cases on in-memory fakes of members' ports: a merge moves once however
often it runs, and a survivor that is merged or erased is refused with the claim released."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chassis.errors import FailedPrecondition, InvalidArgument, NotFound
from services.members.domain import spending, tiers
from services.members.domain.merge import Merged
from services.members.domain.points import EntryReason
from services.members.domain.privacy import Erasure
from services.members.domain.purchases import RecordedPurchase
from services.members.service.merge import Merges
from services.members.service.privacy import Privacy
from services.members.service.purchases import PurchaseEffects
from tests.unit.fakes_members import (
    FakeLedger,
    FakeMembers,
    FakeProgrammes,
    FakePurchases,
    FakeSpending,
    a_purchase,
)

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
LADDER = tiers.DEFAULT_LADDER
PROGRAMMES = FakeProgrammes()  # every tenant runs the defaults


class Members:
    """The use cases wired on fakes, as bootstrap.py wires them on the store."""

    def __init__(self, *member_ids: str) -> None:
        self.spending = FakeSpending(*member_ids)
        self.purchases = FakePurchases()
        self.ledger = FakeLedger(self.spending)
        self.records = FakeMembers(self.spending, self.purchases)
        self.effects = PurchaseEffects(
            self.purchases, self.spending, self.ledger, PROGRAMMES, clock=lambda: NOW
        )
        self.merges = Merges(self.records, self.ledger, PROGRAMMES, clock=lambda: NOW)
        self.privacy = Privacy(self.records, clock=lambda: NOW)

    async def bought(self, member_id: str, paid: int, receipt: str) -> RecordedPurchase:
        recorded, _ = await self.purchases.add(
            RecordedPurchase(a_purchase(paid, member_id, receipt, NOW), paid // 100)
        )
        await self.effects.apply(recorded)
        return recorded

    def standing(self, member_id: str) -> spending.Standing:
        return self.spending.standings[("t1", member_id)]


async def test_a_merge_run_twice_moves_once() -> None:
    m = Members("card", "online")
    await m.bought("card", 150_000, "R1")
    online_purchase = await m.bought("online", 150_000, "R2")

    for _ in range(2):
        await m.merges.merge("t1", "card", "online")

    card, online = m.standing("card"), m.standing("online")
    assert (card.points_balance, card.stats.purchase_count, card.stats.total_spend) == (3_000, 2, 300_000)
    assert card.tier == "silver"  # the combined spend reaches another tier, announced once
    assert [f.tier for f in m.spending.announced if isinstance(f, spending.TierChanged)] == ["silver"]
    assert online.points_balance == 0
    assert m.records.people[("t1", "online")].merged_into == "card"
    assert m.records.announced == [Merged("card", "online", 1_500, NOW)]
    moves = [e["delta"] for e in m.ledger.entries.values() if e["reason"] is EntryReason.MANUAL_ADJUSTMENT]
    assert moves == [-1_500, 1_500]
    # The duplicate's purchase is the survivor's now, and applying it again counts nothing.
    repointed = await m.purchases.get("t1", online_purchase.purchase.id)
    assert repointed is not None
    assert repointed.purchase.member_id == "card"
    await m.effects.apply(repointed)
    assert m.standing("card").stats.purchase_count == 2


async def test_the_survivor_keeps_its_assistant_and_takes_the_duplicates_tags() -> None:
    m = Members("card", "online", "other")
    m.records.people[("t1", "card")].tags = ("paper",)
    m.records.people[("t1", "card")].owner_staff_id = "wang"
    m.records.people[("t1", "online")].tags = ("online", "paper")
    m.records.people[("t1", "online")].owner_staff_id = "zhao"
    m.records.people[("t1", "online")].birthday = (3, 5, None)

    await m.merges.merge("t1", "card", "online")

    card = m.records.people[("t1", "card")]
    assert (card.owner_staff_id, card.tags, card.birthday) == ("wang", ("paper", "online"), (3, 5, None))


async def test_a_merge_into_an_erased_survivor_is_refused_and_releases_the_claim() -> None:
    m = Members("card", "online", "other")
    await m.bought("online", 10_000, "R1")
    assert await m.privacy.erase("t1", "card", "asked by the member")

    with pytest.raises(FailedPrecondition, match="survivor_id is already merged or erased"):
        await m.merges.merge("t1", "card", "online")

    assert m.records.people[("t1", "online")].merging_into == ""
    await m.merges.merge("t1", "other", "online")  # released: it can be merged elsewhere
    assert m.standing("other").points_balance == 100


async def test_a_merge_into_a_merged_survivor_is_refused_and_releases_the_claim() -> None:
    m = Members("card", "online", "third")
    await m.merges.merge("t1", "third", "card")

    with pytest.raises(FailedPrecondition):
        await m.merges.merge("t1", "card", "online")

    assert m.records.people[("t1", "online")].merging_into == ""


async def test_a_survivor_erased_while_the_merge_runs_is_refused_by_the_fold_and_the_claim_released() -> None:
    m = Members("card", "online")
    await m.bought("online", 10_000, "R1")
    erasure = Erasure("card", "", NOW)
    m.records.before_fold = lambda: setattr(m.records.people[("t1", "card")], "erased", erasure)

    with pytest.raises(FailedPrecondition, match="being merged"):
        await m.merges.merge("t1", "card", "online")

    assert m.records.people[("t1", "online")].merging_into == ""
    assert m.standing("card").points_balance == 0
    assert m.records.announced == []


async def test_a_duplicate_another_merge_holds_is_refused_and_keeps_that_claim() -> None:
    m = Members("card", "online", "other")
    m.records.people[("t1", "online")].merging_into = "other"

    with pytest.raises(FailedPrecondition, match="try again"):
        await m.merges.merge("t1", "card", "online")

    assert m.records.people[("t1", "online")].merging_into == "other"


async def test_a_member_cannot_be_merged_into_itself_nor_into_or_from_no_one() -> None:
    m = Members("card")
    with pytest.raises(InvalidArgument):
        await m.merges.merge("t1", "card", "card")
    with pytest.raises(NotFound):
        await m.merges.merge("t1", "nobody", "card")
    with pytest.raises(NotFound):
        await m.merges.merge("t1", "card", "nobody")


async def test_erasing_twice_erases_once_and_announces_once() -> None:
    m = Members("m1")
    m.records.people[("t1", "m1")].tags = ("vip",)

    erased = [await m.privacy.erase("t1", "m1", "x" * 300) for _ in range(2)]

    assert erased == [True, False]
    assert m.records.announced == [Erasure("m1", "x" * 200, NOW)]
    person = m.records.people[("t1", "m1")]
    assert (person.tags, person.erased is not None) == ((), True)
    assert m.standing("m1") == spending.Standing()  # the aggregates stay as they were


async def test_erasing_or_exporting_an_unknown_member_is_not_found() -> None:
    m = Members("m1")
    with pytest.raises(NotFound):
        await m.privacy.erase("t1", "nobody", "")
    with pytest.raises(NotFound):
        await m.privacy.export("t1", "nobody")
    assert '"m1"' in await m.privacy.export("t1", "m1")
