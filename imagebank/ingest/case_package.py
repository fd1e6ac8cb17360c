"""A case package: the bank's own format, a folder (or ZIP) with a manifest and the images it lists.

The manifest (`manifest.json` or `manifest.csv`, see docs/formats/case-package.md) is parsed by
`imagebank.ingest.manifest`; this module checks the listed files against the folder — missing
files, paths that escape the package through symlinks, images present but not listed — and hands
the cases to the writer. Images are read lazily, when the writer needs their bytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from imagebank.ingest.items import CaseItem, ImageItem
from imagebank.ingest.known_files import not_sent, read_known
from imagebank.ingest.manifest import MAX_MANIFEST_BYTES, ManifestError, parse_manifest
from imagebank.ingest.report import IngestReport

FORMAT = "case_package"
MANIFEST_NAMES = {"manifest.json": "json", "manifest.csv": "csv"}
# Files whose presence without a listing is worth a warning; others (README, notes) are ignored.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".dcm"})
# A folder of thousands of unlisted images deserves a summary, not thousands of warnings.
MAX_UNLISTED_WARNINGS = 50


def _manifests(path: Path) -> list[Path]:
    return [path / name for name in MANIFEST_NAMES if (path / name).is_file()]


def can_read(path: Path) -> bool:
    return path.is_dir() and bool(_manifests(path))


def _inside(root: Path, listed: str) -> Path | None:
    """The real path of a listed file, or None when a symlink takes it outside the package."""
    resolved = (root / listed).resolve()
    return resolved if resolved.is_relative_to(root) else None


def read(path: Path, report: IngestReport) -> Iterator[CaseItem]:
    manifests = _manifests(path)
    if len(manifests) > 1:
        report.error(
            _(
                "The package holds both manifest.json and manifest.csv: keep one, so that it is "
                "clear which one describes the cases."
            ),
            file=path.name,
        )
        return
    manifest_path = manifests[0]
    name = manifest_path.name
    if manifest_path.stat().st_size > MAX_MANIFEST_BYTES:
        # Checked before reading, so a huge file is never loaded into memory.
        report.error(
            _("The manifest is larger than %(limit)s MB.")
            % {"limit": MAX_MANIFEST_BYTES // (1024 * 1024)},
            file=name,
        )
        return
    try:
        manifest = parse_manifest(manifest_path.read_bytes(), MANIFEST_NAMES[name])
    except ManifestError as error:
        report.error(error.message, file=name, row=error.row, field=error.field)
        return
    except OSError as error:
        report.error(_("The manifest cannot be read: %(error)s") % {"error": error}, file=name)
        return
    for problem in manifest.problems:
        report.add(
            problem.level,
            problem.message,
            file=name,
            row=problem.row,
            field=problem.field,
            case=problem.case,
        )

    root = path.resolve()
    declared = read_known(path, report)
    listed: set[Path] = {manifest_path.resolve()}
    cases: list[CaseItem] = []
    for entry in manifest.cases:
        item = CaseItem(
            reference=entry.case_id,
            local_patient_id=entry.local_patient_id,
            metadata=entry.metadata,
            metadata_valid=entry.metadata_valid,
            source_reference=entry.case_id,
        )
        for image in entry.images:
            where = {
                "file": image.file,
                "row": image.row,
                "field": f"{image.where}.file" if image.where else "file",
                "case": entry.case_id,
            }
            real = _inside(root, image.file)
            if real is None:
                report.error(
                    _("“%(file)s” is a link to a file outside the package: not imported.")
                    % {"file": image.file},
                    **where,
                )
                continue
            listed.add(real)
            sent = real.is_file()
            if not sent and image.file not in declared:
                report.error(
                    _("“%(file)s” is listed in %(manifest)s but is not in the package.")
                    % {"file": image.file, "manifest": name},
                    **where,
                )
                continue
            item.images.append(
                ImageItem(
                    filename=image.file,
                    # A file the client declared rather than sent is found by its hash.
                    read=real.read_bytes if sent else not_sent,
                    known_sha256="" if sent else declared[image.file],
                    step=image.step,
                    step_original_wording=image.step_original_wording,
                    display_order=image.order,
                    capture_device=image.capture_device,
                    row=image.row,
                )
            )
        cases.append(item)

    # Unlisted images are reported before any case is written, so the report reads top-down.
    _warn_unlisted(path, root, listed, name, report)
    yield from cases


def _warn_unlisted(
    path: Path, root: Path, listed: set[Path], manifest_name: str, report: IngestReport
) -> None:
    unlisted: list[str] = []
    for folder, folders, files in os.walk(path):  # symlinked folders are not followed
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        for file in sorted(files):
            candidate = Path(folder) / file
            if file.startswith(".") or candidate.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            if candidate.resolve() not in listed:
                unlisted.append(candidate.relative_to(path).as_posix())
    for relative in unlisted[:MAX_UNLISTED_WARNINGS]:
        report.warning(
            _("“%(file)s” is in the package but not listed in %(manifest)s: not imported.")
            % {"file": relative, "manifest": manifest_name},
            file=relative,
        )
    if len(unlisted) > MAX_UNLISTED_WARNINGS:
        more = len(unlisted) - MAX_UNLISTED_WARNINGS
        report.warning(
            ngettext(
                "%(count)s more file is in the package but not listed: not imported.",
                "%(count)s more files are in the package but not listed: not imported.",
                more,
            )
            % {"count": more},
            file=path.name,
        )
