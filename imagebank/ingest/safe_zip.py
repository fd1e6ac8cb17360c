"""Extracting uploaded ZIP archives without trusting them.

Refused, with the member named: paths that leave the destination (`..`, absolute, drive letters,
backslashes), links and other non-regular members, duplicate names, encrypted members, too many
members, too much data, and compression ratios no real image archive has. Sizes are counted on the
bytes actually decompressed, so a header that lies about them cannot bomb the server. On refusal,
whatever was extracted is removed.
"""

import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.utils.translation import gettext as _

CHUNK = 1024 * 1024
# Operating-system debris that archives carry; skipped, never an error.
IGNORED_PARTS = frozenset({"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"})


class UnsafeArchive(ValueError):
    """An archive the bank will not open; the message names the archive member at fault."""


@dataclass(frozen=True)
class ZipLimits:
    max_members: int
    max_total_bytes: int
    max_member_bytes: int
    max_ratio: int

    @classmethod
    def from_settings(cls) -> "ZipLimits":
        return cls(
            max_members=settings.INGEST_ZIP_MAX_MEMBERS,
            max_total_bytes=settings.INGEST_ZIP_MAX_TOTAL_BYTES,
            # A member is one image or spreadsheet: the limit of one uploaded image.
            max_member_bytes=settings.MAX_UPLOAD_BYTES,
            max_ratio=settings.INGEST_ZIP_MAX_RATIO,
        )


def is_zip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def _safe_relative(name: str) -> PurePosixPath | None:
    """The member's path inside the destination, or None when it must be refused."""
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = PurePosixPath(name).parts
    if not parts or any(part in ("..", "") for part in parts):
        return None
    return PurePosixPath(*parts)


def _is_regular(info: zipfile.ZipInfo) -> bool:
    # Archivers that record no file type leave the type bits at zero.
    return stat.S_IFMT(info.external_attr >> 16) in (0, stat.S_IFREG)


def extract(zip_path: Path, dest: Path, *, limits: ZipLimits | None = None) -> list[Path]:
    limits = limits or ZipLimits.from_settings()
    dest = dest.resolve()
    dest.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        try:
            _extract(zip_path, dest, limits, written)
        except (
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            NotImplementedError,
            RuntimeError,
        ) as error:
            raise UnsafeArchive(
                _("%(file)s is damaged: %(error)s") % {"file": zip_path.name, "error": error}
            ) from error
    except UnsafeArchive:
        for child in dest.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise
    return written


def _extract(zip_path: Path, dest: Path, limits: ZipLimits, written: list[Path]) -> None:
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as error:
        raise UnsafeArchive(
            _("%(file)s is not a readable ZIP archive.") % {"file": zip_path.name}
        ) from error
    with archive:
        members = archive.infolist()
        if len(members) > limits.max_members:
            raise UnsafeArchive(
                _("%(file)s has %(count)s members; the limit is %(limit)s.")
                % {"file": zip_path.name, "count": len(members), "limit": limits.max_members}
            )
        seen: set[str] = set()
        total = 0
        for info in members:
            name = info.filename
            if info.is_dir() or IGNORED_PARTS & set(PurePosixPath(name).parts):
                continue
            relative = _safe_relative(name)
            if relative is None:
                raise UnsafeArchive(_("%(member)s: a path outside the archive.") % {"member": name})
            if not _is_regular(info):
                raise UnsafeArchive(
                    _("%(member)s: links and special files are refused.") % {"member": name}
                )
            if info.flag_bits & 0x1:
                raise UnsafeArchive(
                    _("%(member)s: encrypted members are refused.") % {"member": name}
                )
            key = str(relative).casefold()
            if key in seen:
                raise UnsafeArchive(_("%(member)s: the same name twice.") % {"member": name})
            seen.add(key)
            target = dest / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            size = 0
            with archive.open(info) as source, target.open("wb") as sink:
                written.append(target)
                while chunk := source.read(CHUNK):
                    size += len(chunk)
                    total += len(chunk)
                    if size > limits.max_member_bytes:
                        raise UnsafeArchive(
                            _("%(member)s: larger than the bank accepts.") % {"member": name}
                        )
                    if total > limits.max_total_bytes:
                        raise UnsafeArchive(
                            _("%(file)s: more data than the bank accepts in one archive.")
                            % {"file": zip_path.name}
                        )
                    if size > CHUNK and size > limits.max_ratio * max(info.compress_size, 1):
                        raise UnsafeArchive(
                            _(
                                "%(member)s: compressed more than %(ratio)s to 1, refused as a "
                                "possible archive bomb."
                            )
                            % {"member": name, "ratio": limits.max_ratio}
                        )
                    sink.write(chunk)
