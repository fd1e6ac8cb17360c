"""Reads a CSV manifest: one row per image, the case's fields repeated (or left blank) per row.

Rows are spreadsheet rows (header = row 1); problems name the row and the column.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from imagebank import vocabularies as vocab
from imagebank.ingest.report import Level

from .checks import image_entry, too_long
from .entries import CaseEntry, Manifest, ManifestError
from .limits import MAX_CASES, MAX_IDENTIFIER_LENGTH, MAX_IMAGES, MAX_IMAGES_PER_CASE
from .metadata import clean_metadata, integer

CASE_COLUMNS = ("case_id", "local_patient_id")
IMAGE_COLUMNS = ("file", "step", "order", "capture_device")
REQUIRED_COLUMNS = ("case_id", "local_patient_id", "file")


def parse_csv_text(text: str) -> Manifest:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise ManifestError(_("The manifest is empty."))
        names = [name.strip().lower() for name in header]
        if len(names) == 1 and ";" in names[0]:
            raise ManifestError(
                _("The columns are separated by semicolons: save the manifest with commas."),
                row=1,
            )
        repeated = sorted({n for n in names if n and names.count(n) > 1})
        if repeated:
            raise ManifestError(
                _("Column “%(column)s” appears twice.") % {"column": repeated[0]}, row=1
            )
        missing = [name for name in REQUIRED_COLUMNS if name not in names]
        if missing:
            raise ManifestError(
                _("Required columns missing: %(columns)s.") % {"columns": ", ".join(missing)},
                row=1,
            )
        rows: list[tuple[int, list[str]]] = []
        for number, cells in enumerate(reader, start=2):
            if number - 1 > MAX_IMAGES:
                raise ManifestError(
                    _("The manifest lists more than %(limit)s images.") % {"limit": MAX_IMAGES}
                )
            rows.append((number, cells))
    except csv.Error as error:
        raise ManifestError(
            _("Not a valid CSV file: %(error)s (line %(line)s).")
            % {"error": error, "line": reader.line_num},
        ) from None
    return _csv_cases(names, rows)


@dataclass
class _CsvCase:
    entry: CaseEntry
    first_row: int
    raw: dict[str, tuple[str, int]] = field(default_factory=dict)  # column -> (value, row)
    patient_row: int = 0


def _check_identifier(manifest: Manifest, group: _CsvCase, name: str, row: int) -> None:
    """The JSON schema's length limit on an identifier; a longer one rejects the case."""
    if len(getattr(group.entry, name)) > MAX_IDENTIFIER_LENGTH:
        manifest.add(
            Level.ERROR,
            too_long(MAX_IDENTIFIER_LENGTH),
            row=row,
            field=name,
            case=group.entry.case_id,
        )
        group.entry.metadata_valid = False


def _csv_cases(names: list[str], rows: list[tuple[int, list[str]]]) -> Manifest:
    manifest = Manifest()
    cases: dict[str, _CsvCase] = {}
    seen: dict[str, str] = {}
    index = {name: i for i, name in enumerate(names) if name}
    metadata_columns = [
        (i, name or _("column %(number)s") % {"number": i + 1})
        for i, name in enumerate(names)
        if name not in CASE_COLUMNS + IMAGE_COLUMNS
    ]
    for number, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue  # spreadsheets leave blank rows; they list nothing

        def cell(name: str, cells: list[str] = cells) -> str:
            at = index.get(name, len(cells))
            return cells[at].strip() if at < len(cells) else ""

        if any(cell.strip() for cell in cells[len(names) :]):
            manifest.add(
                Level.ERROR,
                _("This row has more cells than the header has columns: row not read."),
                row=number,
            )
            continue
        case_id = cell("case_id")
        if not case_id:
            manifest.add(
                Level.ERROR,
                _("No case_id: the image on this row is not imported."),
                row=number,
                field="case_id",
            )
            continue
        group = cases.get(case_id)
        if group is None:
            if len(cases) >= MAX_CASES:
                raise ManifestError(
                    _("The manifest lists more than %(limit)s cases.") % {"limit": MAX_CASES}
                )
            group = cases[case_id] = _CsvCase(CaseEntry(case_id, ""), number)
            _check_identifier(manifest, group, "case_id", number)
        at = {"row": number, "case": case_id}
        patient = cell("local_patient_id")
        if patient and not group.entry.local_patient_id:
            group.entry.local_patient_id, group.patient_row = patient, number
            _check_identifier(manifest, group, "local_patient_id", number)
        elif patient and patient != group.entry.local_patient_id:
            manifest.add(
                Level.ERROR,
                _("Rows %(first)s and %(row)s give different local patient IDs for this case.")
                % {"first": group.patient_row, "row": number},
                field="local_patient_id",
                **at,
            )
            group.entry.metadata_valid = False
        for i, name in metadata_columns:
            value = cells[i].strip() if i < len(cells) else ""
            earlier = group.raw.setdefault(name, (value, number)) if value else None
            if earlier and vocab.normalise_wording(earlier[0]) != vocab.normalise_wording(value):
                manifest.add(
                    Level.ERROR,
                    _("Rows %(first)s and %(row)s disagree on this field: “%(a)s” and “%(b)s”.")
                    % {"first": earlier[1], "row": number, "a": earlier[0], "b": value},
                    field=name,
                    **at,
                )
                group.entry.metadata_valid = False
        if len(group.entry.images) >= MAX_IMAGES_PER_CASE:
            manifest.add(
                Level.ERROR,
                _("More than %(limit)s images in one case: image not imported.")
                % {"limit": MAX_IMAGES_PER_CASE},
                field="file",
                **at,
            )
            continue
        order_text = cell("order")
        order = integer(order_text) if order_text else None
        if order_text and (order is None or order < 1):
            manifest.add(
                Level.ERROR,
                _("The order must be a whole number from 1, not “%(value)s”: image not imported.")
                % {"value": order_text},
                field="order",
                **at,
            )
            continue
        image = image_entry(
            manifest,
            seen,
            file=cell("file"),
            step=cell("step"),
            order=order,
            capture_device=cell("capture_device"),
            row=number,
            where="",
            case=case_id,
        )
        if image:
            group.entry.images.append(image)

    for group in cases.values():
        entry = group.entry
        if not entry.local_patient_id:
            manifest.add(
                Level.ERROR,
                _("No local patient ID on any row of this case."),
                row=group.first_row,
                field="local_patient_id",
                case=entry.case_id,
            )
            entry.metadata_valid = False
        entry.metadata, notes = clean_metadata({k: v for k, (v, _row) in group.raw.items()})
        for level, name, message in notes:
            row = group.raw[name][1] if name in group.raw else group.first_row
            manifest.add(level, message, row=row, field=name, case=entry.case_id)
            entry.metadata_valid &= level != Level.ERROR
        manifest.cases.append(entry)
    return manifest
