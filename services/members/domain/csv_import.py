"""The paper-card migration: CSV rows in, validated enrolment records or row errors out.

Shops type their paper member cards into a spreadsheet. One bad row must not stop the other
thousand, so every row yields either an `ImportRow` or a `RowError` naming the physical line
and the column to fix. Streaming (a generator over lines) keeps memory flat for big files;
only the phones already accepted are remembered, to catch duplicates within the file.
Pure: no I/O beyond iterating the lines given.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from chassis.errors import InvalidArgument
from services.members.domain.model import (
    NAME_MAX,
    _optional_name,
    _required_name,
    normalise_phone,
)

if TYPE_CHECKING:
    from _csv import Reader

REQUIRED_COLUMNS = ("phone", "name")
COLUMNS = (*REQUIRED_COLUMNS, "surname", "gender", "birthday", "store_id", "tags", "notes", "card_no")
GENDERS = {
    "female": "female",
    "f": "female",
    "女": "female",
    "male": "male",
    "m": "male",
    "男": "male",
    "unknown": "unknown",
    "": "unknown",
}
TEXT_MAX = NAME_MAX  # store ids, card numbers and tags share the name limit
NOTES_MAX = 1000
TAGS_MAX = 100
_BIRTHDAY = re.compile(r"(?:(?P<year>[0-9]{4})-)?(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2})")
_DIGIT = re.compile(r"[0-9]")
_LEAP_YEAR = 2000  # lets "02-29" through when the year is not known


@dataclass(frozen=True)
class ImportRow:
    """One card, ready to enrol. `birthday` is (month, day, year or None)."""

    line: int
    phone: str
    name: str
    surname: str
    gender: str
    birthday: tuple[int, int, int | None] | None
    store_id: str
    tags: tuple[str, ...]
    notes: str
    card_no: str


@dataclass(frozen=True)
class RowError:
    """Why the row starting at `line` was not imported; the message never repeats the phone."""

    line: int
    field: str
    message: str


class _BadCell(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def read_rows(lines: Iterable[str], default_region: str) -> Iterator[ImportRow | RowError]:
    """One `ImportRow` or `RowError` per data row, in file order.

    `lines` is a text file object (open it with newline="") or any iterable of lines.
    The header is checked before this returns, so a wrong header raises
    InvalidArgument("header", ...) at once instead of on the first row. Blank lines are
    skipped; rows with fewer cells than the header are read as if the rest were empty.
    """
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidArgument("header", "the file is empty; its first line must name the columns") from None
    except csv.Error as err:
        raise InvalidArgument("header", f"the first line is not valid CSV: {err}") from None
    columns = _columns(header)
    return _rows(reader, columns, default_region)


def _columns(header: list[str]) -> list[str]:
    columns = [cell.strip().lstrip("\ufeff").strip().lower() for cell in header]
    for position, name in enumerate(columns, start=1):
        if not name:
            raise InvalidArgument("header", f"column {position} has no name")
        if name not in COLUMNS:
            # A file without a header would put a phone number here: never echo that.
            shown = f"column {position}" if _DIGIT.search(name) else f"unknown column {name[:TEXT_MAX]!r}"
            raise InvalidArgument(
                "header",
                f"{shown} is not one of {', '.join(COLUMNS)}; the first line must name the columns",
            )
        if columns.index(name) != position - 1:
            raise InvalidArgument("header", f"column {name!r} appears twice")
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            raise InvalidArgument("header", f"the {name!r} column is missing")
    return columns


def _rows(reader: Reader, columns: list[str], region: str) -> Iterator[ImportRow | RowError]:
    seen: dict[str, int] = {}
    while True:
        # line_num counts physical lines read, including those inside quoted fields, so the
        # row starts on the line after the previous row ended.
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            yield RowError(start, "row", f"the row is not valid CSV ({err}); check its quotes")
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(columns):
            yield RowError(
                start, "row", f"the row has {len(cells)} cells but the header names {len(columns)}"
            )
            continue
        values = dict(zip(columns, cells, strict=False))
        try:
            row = _row(start, values, region)
        except _BadCell as bad:
            yield RowError(start, bad.field, bad.message)
            continue
        if row.phone in seen:
            yield RowError(start, "phone", f"phone is a duplicate of line {seen[row.phone]}")
            continue
        seen[row.phone] = start
        yield row


def _row(line: int, values: dict[str, str], region: str) -> ImportRow:
    def cell(name: str) -> str:
        return values.get(name, "")

    try:
        phone = normalise_phone(cell("phone"), region)
        name = _required_name("name", cell("name"))
        surname = _optional_name("surname", cell("surname"))
    except InvalidArgument as err:
        raise _BadCell(err.field, err.message) from None
    return ImportRow(
        line=line,
        phone=phone,
        name=name,
        surname=surname,
        gender=_gender(cell("gender")),
        birthday=_birthday(cell("birthday")),
        store_id=_text("store_id", cell("store_id")),
        tags=_tags(cell("tags")),
        notes=_notes(cell("notes")),
        card_no=_text("card_no", cell("card_no")),
    )


def _gender(raw: str) -> str:
    gender = GENDERS.get(raw.strip().lower())
    if gender is None:
        raise _BadCell("gender", "gender must be female, male or unknown (f, m, 女, 男 also work)")
    return gender


def _birthday(raw: str) -> tuple[int, int, int | None] | None:
    raw = raw.strip()
    if not raw:
        return None
    match = _BIRTHDAY.fullmatch(raw)
    if match is None:
        raise _BadCell("birthday", "birthday must be MM-DD or YYYY-MM-DD")
    month, day = int(match["month"]), int(match["day"])
    year = int(match["year"]) if match["year"] else None
    if year is not None and year < 1900:
        raise _BadCell("birthday", "birthday year must be 1900 or later")
    try:
        date(year or _LEAP_YEAR, month, day)
    except ValueError:
        raise _BadCell("birthday", "birthday is not a real date") from None
    return (month, day, year)


def _text(field: str, raw: str) -> str:
    value = raw.strip()
    if len(value) > TEXT_MAX:
        raise _BadCell(field, f"{field} is longer than {TEXT_MAX} characters")
    return value


def _tags(raw: str) -> tuple[str, ...]:
    tags: list[str] = []
    for part in raw.split(";"):
        tag = " ".join(part.split())
        if not tag or tag in tags:
            continue
        if len(tag) > TEXT_MAX:
            raise _BadCell("tags", f"a tag is longer than {TEXT_MAX} characters")
        tags.append(tag)
    if len(tags) > TAGS_MAX:
        raise _BadCell("tags", f"a member can have at most {TAGS_MAX} tags")
    return tuple(tags)


def _notes(raw: str) -> str:
    value = raw.strip()
    if len(value) > NOTES_MAX:
        raise _BadCell("notes", f"notes are longer than {NOTES_MAX} characters")
    return value
