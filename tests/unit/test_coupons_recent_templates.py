"""The claim path's copies of templates: kept a moment when active, one read for many claims,
never kept when not active, and a failed or stopped read leaves nothing behind."""

from __future__ import annotations

import asyncio

import pytest

from services.coupons.adapters.recent_templates import RecentTemplates
from services.coupons.domain.templates import StoredTemplate, TemplateState
from tests.unit.fakes_coupons import a_template


class Reads:
    """A template store that counts its reads; each read waits until `released` is set."""

    def __init__(self, state: TemplateState = TemplateState.ACTIVE) -> None:
        self.template = StoredTemplate(a_template(state=state))
        self.count = 0
        self.released = asyncio.Event()
        self.released.set()
        self.fail = False

    async def get(self, tenant_id: str, template_id: str) -> StoredTemplate | None:
        self.count += 1
        await self.released.wait()
        if self.fail:
            raise ConnectionError("the store is away")
        return self.template if (tenant_id, template_id) == ("t1", "tpl-1") else None


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_an_active_template_is_read_once_for_the_claims_of_the_next_moment_then_again() -> None:
    store, clock = Reads(), Clock()
    recent = RecentTemplates(store, 0.05, clock)

    first = await recent.get("t1", "tpl-1")
    clock.now += 0.04
    second = await recent.get("t1", "tpl-1")
    reads_within = store.count
    clock.now += 0.02
    third = await recent.get("t1", "tpl-1")

    assert first is second is third is store.template
    assert (reads_within, store.count) == (1, 2)


async def test_claims_that_miss_at_the_same_moment_share_one_read() -> None:
    store = Reads()
    store.released.clear()
    recent = RecentTemplates(store, 0.05, Clock())

    waiting = [asyncio.ensure_future(recent.get("t1", "tpl-1")) for _ in range(10)]
    await asyncio.sleep(0)
    store.released.set()
    found = await asyncio.gather(*waiting)

    assert store.count == 1
    assert all(f is store.template for f in found)


@pytest.mark.parametrize("state", [TemplateState.DRAFT, TemplateState.PAUSED, TemplateState.ENDED])
async def test_a_template_not_on_offer_is_read_every_time_so_its_activation_counts_at_once(
    state: TemplateState,
) -> None:
    store = Reads(state)
    recent = RecentTemplates(store, 0.05, Clock())

    await recent.get("t1", "tpl-1")
    await recent.get("t1", "tpl-1")

    assert store.count == 2


async def test_an_unknown_template_is_not_kept_and_zero_seconds_reads_every_time() -> None:
    store = Reads()
    unknown = RecentTemplates(store, 0.05, Clock())
    assert await unknown.get("t1", "nope") is None
    assert await unknown.get("t1", "nope") is None
    never = RecentTemplates(store, 0, Clock())
    await never.get("t1", "tpl-1")
    await never.get("t1", "tpl-1")

    assert store.count == 4


async def test_a_failed_read_reaches_its_claims_and_the_next_claim_reads_again() -> None:
    store = Reads()
    store.fail = True
    recent = RecentTemplates(store, 0.05, Clock())

    results = await asyncio.gather(
        recent.get("t1", "tpl-1"), recent.get("t1", "tpl-1"), return_exceptions=True
    )
    store.fail = False
    after = await recent.get("t1", "tpl-1")

    assert [type(r) for r in results] == [ConnectionError, ConnectionError]
    assert (after, store.count) == (store.template, 2)


async def test_a_claim_stopped_while_reading_does_not_stop_the_read_the_others_wait_for() -> None:
    store = Reads()
    store.released.clear()
    recent = RecentTemplates(store, 0.05, Clock())

    stopped = asyncio.ensure_future(recent.get("t1", "tpl-1"))
    other = asyncio.ensure_future(recent.get("t1", "tpl-1"))
    await asyncio.sleep(0)
    stopped.cancel()
    await asyncio.sleep(0)
    store.released.set()

    assert await other is store.template
    assert stopped.cancelled()
    assert store.count == 1
