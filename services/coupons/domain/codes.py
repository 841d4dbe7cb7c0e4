"""Coupon codes: unguessable, easy to read out and type, and checked before any lookup. No I/O.

A code is 12 Crockford base32 symbols (digits and letters without I, L, O, U), shown as
XXXX-XXXX-XXXX. Eleven are random (`secrets`, 55 bits); the twelfth is a check symbol, so a
mistyped code is refused at the till without a database round trip. Uniqueness per tenant
is the database's job (a unique index); at 55 bits a clash is rare and simply retried.

The check: read symbols as elements of the field GF(32) and require
XOR of α^i · s_i over positions i = 0..11 to be zero (α a primitive element, order 31).
Changing one symbol adds α^i · e ≠ 0; swapping two different symbols at i and j adds
(a ⊕ b)(α^i ⊕ α^j) ≠ 0 because the weights α^0..α^11 are distinct. So every single-symbol
typo and every transposition (adjacent or not) is caught, with no extra check alphabet,
which Crockford's own mod-37 check would need (*~$=U are awkward to say and type).
"""

from __future__ import annotations

import secrets

from chassis.errors import InvalidArgument

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 12
RAW_MAX = 64  # longer input is not a code, however it is spaced
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_LOOKALIKES = str.maketrans("OIL", "011")


def _powers_of_alpha() -> list[int]:
    """α^0..α^30 for α = x in GF(2)[x] / (x^5 + x^2 + 1), a primitive polynomial."""
    powers, x = [], 1
    for _ in range(31):
        powers.append(x)
        x = (x << 1) ^ (0b100101 if x & 0b10000 else 0)
    return powers


_EXP = _powers_of_alpha()
_LOG = {v: i for i, v in enumerate(_EXP)}


def new_code() -> str:
    """A fresh code in its stored form, e.g. "7K3QX9MD2RTA" (format it with `format_code`)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH - 1))
    # The check c must cancel the body's sum S: α^11 · c = S, so c = α^(31-11) · S (α^31 = 1).
    return body + ALPHABET[_mul(_syndrome(body + "0"), _EXP[31 - (LENGTH - 1)])]


def normalise_code(raw: str) -> str:
    """The stored form of a typed or scanned code: upper case, no spaces or dashes, O → 0, I/L → 1."""
    if len(raw) > RAW_MAX:
        raise InvalidArgument("code", "a coupon code has 12 characters, like XXXX-XXXX-XXXX")
    code = "".join(raw.split()).replace("-", "").upper().translate(_LOOKALIKES)
    if len(code) != LENGTH:
        raise InvalidArgument("code", "a coupon code has 12 characters, like XXXX-XXXX-XXXX")
    bad = next((c for c in code if c not in _VALUE), None)
    if bad is not None:
        raise InvalidArgument("code", f"{bad!r} does not occur in coupon codes")
    if _syndrome(code):
        raise InvalidArgument("code", "this code contains a typo; please check it and type it again")
    return code


def format_code(code: str) -> str:
    """The code for display and printing: "7K3Q-X9MD-2RTA"."""
    code = normalise_code(code)
    return "-".join(code[i : i + 4] for i in range(0, LENGTH, 4))


def _syndrome(code: str) -> int:
    total = 0
    for i, c in enumerate(code):
        total ^= _mul(_EXP[i % 31], _VALUE[c])
    return total


def _mul(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else _EXP[(_LOG[a] + _LOG[b]) % 31]
