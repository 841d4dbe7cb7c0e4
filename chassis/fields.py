"""Reading the plain values of a request (a dict form: a programme, a policy, a rule), naming
the field by its path in every error — "ladder.tiers[1].min_trailing_spend". No I/O: every
domain that parses a dict form uses these, so they all refuse the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import Any, TypeVar

from chassis.errors import InvalidArgument

E = TypeVar("E", bound=StrEnum)

_ALLOWED_CONTROLS = {"\n", "\t"}


class Fields:
    """One object of a request: `Fields(data, "ladder")` reads "ladder.window_months" and so on.
    A key never asked for is an error at `done()` (a typo is not silently ignored). Numbers may
    come as integral floats (a protobuf Struct carries only doubles); booleans are not numbers.
    """

    def __init__(self, data: object, path: str = "") -> None:
        if not isinstance(data, Mapping):
            raise InvalidArgument(path or "body", f"{path or 'the body'} must be an object")
        self._data: Mapping[Any, Any] = data
        self._path = path
        self._read: set[str] = set()

    @property
    def prefix(self) -> str:
        return self._path

    def path(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def section(self, key: str) -> Fields:
        """The object under `key` (absent: an empty one, so every field takes its default)."""
        value = self.raw(key)
        return Fields({} if value is None else value, self.path(key))

    def has(self, key: str) -> bool:
        return self._data.get(key) is not None

    def raw(self, key: str) -> object:
        self._read.add(key)
        return self._data.get(key)

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.raw(key)
        return default if value is None else integer(self.path(key), value, low, high)

    def optional_integer(self, key: str, low: int, high: int) -> int | None:
        value = self.raw(key)
        return None if value is None else integer(self.path(key), value, low, high)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise InvalidArgument(self.path(key), f"{self.path(key)} must be true or false")
        return value

    def text(self, key: str, default: str, max_len: int) -> str:
        value = self.raw(key)
        return default if value is None else text(self.path(key), value, max_len)

    def choice(self, key: str, kind: type[E], default: E) -> E:
        value = self.raw(key)
        return default if value is None else choice(self.path(key), value, kind)

    def items(self, key: str, max_items: int) -> list[tuple[str, object]]:
        """The list under `key` as (path of the item, item); absent is empty."""
        value = self.raw(key)
        if value is None:
            return []
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
            raise InvalidArgument(self.path(key), f"{self.path(key)} must be a list")
        if len(value) > max_items:
            raise InvalidArgument(self.path(key), f"{self.path(key)} has at most {max_items} items")
        return [(f"{self.path(key)}[{i}]", item) for i, item in enumerate(value)]

    def done(self) -> None:
        for key in self._data:
            if key not in self._read:
                name = key if isinstance(key, str) else repr(key)
                raise InvalidArgument(self.path(name), f"unknown field {self.path(name)!r}")


def integer(path: str, value: object, low: int, high: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(path, f"{path} must be a whole number")
    if not low <= value <= high:
        raise InvalidArgument(path, f"{path} must be between {low} and {high}")
    return value


def text(path: str, value: object, max_len: int, multiline: bool = False) -> str:
    """The string stripped; at most `max_len` characters, no control characters (but newlines
    and tabs in `multiline` text)."""
    if not isinstance(value, str):
        raise InvalidArgument(path, f"{path} must be a string")
    value = value.strip()
    if len(value) > max_len:
        raise InvalidArgument(path, f"{path} is longer than {max_len} characters")
    allowed = _ALLOWED_CONTROLS if multiline else set()
    if any(not ch.isprintable() and ch not in allowed for ch in value):
        raise InvalidArgument(path, f"{path} must not contain control characters")
    return value


def choice(path: str, value: object, kind: type[E]) -> E:
    options = ", ".join(member.value for member in kind)
    if isinstance(value, str):
        try:
            return kind(value.strip().lower())
        except ValueError:
            pass
    raise InvalidArgument(path, f"{path} must be one of: {options}")


@contextmanager
def prefixed(path: str) -> Iterator[None]:
    """Re-raise an InvalidArgument of a part with its field under `path` ("ladder" + "grace_days")."""
    try:
        yield
    except InvalidArgument as exc:
        name = f"{path}.{exc.field}" if path and exc.field else path or exc.field
        raise InvalidArgument(name, exc.message) from exc
