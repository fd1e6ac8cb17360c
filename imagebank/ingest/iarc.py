"""An IARC Cervical Cancer Image Bank folder (the colposcopy bank or the VIA bank), as IARC
publishes it: one folder per case ("Case 001", sometimes "case 010"), an images workbook
("Cases - Images.xlsx": case number, file, display order, examination step) and a metadata
workbook ("Cases Meta data.xlsx" or "meta_data.xlsx", one row per case).

Real exports carry faults: listed files that are missing, files that are not listed, stray
whitespace, sentinel values, spelling variants. Each is reported against its file, row and field;
nothing raises and nothing is dropped silently (an unknown wording is kept in the case's notes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _

from imagebank.ingest import iarc_columns as columns
from imagebank.ingest.iarc_metadata import RowFields
from imagebank.ingest.items import CaseItem, ImageItem
from imagebank.ingest.report import IngestReport
from imagebank.ingest.spreadsheet import (
    EXTENSIONS,
    Row,
    SpreadsheetError,
    find_header_row,
    header_key,
    is_misspelt,
    match_header,
    read_rows,
)

FORMAT = "iarc"
IMAGES_WORKBOOK = "casesimages"
METADATA_WORKBOOKS = frozenset({"casesmetadata", "casemetadata", "metadata"})
# Files that operating systems leave in folders: not images the export forgot to list.
SYSTEM_FILES = frozenset({"thumbs.db", "desktop.ini", ".ds_store"})
CASE_FOLDER = re.compile(r"^case[\s_-]*0*(\d{1,6})$", re.IGNORECASE)
CASE_NUMBER = re.compile(r"^(?:case[\s_-]*)?0*(\d{1,6})$", re.IGNORECASE)
MAX_WORDING = 200  # what Image.step_original_wording holds


@dataclass
class Listed:
    """One row of the images sheet."""

    row: int
    filename: str
    step: str
    wording: str
    order: int | None


def _workbooks(folder: Path) -> tuple[Path | None, Path | None]:
    images = metadata = None
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return None, None
    for entry in entries:
        # "~$…" are Excel's lock files, left beside a workbook someone has open.
        if entry.name.startswith(("~$", ".")) or entry.suffix.lower() not in EXTENSIONS:
            continue
        key = header_key(entry.stem)
        if key == IMAGES_WORKBOOK and images is None:
            images = entry
        elif key in METADATA_WORKBOOKS and metadata is None:
            metadata = entry
    return images, metadata


def can_read(path: Path) -> bool:
    if not path.is_dir():
        return False
    images, metadata = _workbooks(path)
    return images is not None and metadata is not None


def case_number(text: str | None) -> int | None:
    match = CASE_NUMBER.match(text or "")
    number = int(match.group(1)) if match else 0
    return number or None


def reference(number: int) -> str:
    return f"Case {number:03d}"


def read(path: Path, report: IngestReport) -> Iterator[CaseItem]:
    images_path, metadata_path = _workbooks(path)
    if images_path is None or metadata_path is None:
        report.error(_("Not an IARC image-bank folder: a workbook is missing."), file=path.name)
        return
    try:
        metadata_rows = read_rows(metadata_path)
    except SpreadsheetError as error:
        report.error(str(error), file=metadata_path.name)
        return
    try:
        image_rows = read_rows(images_path)
    except SpreadsheetError as error:
        report.error(str(error), file=images_path.name)
        return
    cases = list(_metadata_cases(metadata_rows, metadata_path.name, report))
    known = {number for number, _row, _item in cases if number is not None}
    listed = _listed_images(image_rows, images_path.name, known, report)
    folders = _case_folders(path, report)
    for number, row, item in cases:
        if number is not None and item.metadata_valid:
            _attach_images(
                item,
                row,
                listed.get(number, []),
                folders.get(number),
                report,
                (images_path.name, metadata_path.name),
            )
        yield item
    for number in sorted(set(folders) - known):
        report.error(
            _("Folder “%(folder)s” has no row in %(workbook)s: its images are not imported.")
            % {"folder": folders[number].name, "workbook": metadata_path.name},
            file=folders[number].name,
            case=reference(number),
        )


# --- the metadata sheet ---------------------------------------------------------------------------


def _metadata_cases(
    rows: list[Row], workbook: str, report: IngestReport
) -> Iterator[tuple[int | None, int, CaseItem]]:
    wanted = {columns.CASE_NUMBER, columns.PATIENT_ID}
    position = find_header_row(rows, columns.METADATA_COLUMNS, wanted)
    if position is None:
        report.error(
            _("No header row naming “Case Number” or “CaseID” in the first rows."), file=workbook
        )
        return
    header = rows[position]
    names = [match_header(cell, columns.METADATA_COLUMNS) for cell in header.cells]
    body = rows[position + 1 :]
    for index, (cell, name) in enumerate(zip(header.cells, names, strict=True)):
        if name is None and any(row.get(index) for row in body):
            report.warning(
                _("Column “%(column)s” is not a field the bank knows: not imported.")
                % {"column": cell or f"#{index + 1}"},
                file=workbook,
                row=header.number,
            )
        elif name is not None and is_misspelt(cell):
            report.info(
                _("Column “%(column)s” read as “%(field)s”.") % {"column": cell, "field": name},
                file=workbook,
                row=header.number,
            )
    number_column = columns.CASE_NUMBER if columns.CASE_NUMBER in names else columns.PATIENT_ID
    if number_column == columns.PATIENT_ID:
        report.info(_("No case-number column: the CaseID column numbers the cases."), file=workbook)
    seen: dict[int, int] = {}
    for row in body:
        yield _metadata_case(row, header, names, number_column, workbook, seen, report)


def _metadata_case(
    row: Row,
    header: Row,
    names: list[str | None],
    number_column: str,
    workbook: str,
    seen: dict[int, int],
    report: IngestReport,
) -> tuple[int | None, int, CaseItem]:
    cells = {name: row.get(i) for i, name in enumerate(names) if name in columns.IDENTITY}
    number_text, patient_id = cells.get(number_column), cells.get(columns.PATIENT_ID)
    number = case_number(number_text)
    ref = reference(number) if number else _("row %(row)s") % {"row": row.number}
    where = {"file": workbook, "row": row.number, "case": ref}
    item = CaseItem(reference=ref, local_patient_id=patient_id or "")
    header_of = {columns.CASE_NUMBER: "Case Number", columns.PATIENT_ID: "CaseID"}
    if number is None:
        report.error(
            _("“%(value)s” is not a case number: case not imported.")
            % {"value": number_text or ""},
            field=header_of[number_column],
            **where,
        )
        item.metadata_valid = False
        return None, row.number, item
    if number in seen:
        report.error(
            _("Case number %(number)s is already on row %(first)s: this row is not imported.")
            % {"number": number, "first": seen[number]},
            field=header_of[number_column],
            **where,
        )
        item.metadata_valid = False
        return None, row.number, item
    seen[number] = row.number
    if not patient_id:
        report.error(
            _("The CaseID (the patient's identifier at the site) is missing: case not imported."),
            field="CaseID",
            **where,
        )
        item.metadata_valid = False
    fields = RowFields(where=where, report=report)
    for index, name in enumerate(names):
        value = row.get(index)
        if name is None or name in columns.IDENTITY or value is None:
            continue
        fields.add(name, " ".join((header.get(index) or "").split()), value)
    item.metadata = fields.finish()
    return number, row.number, item


# --- the images sheet and the case folders ------------------------------------------------------


def _listed_images(
    rows: list[Row], workbook: str, known: set[int], report: IngestReport
) -> dict[int, list[Listed]]:
    position = find_header_row(rows, columns.IMAGE_COLUMNS, {columns.CASE_NUMBER})
    if position is None:
        report.error(_("No header row naming “Case Number” in the first rows."), file=workbook)
        return {}
    header = rows[position]
    column = {}
    for index, cell in enumerate(header.cells):
        column.setdefault(match_header(cell, columns.IMAGE_COLUMNS), index)
    if "file" not in column:
        report.error(_("No “File” column: no image can be found."), file=workbook)
        return {}
    listed: dict[int, list[Listed]] = {}
    first_row: dict[tuple[int, str], int] = {}
    for row in rows[position + 1 :]:
        where = {"file": workbook, "row": row.number}
        number_text = row.get(column[columns.CASE_NUMBER])
        number, filename = case_number(number_text), row.get(column["file"])
        if number is None or not filename:
            report.error(
                _("The row needs a case number and a file name: row not imported."), **where
            )
            continue
        where["case"] = reference(number)
        if number not in known:
            report.error(
                _("Case %(number)s has no row in the metadata workbook: image not imported.")
                % {"number": number_text},
                **where,
            )
            continue
        key = (number, filename.casefold())
        if key in first_row:
            report.error(
                _("%(file)s is already listed on row %(first)s: this row is not imported.")
                % {"file": filename, "first": first_row[key]},
                **where,
            )
            continue
        first_row[key] = row.number
        wording = row.get(column["type"]) if "type" in column else None
        step, kept, known_step = columns.step_code(wording or "")
        if not known_step:
            report.warning(
                _("Step “%(value)s” is not in the vocabulary: stored as “other”, the wording kept.")
                % {"value": wording or ""},
                field="Type",
                **where,
            )
        order = columns.display_order(row, column, len(listed.get(number, [])) + 1, where, report)
        listed.setdefault(number, []).append(
            Listed(row.number, filename, step, kept[:MAX_WORDING], order)
        )
    return listed


def _case_folders(root: Path, report: IngestReport) -> dict[int, Path]:
    folders: dict[int, Path] = {}
    for entry in sorted(root.iterdir()):
        if not entry.is_dir() or entry.name.startswith("."):
            continue
        match = CASE_FOLDER.match(entry.name.strip())
        if match is None or not int(match.group(1)):
            report.warning(
                _("Folder “%(folder)s” is not a case folder (“Case 001”): not read.")
                % {"folder": entry.name},
                file=entry.name,
            )
            continue
        number = int(match.group(1))
        if entry.name != reference(number):
            report.info(
                _("Folder “%(folder)s” read as %(case)s.")
                % {"folder": entry.name, "case": reference(number)},
                file=entry.name,
                case=reference(number),
            )
        if number in folders:
            report.error(
                _(
                    "Folders “%(first)s” and “%(second)s” are both case %(number)s: “%(second)s” "
                    "is not read."
                )
                % {"first": folders[number].name, "second": entry.name, "number": number},
                file=entry.name,
                case=reference(number),
            )
            continue
        folders[number] = entry
    return folders


def _folder_files(folder: Path) -> dict[str, Path]:
    return {
        entry.name: entry
        for entry in sorted(folder.iterdir())
        # A link could point anywhere on the server: only plain files in the folder are read.
        if entry.is_file()
        and not entry.is_symlink()
        and not entry.name.startswith(".")
        and entry.name.casefold() not in SYSTEM_FILES
    }


def _attach_images(
    item: CaseItem,
    metadata_row: int,
    listed: list[Listed],
    folder: Path | None,
    report: IngestReport,
    workbooks: tuple[str, str],
) -> None:
    images_workbook, metadata_workbook = workbooks
    if folder is None:
        report.error(
            _("No folder for %(case)s: its %(count)s listed images are missing.")
            % {"case": item.reference, "count": len(listed)},
            file=metadata_workbook,
            row=metadata_row,
            case=item.reference,
        )
        return
    if not listed:
        report.error(
            _("%(workbook)s lists no image for %(case)s.")
            % {"workbook": images_workbook, "case": item.reference},
            file=metadata_workbook,
            row=metadata_row,
            case=item.reference,
        )
    files = _folder_files(folder)
    by_folded = {name.casefold(): path for name, path in files.items()}
    used: set[str] = set()
    for entry in listed:
        path = files.get(entry.filename)
        if path is None and entry.filename.casefold() in by_folded:
            path = by_folded[entry.filename.casefold()]
            report.warning(
                _("Listed as %(listed)s, found as %(found)s: imported.")
                % {"listed": entry.filename, "found": path.name},
                file=images_workbook,
                row=entry.row,
                field="File",
                case=item.reference,
            )
        if path is None or path.name in used:
            report.error(
                _("%(file)s is listed but not in folder “%(folder)s”.")
                % {"file": entry.filename, "folder": folder.name},
                file=entry.filename,
                row=entry.row,
                case=item.reference,
            )
            continue
        used.add(path.name)
        item.images.append(
            ImageItem(
                filename=path.name,
                read=path.read_bytes,
                step=entry.step,
                step_original_wording=entry.wording,
                display_order=entry.order,
                row=entry.row,
            )
        )
    for name in sorted(set(files) - used):
        report.warning(
            _("%(file)s is in folder “%(folder)s” but not listed in %(workbook)s: not imported.")
            % {"file": name, "folder": folder.name, "workbook": images_workbook},
            file=name,
            case=item.reference,
        )
