"""Reads the spreadsheets that come with an import, refusing the hostile ones before parsing them.

An .xlsx file is a ZIP of XML: a small file can unpack into gigabytes, declare a million rows, or
carry formulas that recompute when a data manager reopens an export. So the file size, the ZIP's
members and the sheet's size are checked first, openpyxl parses in read-only mode (its XML goes
through defusedxml when that is installed, as it is here), and a formula anywhere is refused with
the sheet cell named. Rows come back as lists of stripped strings (or None for an empty cell) with
their spreadsheet row numbers, so every message can point at the row a person sees in Excel.
"""

from __future__ import annotations

import csv
import datetime
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200  # text XML compresses well, but not a thousandfold
MAX_ZIP_MEMBERS = 500
MAX_ROWS = 20_000
MAX_COLUMNS = 200
EXTENSIONS = frozenset({".xlsx", ".csv"})

# Header spellings seen in real exports, folded onto the words the column tables use.
HEADER_MISSPELLINGS = {"acito": "aceto", "color": "colour"}


class SpreadsheetError(Exception):
    """The spreadsheet is refused; the message names the file and, where known, the cell."""


@dataclass(frozen=True)
class Row:
    number: int  # as the spreadsheet numbers it, from 1
    cells: list[str | None]

    def get(self, index: int) -> str | None:
        return self.cells[index] if 0 <= index < len(self.cells) else None

    @property
    def is_empty(self) -> bool:
        return all(cell is None for cell in self.cells)


def cell_text(value: object) -> str | None:
    """A cell as the text a person reads: stripped, integral numbers without ".0", None if empty."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, datetime.datetime | datetime.date | datetime.time):
        text = value.isoformat()
    else:
        text = str(value)
    text = text.strip()
    return text or None


def column_letter(index: int) -> str:
    """1 → A, 27 → AA, as spreadsheets name columns."""
    letters = ""
    while index > 0:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _check_file_size(path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise SpreadsheetError(
            _("%(file)s: the file is %(size)s MB, more than the %(limit)s MB accepted.")
            % {
                "file": path.name,
                "size": size // (1024 * 1024),
                "limit": MAX_FILE_BYTES // (1024 * 1024),
            }
        )


def _check_xlsx_archive(path: Path) -> None:
    """Refuse an .xlsx whose ZIP would unpack into something absurd, before openpyxl opens it."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise SpreadsheetError(
            _("%(file)s: not a valid .xlsx workbook (%(error)s).")
            % {"file": path.name, "error": error}
        ) from error
    if len(members) > MAX_ZIP_MEMBERS:
        raise SpreadsheetError(
            _("%(file)s: the workbook holds %(count)s parts, more than the %(limit)s accepted.")
            % {"file": path.name, "count": len(members), "limit": MAX_ZIP_MEMBERS}
        )
    if any(member.flag_bits & 0x1 for member in members):
        raise SpreadsheetError(
            _("%(file)s: encrypted workbooks are not accepted.") % {"file": path.name}
        )
    unpacked = sum(member.file_size for member in members)
    packed = sum(member.compress_size for member in members)
    if unpacked > MAX_UNCOMPRESSED_BYTES or unpacked > MAX_COMPRESSION_RATIO * max(packed, 1):
        raise SpreadsheetError(
            _(
                "%(file)s: the workbook would unpack to %(size)s MB from %(packed)s kB: "
                "refused as a possible decompression bomb."
            )
            % {"file": path.name, "size": unpacked // (1024 * 1024), "packed": packed // 1024}
        )


def _too_big(path: Path, what: str, count: int, limit: int) -> SpreadsheetError:
    return SpreadsheetError(
        _("%(file)s: the sheet has more than %(limit)s %(what)s (%(count)s).")
        % {"file": path.name, "limit": limit, "what": what, "count": count}
    )


def _formula_refused(path: Path, column: int, row: int) -> SpreadsheetError:
    return SpreadsheetError(
        _("%(file)s, cell %(cell)s: formulas are not accepted; paste the values instead.")
        % {"file": path.name, "cell": f"{column_letter(column)}{row}"}
    )


def _column_limit(sheet) -> int:
    """Columns to read: the declared width where the sheet declares one, one past the limit
    otherwise, so that a wider sheet shows itself without its cells being built."""
    declared = sheet.max_column
    return declared if declared and declared <= MAX_COLUMNS else MAX_COLUMNS + 1


def _read_xlsx(path: Path) -> list[Row]:
    from openpyxl import load_workbook

    _check_xlsx_archive(path)
    try:
        # data_only=False: a formula arrives as its text (data type "f"), so it can be refused.
        workbook = load_workbook(path, read_only=True, data_only=False)
    except Exception as error:  # openpyxl raises many kinds on a malformed file
        raise SpreadsheetError(
            _("%(file)s: the workbook cannot be read (%(error)s).")
            % {"file": path.name, "error": error}
        ) from error
    try:
        sheet = workbook.worksheets[0]
        # The declared dimension is checked before iterating: openpyxl pads every row to it.
        if (sheet.max_row or 0) > MAX_ROWS:
            raise _too_big(path, _("rows"), sheet.max_row, MAX_ROWS)
        if (sheet.max_column or 0) > MAX_COLUMNS:
            raise _too_big(path, _("columns"), sheet.max_column, MAX_COLUMNS)
        rows: list[Row] = []
        for number, cells in enumerate(
            sheet.iter_rows(max_row=MAX_ROWS + 1, max_col=_column_limit(sheet)), start=1
        ):
            values: list[str | None] = []
            for column, cell in enumerate(cells, start=1):
                value = getattr(cell, "value", None)
                if getattr(cell, "data_type", None) == "f" or type(value).__name__ in (
                    "ArrayFormula",
                    "DataTableFormula",
                ):
                    raise _formula_refused(path, column, number)
                values.append(cell_text(value))
            row = Row(number, values)
            if row.is_empty:
                continue
            if number > MAX_ROWS:
                raise _too_big(path, _("rows"), number, MAX_ROWS)
            if len(values) > MAX_COLUMNS and values[MAX_COLUMNS] is not None:
                raise _too_big(path, _("columns"), len(values), MAX_COLUMNS)
            values = values[:MAX_COLUMNS]
            while values[-1] is None:  # openpyxl pads rows to the widest one
                values.pop()
            rows.append(Row(number, values))
        return rows
    except SpreadsheetError:
        raise
    except Exception as error:  # a corrupt sheet part surfaces only while iterating
        raise SpreadsheetError(
            _("%(file)s: the workbook cannot be read (%(error)s).")
            % {"file": path.name, "error": error}
        ) from error
    finally:
        workbook.close()


def _read_csv(path: Path) -> list[Row]:
    rows: list[Row] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for number, cells in enumerate(csv.reader(handle), start=1):
                if number > MAX_ROWS:
                    raise _too_big(path, _("rows"), number, MAX_ROWS)
                if len(cells) > MAX_COLUMNS:
                    raise _too_big(path, _("columns"), len(cells), MAX_COLUMNS)
                values = [cell_text(cell) for cell in cells]
                for column, value in enumerate(values, start=1):
                    # A spreadsheet program would run it on opening the file: refuse it here too.
                    if value is not None and value.startswith("="):
                        raise _formula_refused(path, column, number)
                row = Row(number, values)
                if not row.is_empty:
                    rows.append(row)
    except (UnicodeDecodeError, csv.Error) as error:
        raise SpreadsheetError(
            _("%(file)s: not a UTF-8 CSV file (%(error)s).") % {"file": path.name, "error": error}
        ) from error
    return rows


def read_rows(path: Path) -> list[Row]:
    """The non-empty rows of the first sheet; raises SpreadsheetError naming the file or cell."""
    suffix = path.suffix.lower()
    if suffix not in EXTENSIONS:
        raise SpreadsheetError(
            _("%(file)s: only .xlsx and .csv spreadsheets are read; save it as .xlsx.")
            % {"file": path.name}
        )
    try:
        _check_file_size(path)
        return _read_xlsx(path) if suffix == ".xlsx" else _read_csv(path)
    except OSError as error:
        raise SpreadsheetError(
            _("%(file)s: the file cannot be read (%(error)s).")
            % {"file": path.name, "error": error}
        ) from error


# --- headers -------------------------------------------------------------------------------------


def header_key(text: object) -> str:
    """A header folded so that case, spacing, newlines, punctuation and known misspellings match:
    "\\nProvisional  diagnosis" and "provisional diagnosis" give the same key."""
    folded = _fold(text)
    for wrong, right in HEADER_MISSPELLINGS.items():
        folded = folded.replace(wrong, right)
    return folded


def _fold(text: object) -> str:
    if text is None:
        return ""
    folded = unicodedata.normalize("NFKC", str(text)).casefold().replace("%", " percent ")
    return re.sub(r"[\W_]+", "", folded)


def is_misspelt(text: object) -> bool:
    """Whether matching the header needed one of the known misspellings."""
    return header_key(text) != _fold(text)


def header_index(aliases: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """{header key: name} from {name: the headers that mean it}."""
    return {header_key(header): name for name, headers in aliases.items() for header in headers}


def match_header(text: object, index: Mapping[str, str]) -> str | None:
    """The name a header means, or None. A numbered repeat ("additional position 2") falls back
    on its unnumbered form."""
    key = header_key(text)
    if not key:
        return None
    if key in index:
        return index[key]
    return index.get(key.rstrip("0123456789")) if key[-1:].isdigit() else None


def find_header_row(rows: list[Row], index: Mapping[str, str], wanted: set[str]) -> int | None:
    """The position in `rows` of the first row (among the first few) naming one of `wanted`:
    exports put a group row or a title above the real header row."""
    for position, row in enumerate(rows[:10]):
        if any(match_header(cell, index) in wanted for cell in row.cells):
            return position
    return None
