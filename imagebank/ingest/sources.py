"""Finds the reader for each path (file, folder or ZIP) and feeds its cases to the writer."""

import importlib
import tempfile
from pathlib import Path
from types import ModuleType

from django.utils.translation import gettext as _

from imagebank.ingest.report import IngestReport
from imagebank.ingest.writer import write_case
from imagebank.models import Site

# Most specific first: an IARC folder or a case package is also a folder of images.
READER_MODULES = (
    "imagebank.ingest.iarc",
    "imagebank.ingest.case_package",
    "imagebank.ingest.dicom_files",
    "imagebank.ingest.single_image",
)


# Office documents are ZIP files inside: an IARC workbook is not a nested archive.
ZIP_BASED_DOCUMENTS = frozenset({".xlsx", ".xlsm", ".ods", ".docx", ".odt"})


def readers() -> list[ModuleType]:
    return [importlib.import_module(name) for name in READER_MODULES]


def reader_for(path: Path) -> ModuleType | None:
    for reader in readers():
        if reader.can_read(path):
            return reader
    return None


def _content_root(folder: Path) -> Path:
    """An archive of one folder (as zipping a folder makes) is read from inside that folder."""
    entries = [entry for entry in folder.iterdir() if not entry.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return folder


def ingest_path(path: Path, *, site: Site, actor, report: IngestReport) -> None:
    from imagebank.ingest import safe_zip

    if not path.exists():
        report.error(_("No such file or folder."), file=str(path))
        return
    if path.is_file() and safe_zip.is_zip(path):
        with tempfile.TemporaryDirectory(prefix="ingest-") as folder:
            # Unpacked under the archive's own name, so readers that name cases after their
            # folder say "scans", not a temporary folder's name.
            unpacked = (Path(folder) / (path.stem or "archive")).resolve()
            try:
                extracted = safe_zip.extract(path, unpacked)
            except safe_zip.UnsafeArchive as error:
                report.error(str(error), file=path.name)
                return
            for member in extracted:
                if member.suffix.lower() not in ZIP_BASED_DOCUMENTS and safe_zip.is_zip(member):
                    # One level only: nesting is how archive bombs multiply.
                    report.warning(
                        _("An archive inside an archive is not opened: send it on its own."),
                        file=f"{path.name}/{member.relative_to(unpacked)}",
                    )
            _ingest_readable(_content_root(unpacked), path.name, site, actor, report)
        return
    _ingest_readable(path, path.name, site, actor, report)


def _ingest_readable(path: Path, name: str, site: Site, actor, report: IngestReport) -> None:
    report.learn_names(name, path.name)  # readers name cases after them ("study 1 in …")
    reader = reader_for(path)
    if reader is None:
        report.error(
            _(
                "Not a format the bank reads: give an IARC image-bank folder, a case package, "
                "DICOM, JPEG, PNG or TIFF files, or a ZIP of them."
            ),
            file=name,
        )
        return
    report.format = ", ".join(filter(None, {*report.format.split(", "), reader.FORMAT}))
    for item in reader.read(path, report):
        write_case(site=site, actor=actor, item=item, report=report)


def ingest_paths(
    paths: list[Path], *, site: Site, actor, report: IngestReport | None = None
) -> IngestReport:
    """Import each path into the site; `report` (a fresh one by default) collects what happened."""
    if report is None:
        report = IngestReport(source=", ".join(str(p) for p in paths))
    for path in paths:
        first_problem, first_case = len(report.problems), len(report.cases)
        ingest_path(Path(path), site=site, actor=actor, report=report)
        for entry in [*report.problems[first_problem:], *report.cases[first_case:]]:
            entry.source = Path(path).name
    return report
