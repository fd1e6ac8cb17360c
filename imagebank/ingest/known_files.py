"""Files a client left out of an upload because the bank already holds them, declared by hash.

A client resuming an import (the `imagebank` command) does not send again the images the site
already holds; it declares them instead, in a file `.imagebank-known.json` at the top of the
folder it sends: `{"version": 1, "files": {"Case 002/AAAW1.jpg": "<sha256 of the file>"}}`.
Readers treat a declared file as present: the import means the same whether or not the bytes
travelled, and the writer finds each declared image by its hash among the site's images (a file
that is not there after all is reported, never silently dropped).

The declaration is input from outside like any other: it is size-limited, every path must stay
inside the folder, and every hash must be 64 hexadecimal digits.
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath

from django.utils.translation import gettext as _

from imagebank.ingest.report import IngestReport

KNOWN_FILES_NAME = ".imagebank-known.json"
MAX_BYTES = 4 * 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _clean_path(raw: object) -> str | None:
    if not isinstance(raw, str) or not raw or len(raw) > 500 or "\\" in raw or "\x00" in raw:
        return None
    path = PurePosixPath(raw)
    if path.is_absolute() or any(part in ("", ".", "..") for part in path.parts):
        return None
    return path.as_posix()


def read_known(folder: Path, report: IngestReport) -> dict[str, str]:
    """{relative path: SHA-256} declared in `folder`, or {} when there is no declaration. A bad
    declaration is reported and ignored as a whole (the files it names are then missing)."""
    path = folder / KNOWN_FILES_NAME
    if not path.is_file() or path.is_symlink():
        return {}

    def refuse(why: str) -> dict[str, str]:
        report.error(
            _("%(file)s is not a valid list of files already in the bank (%(why)s): ignored.")
            % {"file": KNOWN_FILES_NAME, "why": why},
            file=KNOWN_FILES_NAME,
        )
        return {}

    if path.stat().st_size > MAX_BYTES:
        return refuse(_("larger than %(limit)s MB") % {"limit": MAX_BYTES // (1024 * 1024)})
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return refuse(_("not JSON"))
    files = document.get("files") if isinstance(document, dict) else None
    if document.get("version") != 1 or not isinstance(files, dict):
        return refuse(_("it needs “version”: 1 and a “files” object"))
    known: dict[str, str] = {}
    for raw_path, sha256 in files.items():
        clean = _clean_path(raw_path)
        if clean is None or not isinstance(sha256, str) or not _SHA256.match(sha256):
            return refuse(
                _("“%(path)s” is not a relative path with a SHA-256") % {"path": raw_path}
            )
        known[clean] = sha256
    return known


def in_folder(known: dict[str, str], folder: str) -> dict[str, str]:
    """{file name: SHA-256} of the declared files directly inside `folder` (a relative path)."""
    prefix = PurePosixPath(folder)
    return {
        PurePosixPath(path).name: sha256
        for path, sha256 in known.items()
        if PurePosixPath(path).parent == prefix
    }


def not_sent() -> bytes:
    """`ImageItem.read` of a declared file: the writer finds it by hash and never reads it."""
    raise OSError(_("the client declared this file as already in the bank and did not send it"))
