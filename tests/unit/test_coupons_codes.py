import random
import re

import pytest

from chassis.errors import InvalidArgument
from services.coupons.domain.codes import ALPHABET, format_code, new_code, normalise_code

KNOWN = "01ABCD23XYZ9"  # a valid code; pins the check algorithm, since printed codes must stay valid


def test_a_new_code_is_12_crockford_symbols_that_pass_their_own_check() -> None:
    for _ in range(200):
        code = new_code()
        assert len(code) == 12
        assert set(code) <= set(ALPHABET)
        assert normalise_code(code) == code
    assert not set("ILOU") & set(ALPHABET)
    assert len(ALPHABET) == 32


def test_codes_are_displayed_in_three_groups_of_four() -> None:
    assert format_code(KNOWN) == "01AB-CD23-XYZ9"
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", format_code(new_code()))


def test_typing_is_forgiving_about_case_spacing_dashes_and_lookalikes() -> None:
    for typed in ("01ab-cd23-xyz9", " 01AB CD23 XYZ9 ", "OIAB-CD23-XYZ9", "oLab cd23-xyz9", "01abcd23xyz9"):
        assert normalise_code(typed) == KNOWN


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("01AB-CD23-XYZ", "a coupon code has 12 characters, like XXXX-XXXX-XXXX"),
        ("01AB-CD23-XYZ99", "a coupon code has 12 characters, like XXXX-XXXX-XXXX"),
        ("-" * 65, "a coupon code has 12 characters, like XXXX-XXXX-XXXX"),
        ("01AB-CD23-XYU9", "'U' does not occur in coupon codes"),
        ("01AB-CD23-XY*9", "'*' does not occur in coupon codes"),
        ("01AB-CD23-XYZ8", "this code contains a typo; please check it and type it again"),
    ],
)
def test_a_malformed_code_is_rejected_before_any_lookup(raw: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        normalise_code(raw)
    assert (err.value.field, err.value.message) == ("code", message)


def test_every_single_symbol_typo_is_caught() -> None:
    for _ in range(300):
        code = new_code()
        for i in range(12):
            for symbol in ALPHABET.replace(code[i], ""):
                with pytest.raises(InvalidArgument, match="typo"):
                    normalise_code(code[:i] + symbol + code[i + 1 :])


def test_every_adjacent_transposition_is_caught() -> None:
    caught = 0
    for _ in range(3_000):
        code = new_code()
        for i in range(11):
            if code[i] != code[i + 1]:
                with pytest.raises(InvalidArgument, match="typo"):
                    normalise_code(code[:i] + code[i + 1] + code[i] + code[i + 2 :])
                caught += 1
    assert caught > 30_000


def test_random_transpositions_at_any_distance_are_caught() -> None:
    rng = random.Random(7)
    for _ in range(3_000):
        code = list(new_code())
        i, j = rng.sample(range(12), 2)
        if code[i] != code[j]:
            code[i], code[j] = code[j], code[i]
            with pytest.raises(InvalidArgument, match="typo"):
                normalise_code("".join(code))


def test_ten_thousand_new_codes_are_all_different() -> None:
    assert len({new_code() for _ in range(10_000)}) == 10_000
