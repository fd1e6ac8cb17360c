"""Safe spreadsheet reading: hostile workbooks are refused before parsing, and no cell content
makes the row reader or the header matcher crash."""

import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from imagebank.ingest import spreadsheet
from imagebank.ingest.spreadsheet import (
    Row,
    SpreadsheetError,
    find_header_row,
    header_index,
    header_key,
    match_header,
    read_rows,
)

INDEX = header_index(
    {
        "acetowhite_area": ("Acetowhite area",),
        "provisional_diagnosis": ("Provisional diagnosis",),
        "case_number": ("Case Number",),
        "clock": ("additional position",),
        "extent": ("% of cervix",),
    }
)
# Text a spreadsheet cell can hold (XML 1.0 forbids most control characters).
CELL_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00"),
    max_size=40,
)


def workbook(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def test_rows_come_back_stripped_with_their_row_numbers(tmp_path):
    path = workbook(
        tmp_path / "book.xlsx",
        [["Case Number", " File "], [], [1, "  AAAW1.jpg\n"], [2.0, None], [" ", ""]],
    )
    rows = read_rows(path)
    assert [(row.number, row.cells) for row in rows] == [
        (1, ["Case Number", "File"]),
        (3, ["1", "AAAW1.jpg"]),
        (4, ["2"]),
    ]


def test_a_formula_is_refused_naming_the_cell(tmp_path):
    path = workbook(tmp_path / "Cases - Images.xlsx", [["Case Number", "File"], [1, "a.jpg"]])
    book = __import__("openpyxl").load_workbook(path)
    book.active["B7"] = '=HYPERLINK("http://example.invalid", "x")'
    book.save(path)
    with pytest.raises(SpreadsheetError, match=r"Cases - Images.xlsx, cell B7: formulas"):
        read_rows(path)


def test_a_csv_formula_is_refused_too(tmp_path):
    path = tmp_path / "meta.csv"
    path.write_text("Case Number,HPV\n1,=cmd|' /C calc'!A0\n", encoding="utf-8")
    with pytest.raises(SpreadsheetError, match="cell B2: formulas"):
        read_rows(path)


def test_an_oversized_file_is_refused_before_parsing(tmp_path, monkeypatch):
    path = workbook(tmp_path / "big.xlsx", [["Case Number"], [1]])
    monkeypatch.setattr(spreadsheet, "MAX_FILE_BYTES", 100)
    with pytest.raises(SpreadsheetError, match="big.xlsx: the file is"):
        read_rows(path)


def test_a_zip_bomb_workbook_is_refused(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    with pytest.raises(SpreadsheetError, match="decompression bomb"):
        read_rows(path)


def test_too_many_rows_or_columns_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(spreadsheet, "MAX_ROWS", 5)
    monkeypatch.setattr(spreadsheet, "MAX_COLUMNS", 3)
    with pytest.raises(SpreadsheetError, match="more than 5 rows"):
        read_rows(workbook(tmp_path / "rows.xlsx", [[n] for n in range(10)]))
    with pytest.raises(SpreadsheetError, match="more than 3 columns"):
        read_rows(workbook(tmp_path / "cols.xlsx", [list(range(6))]))


@pytest.mark.parametrize(
    "content", [b"not a zip at all", b"PK\x03\x04 truncated", zipfile.ZipFile.__doc__.encode()]
)
def test_a_corrupt_workbook_is_an_error_not_a_crash(tmp_path, content):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(content)
    with pytest.raises(SpreadsheetError, match="broken.xlsx"):
        read_rows(path)


def test_an_old_binary_workbook_is_refused_with_advice(tmp_path):
    path = tmp_path / "meta.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(SpreadsheetError, match=r"save it as \.xlsx"):
        read_rows(path)


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("Acitowhite area", "acetowhite_area"),
        ("ACETOWHITE  AREA ", "acetowhite_area"),
        ("\nProvisional diagnosis", "provisional_diagnosis"),
        ("CaseNumber", "case_number"),
        ("case_number", "case_number"),
        ("additional position 3", "clock"),
        ("% of cervix", "extent"),
        ("of cervix", None),
        ("Unrelated", None),
        (None, None),
    ],
)
def test_headers_match_across_case_spacing_and_misspellings(header, name):
    assert match_header(header, INDEX) == name


def test_the_header_row_is_found_below_a_group_row():
    rows = [Row(1, [None, "General assessment"]), Row(2, ["Case Number", "HPV"])]
    assert find_header_row(rows, INDEX, {"case_number"}) == 1
    assert find_header_row(rows[:1], INDEX, {"case_number"}) is None


@given(st.one_of(st.none(), CELL_TEXT, st.integers(), st.floats(allow_nan=True)))
def test_the_header_matcher_never_crashes(value):
    assert isinstance(header_key(value), str)
    assert match_header(value, INDEX) in (None, *INDEX.values())


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.lists(
            st.one_of(st.none(), CELL_TEXT, st.integers(-(10**12), 10**12), st.booleans()),
            max_size=6,
        ),
        max_size=8,
    )
)
def test_arbitrary_cells_never_crash_the_row_reader(tmp_path, cells):
    path = tmp_path / "fuzz.xlsx"
    try:
        workbook(path, cells)
    except ValueError:
        return  # openpyxl itself refuses to write some strings (e.g. leading "=" is a formula)
    try:
        rows = read_rows(path)
    except SpreadsheetError as error:
        assert "fuzz.xlsx" in str(error)  # a formula the fuzzer wrote: refused, not a crash
        return
    for row in rows:
        assert all(cell is None or (cell == cell.strip() and cell) for cell in row.cells)
    assert [row.number for row in rows] == sorted({row.number for row in rows})


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(CELL_TEXT.filter(lambda t: "\r" not in t), max_size=5), max_size=6))
def test_arbitrary_csv_never_crashes(tmp_path, cells):
    import csv

    path = tmp_path / "fuzz.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(cells)
    try:
        read_rows(path)
    except SpreadsheetError as error:
        assert "fuzz.csv" in str(error)
