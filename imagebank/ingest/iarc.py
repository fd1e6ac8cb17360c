"""An IARC Cervical Cancer Image Bank folder (the colposcopy bank or the VIA bank), as IARC
publishes it: one folder per case ("Case 001", sometimes "case 010"), an images workbook
("Cases - Images.xlsx": case number, file, display order, examination step) and a metadata
workbook ("Cases Meta data.xlsx" or "meta_data.xlsx", one row per case).

Real exports carry faults: listed files that are missing, files that are not listed, stray
whitespace, sentinel values, spelling variants. Each is reported against its file, row and field;
nothing raises and nothing is dropped silently (an unknown wording is kept in the case's notes).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from django.utils.translation import gettext as _

from imagebank.ingest import iarc_columns as columns
from imagebank.ingest.iarc_columns import case_number, reference
from imagebank.ingest.iarc_images import attach_images, case_folders, listed_images
from imagebank.ingest.iarc_metadata import RowFields
from imagebank.ingest.items import CaseItem
from imagebank.ingest.known_files import in_folder, read_known
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
    listed = listed_images(image_rows, images_path.name, known, report)
    in_bank = read_known(path, report)
    folders = case_folders(path, report, in_bank)
    for number, row, item in cases:
        if number is not None and item.metadata_valid:
            folder = folders.get(number)
            attach_images(
                item,
                row,
                listed.get(number, []),
                folder,
                in_folder(in_bank, folder.name) if folder else {},
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
    # The case's reference is kept unless the patient's ID is what numbers the cases.
    kept = ref if number_column == columns.CASE_NUMBER else ""
    item = CaseItem(reference=ref, local_patient_id=patient_id or "", source_reference=kept)
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
