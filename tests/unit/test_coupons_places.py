"""A coupon's places in its template's limits: which slot a claim takes, and values no limit counts."""

from __future__ import annotations

from services.coupons.domain.keys import (
    first_free,
    given_back,
    outside,
    period_place,
    period_places_held,
    unlimited,
)


def test_a_member_with_no_coupon_takes_the_first_slot() -> None:
    assert first_free([], 3) == 1


def test_the_lowest_free_slot_is_taken_even_after_a_gap() -> None:
    assert first_free([1, 3], 3) == 2


def test_a_member_holding_every_slot_has_none_free() -> None:
    assert first_free([2, 1], 2) is None


def test_slots_given_back_or_outside_the_limit_do_not_count() -> None:
    assert first_free([given_back("c1"), outside("c2")], 1) == 1


def test_places_no_limit_counts_never_collide_between_coupons() -> None:
    assert outside("c1") != outside("c2")
    assert given_back("c1") != outside("c1")
    assert len({unlimited("c1").stock_no, unlimited("c2").stock_no}) == 2


def test_period_places_count_only_the_period_asked_for() -> None:
    held = [period_place("2026-11", 1), period_place("2026-12", 1), period_place("2026-12", 2), outside("c")]
    assert sorted(period_places_held(held, "2026-12")) == [1, 2]
    assert period_places_held(held, "2026-10") == []
    assert first_free(period_places_held(held, "2026-11"), 2) == 2
