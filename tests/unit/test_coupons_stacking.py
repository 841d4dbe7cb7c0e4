import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest

from services.coupons.domain.discounts import Decision, Reason
from services.coupons.domain.stacking import Candidate, Suggestion, suggest

DAY0 = datetime(2026, 11, 1, tzinfo=UTC)


def cand(
    coupon_id: str, template_id: str, amount: int, *, stackable: bool = True, day: int = 10
) -> Candidate:
    decision = Decision(True, amount, Reason.OK, "takes it off", amount)
    return Candidate(coupon_id, template_id, stackable, decision, DAY0 + timedelta(days=day))


def test_an_exclusive_coupon_beats_stackables_that_give_less_together() -> None:
    got = suggest(
        [cand("E", "te", 5_000, stackable=False), cand("A", "ta", 2_000), cand("B", "tb", 2_000)], 100_000
    )
    assert got == Suggestion(
        chosen=(("E", 5_000),),
        total_discount=5_000,
        rejected={
            "A": (Reason.NOT_STACKABLE, "not stackable with coupon E, which is better for this cart"),
            "B": (Reason.NOT_STACKABLE, "not stackable with coupon E, which is better for this cart"),
        },
    )


def test_stackables_that_give_more_together_beat_an_exclusive_coupon() -> None:
    got = suggest(
        [
            cand("E", "te", 3_000, stackable=False),
            cand("A", "ta", 2_000, day=1),
            cand("B", "tb", 2_000, day=2),
        ],
        100_000,
    )
    assert got.chosen == (("A", 2_000), ("B", 2_000))
    assert got.total_discount == 4_000
    assert got.rejected == {
        "E": (Reason.NOT_STACKABLE, "it can only be used alone, and coupons A and B are better for this cart")
    }


def test_only_one_coupon_per_template_is_used() -> None:
    got = suggest([cand("A1", "ta", 3_000), cand("A2", "ta", 2_000), cand("B", "tb", 1_000)], 100_000)
    assert got.chosen == (("A1", 3_000), ("B", 1_000))
    assert got.rejected == {
        "A2": (Reason.NOT_STACKABLE, "coupon A1 of the same template is better; one per checkout")
    }


def test_the_combined_discount_is_capped_at_the_cart_total_and_the_amounts_add_up_to_it() -> None:
    got = suggest([cand("A", "ta", 3_000, day=1), cand("B", "tb", 4_000, day=2)], 5_000)
    assert got.chosen == (("A", 3_000), ("B", 2_000))
    assert got.total_discount == 5_000
    assert got.rejected == {}


def test_a_single_exclusive_coupon_is_capped_at_the_cart_total() -> None:
    assert suggest([cand("E", "te", 9_000, stackable=False)], 2_500).chosen == (("E", 2_500),)


def test_on_a_tie_fewer_coupons_win() -> None:
    got = suggest(
        [cand("X", "tx", 5_000, day=5), cand("Y", "ty", 3_000, day=1), cand("Z", "tz", 3_000, day=2)], 5_000
    )
    assert got.chosen == (("X", 5_000),)
    assert got.rejected == {
        "Y": (
            Reason.NOT_STACKABLE,
            "not needed: coupon X is already enough to take the whole cart total off",
        ),
        "Z": (
            Reason.NOT_STACKABLE,
            "not needed: coupon X is already enough to take the whole cart total off",
        ),
    }


def test_on_a_tie_the_coupon_that_expires_first_is_used() -> None:
    got = suggest(
        [
            cand("LATE", "t1", 3_000, stackable=False, day=9),
            cand("SOON", "t2", 3_000, stackable=False, day=1),
        ],
        10_000,
    )
    assert got.chosen == (("SOON", 3_000),)
    same_template = suggest([cand("LATE", "t", 3_000, day=9), cand("SOON", "t", 3_000, day=1)], 10_000)
    assert same_template.chosen == (("SOON", 3_000),)


def test_when_capped_the_soon_expiring_coupons_are_used_and_the_lasting_one_kept() -> None:
    # A50 alone is not enough for 60, two coupons are needed either way; A30 + B30 reach it and expire first.
    coupons = [
        cand("A50", "ta", 5_000, day=9),
        cand("A30", "ta", 3_000, day=1),
        cand("B30", "tb", 3_000, day=2),
    ]
    got = suggest(coupons, 6_000)
    assert got.chosen == (("A30", 3_000), ("B30", 3_000))
    assert got.total_discount == 6_000
    assert got.rejected == {
        "A50": (Reason.NOT_STACKABLE, "coupon A30 of the same template is better; one per checkout")
    }


def test_coupons_that_do_not_apply_keep_their_own_reason() -> None:
    below = Candidate(
        "T", "tt", True, Decision(False, 0, Reason.BELOW_THRESHOLD, "spend 300.00 ...", 29_900), DAY0
    )
    nothing = cand("Z", "tz", 0)
    got = suggest([below, nothing, cand("A", "ta", 1_000)], 29_900)
    assert got.chosen == (("A", 1_000),)
    assert got.rejected == {
        "T": (Reason.BELOW_THRESHOLD, "spend 300.00 ..."),
        "Z": (Reason.NOT_STACKABLE, "it takes nothing off this cart"),
    }


def test_no_usable_coupon_suggests_nothing() -> None:
    assert suggest([], 10_000) == Suggestion((), 0, {})
    assert suggest([cand("A", "ta", 1_000)], 0) == Suggestion(
        (), 0, {"A": (Reason.NOT_STACKABLE, "it takes nothing off this cart")}
    )


def test_duplicate_coupon_ids_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unique"):
        suggest([cand("A", "ta", 1), cand("A", "tb", 2)], 10)


def _brute_force(candidates: list[Candidate], cart_total: int) -> tuple[int, list[str]]:
    """Every allowed selection, ranked by the documented keys: total, count, expiry order."""

    def value(c: Candidate) -> int:
        return min(c.decision.discount, cart_total)

    def key(c: Candidate) -> tuple[datetime, int, str]:
        return (c.valid_until, -value(c), c.coupon_id)

    usable = [c for c in candidates if c.decision.applies]
    best: tuple[int, int, list[tuple[datetime, int, str]]] | None = None
    best_ids: list[str] = []
    for n in range(len(usable) + 1):
        for combo in itertools.combinations(usable, n):
            if n > 1 and (not all(c.stackable for c in combo) or len({c.template_id for c in combo}) < n):
                continue
            ordered = sorted(combo, key=key)
            rank = (-min(cart_total, sum(map(value, combo))), n, [key(c) for c in ordered])
            if best is None or rank < best:
                best, best_ids = rank, [c.coupon_id for c in ordered]
    assert best is not None
    return -best[0], best_ids


def test_the_suggestion_matches_an_exhaustive_search_on_random_carts() -> None:
    rng = random.Random(20261123)
    for _ in range(600):
        candidates = [
            Candidate(
                f"c{i}",
                f"t{rng.randint(1, 4)}",
                rng.random() < 0.75,
                Decision(rng.random() < 0.9, rng.choice([0, 500, 1_000, 1_500, 3_000]), Reason.OK, "", 0),
                DAY0 + timedelta(days=rng.randint(1, 4)),
            )
            for i in range(rng.randint(0, 8))
        ]
        cart_total = rng.choice([0, 1_000, 2_500, 4_000, 100_000])
        got = suggest(candidates, cart_total)
        total, ids = _brute_force(candidates, cart_total)
        assert (got.total_discount, [cid for cid, _ in got.chosen]) == (total, ids)
        assert sum(amount for _, amount in got.chosen) == total
        assert all(amount > 0 for _, amount in got.chosen)
        assert set(got.rejected) | set(ids) == {c.coupon_id for c in candidates}
