"""The images of an IARC image-bank folder: the rows of its images workbook, its case folders,
and each case's listed images matched with the files in its folder (or declared by the client as
already in the bank, see known_files). Every listed file that is missing, and every file that is
not listed, is reported by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.utils.translation import gettext as _

from imagebank.ingest import iarc_columns as columns
from imagebank.ingest.iarc_columns import case_number, reference
from imagebank.ingest.items import CaseItem, ImageItem
from imagebank.ingest.known_files import not_sent
from imagebank.ingest.report import IngestReport
from imagebank.ingest.spreadsheet import Row, find_header_row, match_header

# Files that operating systems leave in folders: not images the export forgot to list.
SYSTEM_FILES = frozenset({"thumbs.db", "desktop.ini", ".ds_store"})
CASE_FOLDER = re.compile(r"^case[\s_-]*0*(\d{1,6})$", re.IGNORECASE)
MAX_WORDING = 200  # what Image.step_original_wording holds


@dataclass
class Listed:
    """One row of the images sheet."""

    row: int
    filename: str
    step: str
    wording: str
    order: int | None


def listed_images(
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
                _("%(file)s: case %(number)s has no row in the metadata workbook: not imported.")
                % {"file": filename, "number": number_text},
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


def case_folders(root: Path, report: IngestReport, declared: dict[str, str]) -> dict[int, Path]:
    """The case folders, including those whose every image was declared rather than sent (the
    folder itself then did not travel)."""
    names = {entry.name for entry in root.iterdir() if entry.is_dir()}
    names |= {
        PurePosixPath(path).parts[0] for path in declared if len(PurePosixPath(path).parts) == 2
    }
    folders: dict[int, Path] = {}
    for entry in (root / name for name in sorted(names)):
        if entry.name.startswith("."):
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
    if not folder.is_dir():
        return {}  # every image of it was declared (known_files)
    return {
        entry.name: entry
        for entry in sorted(folder.iterdir())
        # A link could point anywhere on the server: only plain files in the folder are read.
        if entry.is_file()
        and not entry.is_symlink()
        and not entry.name.startswith(".")
        and entry.name.casefold() not in SYSTEM_FILES
    }


def attach_images(
    item: CaseItem,
    metadata_row: int,
    listed: list[Listed],
    folder: Path | None,
    declared: dict[str, str],
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
        # Each by name and row, so a data manager can find every one of them.
        for entry in listed:
            report.error(
                _(
                    "%(file)s (row %(row)s of %(workbook)s) is missing: there is no folder "
                    "“%(folder)s”."
                )
                % {
                    "file": entry.filename,
                    "row": entry.row,
                    "workbook": images_workbook,
                    "folder": item.reference,
                },
                file=entry.filename,
                row=entry.row,
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
        name = path.name if path is not None else entry.filename
        sent = path is not None
        if name in used or not (sent or name in declared):
            report.error(
                _(
                    "%(file)s (row %(row)s of %(workbook)s) is listed but not in folder "
                    "“%(folder)s”."
                )
                % {
                    "file": entry.filename,
                    "row": entry.row,
                    "workbook": images_workbook,
                    "folder": folder.name,
                },
                file=entry.filename,
                row=entry.row,
                case=item.reference,
            )
            continue
        used.add(name)
        item.images.append(
            ImageItem(
                filename=name,
                # A file the client declared rather than sent is found by its hash (known_files).
                read=path.read_bytes if sent else not_sent,
                known_sha256="" if sent else declared[name],
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
