"""Checks shared by the CSV and JSON readers: file paths, steps, one listed image, lengths."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from django.utils.translation import gettext as _

from imagebank import vocabularies as vocab
from imagebank.ingest.report import Level

from .entries import ImageEntry, Manifest, join

_DRIVE = re.compile(r"^[A-Za-z]:")


def too_long(limit: int) -> str:
    return _("Longer than %(limit)s characters.") % {"limit": limit}


def unsafe_path_reason(path: str) -> str | None:
    """Why `path` may not name a file inside the package, or None when it is a safe relative path.

    Symlinks are checked by the reader, which sees the files; this rules out what no package
    should write: absolute paths, parent segments, Windows separators and drive letters.
    """
    if not path.strip():
        return _("The file name is empty.")
    if "\\" in path or _DRIVE.match(path):
        return _("Use forward slashes and a path inside the package, not “%(path)s”.") % {
            "path": path
        }
    if path.startswith("/") or "\x00" in path:
        return _("“%(path)s” is an absolute path: give a path inside the package.") % {"path": path}
    if ".." in PurePosixPath(path).parts:
        return _("“%(path)s” points outside the package.") % {"path": path}
    return None


def step_for(wording: str) -> tuple[str, str, bool]:
    """(step code, original wording to keep, known?). Unknown wordings become "other"."""
    wording = (wording or "").strip()
    term = vocab.EXAMINATION_STEP.lookup(wording) if wording else None
    if term is None:
        return "other", wording, False
    return term.code, "" if wording == term.code else wording, True


def image_entry(
    manifest: Manifest,
    seen: dict[str, str],
    *,
    file: str,
    step: str,
    order: int | None,
    capture_device: str,
    row: int | None,
    where: str,
    case: str,
) -> ImageEntry | None:
    """One listed image, or None (with an error) when it cannot be imported."""
    at = {"row": row, "case": case}
    reason = unsafe_path_reason(file)
    if reason:
        manifest.add(Level.ERROR, reason, field=join(where, "file"), **at)
        return None
    key = str(PurePosixPath(file))
    if key in seen:
        manifest.add(
            Level.ERROR,
            _("“%(file)s” is already listed (%(where)s): each file is listed once.")
            % {"file": file, "where": seen[key]},
            field=join(where, "file"),
            **at,
        )
        return None
    seen[key] = where or _("row %(row)s") % {"row": row}
    code, original, known = step_for(step)
    if not known:
        manifest.add(
            Level.WARNING,
            _("Step “%(wording)s” is not a known step: stored as “other”, the wording kept.")
            % {"wording": original}
            if original
            else _("No step given: stored as “other”."),
            field=join(where, "step"),
            **at,
        )
    return ImageEntry(key, code, original, order, capture_device.strip(), row, where)
