import io
from collections.abc import Iterator

import pytest

from chassis.errors import InvalidArgument
from services.members.domain.csv_import import ImportRow, RowError, read_rows

HEADER = "phone,name,surname,gender,birthday,store_id,tags,notes,card_no\n"


def read(text: str) -> list[ImportRow | RowError]:
    return list(read_rows(io.StringIO(text, newline=""), "CN"))


def errors(text: str) -> list[tuple[int, str]]:
    return [(item.line, item.field) for item in read(text) if isinstance(item, RowError)]


def test_a_good_row_becomes_a_validated_import_row() -> None:
    [row] = read(
        HEADER + "138 0013 8000,  Mei   Ling , Wang ,F,1990-02-28,s1, vip ;gold;;vip,likes pearls,A-0001\n"
    )
    assert row == ImportRow(
        line=2,
        phone="+8613800138000",
        name="Mei Ling",
        surname="Wang",
        gender="female",
        birthday=(2, 28, 1990),
        store_id="s1",
        tags=("vip", "gold"),
        notes="likes pearls",
        card_no="A-0001",
    )


def test_only_phone_and_name_are_required_and_columns_may_come_in_any_order() -> None:
    [row] = read("Name,PHONE\nLi,13800138000\n")
    assert isinstance(row, ImportRow)
    assert (row.phone, row.name, row.surname, row.gender, row.birthday, row.tags) == (
        "+8613800138000",
        "Li",
        "",
        "unknown",
        None,
        (),
    )


def test_a_birthday_without_a_year_keeps_the_year_unknown_and_allows_29_february() -> None:
    [row] = read("phone,name,birthday\n13800138000,Li,02-29\n")
    assert isinstance(row, ImportRow)
    assert row.birthday == (2, 29, None)


@pytest.mark.parametrize(
    ("typed", "gender"),
    [("女", "female"), ("男", "male"), ("f", "female"), ("M", "male"), ("Female", "female"), ("", "unknown")],
)
def test_gender_accepts_words_letters_and_chinese(typed: str, gender: str) -> None:
    [row] = read(f"phone,name,gender\n13800138000,Li,{typed}\n")
    assert isinstance(row, ImportRow)
    assert row.gender == gender


@pytest.mark.parametrize(
    ("cells", "field"),
    [
        ("123,Li,,", "phone"),
        (",Li,,", "phone"),
        ("13800138000,   ,,", "name"),
        ("13800138000," + "x" * 65 + ",,", "name"),
        ("13800138000,Li,02-30,", "birthday"),
        ("13800138000,Li,2023-02-29,", "birthday"),
        ("13800138000,Li,13-01,", "birthday"),
        ("13800138000,Li,1990/02/01,", "birthday"),
        ("13800138000,Li,1850-02-01,", "birthday"),
        ("13800138000,Li,,unknowable", "gender"),
        ("13800138000,Li,,f,extra", "row"),
    ],
)
def test_each_kind_of_bad_row_is_an_error_naming_its_line_and_field(cells: str, field: str) -> None:
    text = "phone,name,birthday,gender\n13900139000,Good,,\n" + cells + "\n13700137000,Also Good,,\n"
    items = read(text)
    assert [type(item).__name__ for item in items] == ["ImportRow", "RowError", "ImportRow"]
    bad = items[1]
    assert isinstance(bad, RowError)
    assert (bad.line, bad.field) == (3, field)
    assert "13800138000" not in bad.message


def test_a_quoted_field_spanning_lines_keeps_later_line_numbers_right() -> None:
    text = (
        "phone,name,notes\n"  # line 1
        '13800138000,Li,"first line\n'  # line 2
        "second line\n"  # line 3
        'third line"\n'  # line 4
        "123,Bad Phone,\n"  # line 5
        "\n"  # line 6, blank
        "13900139000,,\n"  # line 7
    )
    items = read(text)
    first = items[0]
    assert isinstance(first, ImportRow)
    assert first.line == 2
    assert first.notes == "first line\nsecond line\nthird line"
    assert [(i.line, i.field) for i in items[1:] if isinstance(i, RowError)] == [(5, "phone"), (7, "name")]


def test_a_badly_quoted_row_is_an_error_and_the_next_row_still_reads() -> None:
    text = 'phone,name\n13800138000,"Li"x\n13900139000,Wang\n'
    items = read(text)
    assert isinstance(items[0], RowError)
    assert (items[0].line, items[0].field) == (2, "row")
    assert isinstance(items[1], ImportRow)
    assert items[1].line == 3


def test_an_unclosed_quote_is_reported_instead_of_swallowing_the_rest_into_a_name() -> None:
    items = read('phone,name\n13800138000,"Li\n13900139000,Wang\n')
    assert len(items) == 1
    assert isinstance(items[0], RowError)
    assert (items[0].line, items[0].field) == (2, "row")


def test_a_second_row_with_the_same_phone_is_a_duplicate_of_the_first() -> None:
    text = "phone,name\n13800138000,Li\n13900139000,Wang\n+86 138 0013 8000,Li Again\n"
    items = read(text)
    dup = items[2]
    assert isinstance(dup, RowError)
    assert (dup.line, dup.field) == (4, "phone")
    assert "duplicate of line 2" in dup.message


def test_a_phone_first_seen_on_a_rejected_row_is_not_a_duplicate() -> None:
    items = read("phone,name,gender\n13800138000,Li,robot\n13800138000,Li,f\n")
    assert isinstance(items[0], RowError)
    assert isinstance(items[1], ImportRow)


def test_rows_with_fewer_cells_read_the_rest_as_empty_and_blank_rows_are_skipped() -> None:
    items = read("phone,name,surname,gender\n13800138000,Li\n,,,\n\n13900139000,Wang,Zhang\n")
    assert [(i.line, i.name) for i in items if isinstance(i, ImportRow)] == [(2, "Li"), (5, "Wang")]
    assert len(items) == 2


def test_a_byte_order_mark_and_windows_line_endings_are_fine() -> None:
    [row] = read("\ufeffPhone,Name\r\n13800138000,Li\r\n")
    assert isinstance(row, ImportRow)
    assert row.line == 2


def test_plain_lists_of_lines_work_too() -> None:
    items = list(read_rows(["phone,name", "13800138000,Li", "13900139000,Wang"], "CN"))
    assert [i.line for i in items] == [2, 3]


def test_rows_are_read_lazily_so_big_files_stream() -> None:
    def lines() -> Iterator[str]:
        yield "phone,name\n"
        yield "13800138000,Li\n"
        raise AssertionError("read past the first row")

    rows = read_rows(lines(), "CN")
    first = next(rows)
    assert isinstance(first, ImportRow)


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ("name,surname\n", "'phone'"),
        ("phone,surname\n", "'name'"),
        ("phone,name,colour\n", "unknown column 'colour'"),
        ("phone,name,Phone\n", "twice"),
        ("phone,,name\n", "column 2 has no name"),
        ("", "column 1 is not one of"),
    ],
)
def test_a_bad_header_is_rejected_at_once_naming_the_header(header: str, words: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        read_rows(io.StringIO(header + "13800138000,Li\n", newline=""), "CN")
    assert err.value.field == "header"
    assert words in err.value.message


def test_an_empty_file_is_a_header_error() -> None:
    with pytest.raises(InvalidArgument) as err:
        read_rows(io.StringIO(""), "CN")
    assert (err.value.field, "empty" in err.value.message) == ("header", True)


def test_a_file_without_a_header_is_rejected_without_echoing_the_phone() -> None:
    with pytest.raises(InvalidArgument) as err:
        read_rows(io.StringIO("13800138000,Li\n"), "CN")
    assert err.value.field == "header"
    assert "13800138000" not in err.value.message


def test_overlong_short_texts_and_notes_are_row_errors() -> None:
    text = (
        "phone,name,store_id,card_no,tags,notes\n"
        f"13800138000,Li,{'s' * 65},,,\n"
        f"13800138001,Li,,{'c' * 65},,\n"
        f"13800138002,Li,,,{'t' * 65},\n"
        f"13800138003,Li,,,,{'n' * 1001}\n"
        f"13800138004,Li,,,{';'.join(f't{i}' for i in range(101))},\n"
    )
    assert errors(text) == [(2, "store_id"), (3, "card_no"), (4, "tags"), (5, "notes"), (6, "tags")]
