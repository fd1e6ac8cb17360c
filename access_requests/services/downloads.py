"""Downloads of granted release versions: who may, what a download holds, the streamed archive
with its byte ranges, and the log row each download writes before its bytes go.

The whole release is one ZIP streamed with zipstream-ng in constant memory: members are stored
(ZIP_STORED: the images are JPEG, compression gains nothing), so the archive's length is known
before a byte is sent (`Content-Length`, a progress bar for the client), and every member's bytes
are read from storage in chunks, never whole.

Byte ranges (an interrupted download resumes) are served by generating the same archive again and
cutting the range out of it. The archive is byte-identical from one request to the next: the
members come in a fixed order (the release's files by path, AGREEMENT.txt, the images by path),
every member is dated with the version's publication time, and AGREEMENT.txt is the same text for
the same signature. The central directory at the end holds every member's CRC-32, so a range
reaching it (every resumed download does) needs the CRC of the members it skips: a member's CRC
is a function of its bytes, so it is remembered in the cache under the blob's SHA-256 as the
member streams, and a member wholly before the range whose CRC is known is skipped without being
read. A member whose CRC is not known (a cold cache) is read and discarded: still constant memory.

A stored file that does not match its SHA-256 (or its size) as it streams cannot be reported in
the middle of a ZIP: the stream stops (CorruptStoredFile, logged), and the client sees a truncated
download (fewer bytes than Content-Length). The member's last chunk (and its data descriptor) is
held back until its bytes are checked, so the client never receives a complete member with the
wrong bytes.

What a member's bytes are checked against depends on whether its CRC-32 is known. The first time
a blob streams (its CRC not in the cache) every byte is hashed with SHA-256 and compared with the
SHA-256 the release recorded; only a blob that matched has its CRC-32 remembered, so a cached CRC
is the CRC of the right bytes. From then on the blob streams without SHA-256 (the costliest part
of a download, per byte): the ZIP needs every byte's CRC-32 anyway, and that CRC is compared with
the cached one (and the size with the recorded size) before the member's last chunk goes. A CRC-32
detects any accidental change of a file (a bad disk, a truncated copy, a file replaced by another
one); it is no defence against someone forging a file with the same CRC, and it needs not be:
the daily release audit (curation's audit_releases) re-hashes every stored object with SHA-256,
and the researcher's client checks every file it unpacks against the manifest's SHA-256s.
"""

import hashlib
import logging
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from itertools import islice

import zipstream
from django.core.cache import cache
from django.db.models import QuerySet
from zipstream.ng import (
    _FLAG_DATA_DESCRIPTOR,
    ZIP64_ESTIMATE_FACTOR,
    ZIP64_LIMIT,
    ZipStreamInfo,
)

# The same CRC-32 (the same numbers) an order of magnitude faster than the stdlib's zlib 1.2.13
# (SIMD: ~50 GB/s against ~3), so CRC-32 no longer bounds a cached download (bench/downloads.py).
from zlib_ng.zlib_ng import crc32

from access_requests import request_selectors
from access_requests.models import AgreementSignature, DownloadLog, Grant
from access_requests.services import agreements
from access_requests.services.grants import can_download, covered_versions
from curation.models import ReleaseFile, ReleaseImage, ReleaseState, ReleaseVersion
from curation.models.releases import SEMVER
from imagebank import storage
from imagebank.client_address import client_ip

logger = logging.getLogger("access_requests.downloads")

CHUNK = storage.CHUNK
AGREEMENT_PATH = "AGREEMENT.txt"
MANIFEST_PATH = "manifest.csv"
USER_AGENT_MAX_LENGTH = DownloadLog._meta.get_field("user_agent").max_length
# A blob's CRC-32 never changes (the blob is named by its SHA-256): kept long. When it expires,
# the blob's next download checks it against its SHA-256 again and remembers it again.
CRC_CACHE_SECONDS = 60 * 60 * 24 * 90
# Members whose CRC-32s one cache round trip asks for (one `get_many`, not one `get` a member:
# Redis in production). Bounded so a release of a million images never asks for a million keys.
CRC_LOOKUP_BATCH = 1000


class DownloadNotFound(Exception):
    """No such grant, version or file for this user: answered exactly like a missing one."""


class AgreementUnsigned(Exception):
    """The user has not signed, for the grant's group, the agreement version in force now."""

    def __init__(self, grant: Grant) -> None:
        super().__init__(grant.pk)
        self.grant = grant


class CorruptStoredFile(Exception):
    """A stored file's bytes do not match the SHA-256 (or size) the release recorded."""


# --- who may ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Authorized:
    grant: Grant
    version: ReleaseVersion
    signature: AgreementSignature


def authorize(user, grant_pk: int, slug: str, version_label: str) -> Authorized:
    """The grant, version and signature behind a download URL, for `user`. The grant must be
    live, name the user and cover the version, and `can_download` must hold (it is asked on
    every request, so a revoked or expired grant refuses at once, API tokens included); anything
    else is DownloadNotFound, whether or not it exists. Then the user must have signed the
    agreement in force for the grant's group (AgreementUnsigned)."""
    if not (user and user.is_authenticated and user.is_active):
        raise DownloadNotFound
    if not SEMVER.match(version_label or ""):  # a NUL or junk is nobody's version
        raise DownloadNotFound
    grant = (
        request_selectors.live_grants()
        .filter(pk=grant_pk, accessors=user)
        .select_related("group")
        .first()
    )
    version = (
        ReleaseVersion.objects.filter(
            release__slug=slug, version=version_label, state=ReleaseState.PUBLISHED
        )
        .select_related("release")
        .first()
    )
    if grant is None or version is None:
        raise DownloadNotFound
    if not covered_versions(grant).filter(pk=version.pk).exists():
        raise DownloadNotFound
    if not can_download(user, version):
        raise DownloadNotFound
    signature = agreements.signature_for_download(grant.group, user)
    if signature is None:
        raise AgreementUnsigned(grant)
    return Authorized(grant=grant, version=version, signature=signature)


def downloadable_now(user) -> list[tuple[Grant, ReleaseVersion]]:
    """(grant, version) for every version the user may download now through a live grant naming
    them, newest grant first; for the CLI's `imagebank releases`."""
    if not (user and user.is_authenticated and user.is_active):
        return []
    pairs = []
    grants = request_selectors.live_grants().filter(accessors=user).order_by("-starts_at", "-pk")
    for grant in grants:
        versions = covered_versions(grant).select_related("release")
        for version in versions.order_by("release__slug", "-major", "-minor", "-patch"):
            if can_download(user, version):
                pairs.append((grant, version))
    return pairs


# --- what a download holds ----------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """One file of a download: its path in the release, where its bytes are (a storage key, or
    the bytes themselves for AGREEMENT.txt), its SHA-256 and size. Iterating it yields its bytes
    in chunks, checked against the SHA-256 as they stream (CorruptStoredFile)."""

    path: str
    sha256: str
    size: int
    key: str = ""
    data: bytes | None = None

    def stored_chunks(self) -> Iterator[bytes]:
        """The member's bytes as they are read, in chunks, not checked (the archive checks them
        as it CRCs them)."""
        if self.data is not None:
            if self.data:
                yield self.data
            return
        yield from storage.stream_chunks(self.key)

    def corrupt(self) -> CorruptStoredFile:
        """Logs that the stored file does not match, and the exception that stops its stream."""
        logger.error(
            "Stored file %s (%s) does not match its SHA-256 or size; the download stops.",
            self.path,
            self.key,
        )
        return CorruptStoredFile(self.path)

    def __iter__(self) -> Iterator[bytes]:
        if self.data is not None:
            yield from self.stored_chunks()
            return
        digest, read, held = hashlib.sha256(), 0, None
        for chunk in self.stored_chunks():
            digest.update(chunk)
            read += len(chunk)
            if held is not None:
                yield held
            held = chunk
        if read != self.size or digest.hexdigest() != self.sha256:
            raise self.corrupt()
        if held is not None:
            yield held

    def chunks_between(self, start: int, stop: int) -> Iterator[bytes]:
        """The bytes [start, stop) of the member, read from storage from `start` on. Not checked
        against the SHA-256 (only a whole file can be)."""
        if self.data is not None:
            yield self.data[start:stop]
            return
        yield from storage.stream_chunks(self.key, start, stop)

    @property
    def content_type(self) -> str:
        return mimetypes.guess_type(self.path)[0] or "application/octet-stream"


def agreement_text(signature: AgreementSignature) -> bytes:
    """AGREEMENT.txt of a download: the signed agreement's text under a header saying which
    version, for which group, by whom and when, and the SHA-256 of the text signed. Data, like
    the agreement's text, so not translated: the archive must be the same bytes whatever the
    reader's language, request after request."""
    agreement, group = signature.agreement, signature.group
    header = (
        f"Data use agreement: {agreement.title}, version {agreement.version}\n"
        f"Research group: {group.name} ({group.institution}, {group.country})\n"
        f"Signed by: {signature.typed_name}\n"
        f"Signed at: {signature.signed_at.astimezone(UTC).isoformat()}\n"
        f"SHA-256 of the text signed: {signature.text_sha256}\n"
        f"{'-' * 72}\n\n"
    )
    return (header + agreement.text.rstrip("\n") + "\n").encode("utf-8")


def _agreement_member(signature: AgreementSignature) -> Member:
    data = agreement_text(signature)
    return Member(
        path=AGREEMENT_PATH, sha256=hashlib.sha256(data).hexdigest(), size=len(data), data=data
    )


def archive_members(version: ReleaseVersion, signature: AgreementSignature) -> Iterator[Member]:
    """Every member of the archive, in the archive's fixed order: the release's own files by
    path (manifest, Croissant metadata, datasheet, licence), AGREEMENT.txt, the images by path."""
    files = ReleaseFile.objects.filter(version=version).order_by("path")
    for path, sha256, size, key in files.values_list(
        "path", "sha256", "bytes", "blob__storage_key"
    ):
        yield Member(path=path, sha256=sha256, size=size, key=key)
    yield _agreement_member(signature)
    images = ReleaseImage.objects.filter(version=version).order_by("path")
    rows = images.values_list("path", "sha256", "bytes", "blob__storage_key")
    for path, sha256, size, key in rows.iterator(chunk_size=2000):
        yield Member(path=path, sha256=sha256, size=size, key=key)


def find_member(version: ReleaseVersion, path: str, signature: AgreementSignature) -> Member:
    """One file of the version by its path in the release (AGREEMENT.txt: the signed agreement),
    or DownloadNotFound."""
    if path == AGREEMENT_PATH:
        return _agreement_member(signature)
    for model in (ReleaseFile, ReleaseImage):
        row = (
            model.objects.filter(version=version, path=path)
            .values_list("sha256", "bytes", "blob__storage_key")
            .first()
        )
        if row is not None:
            return Member(path=path, sha256=row[0], size=row[1], key=row[2])
    raise DownloadNotFound


def top_folder(version: ReleaseVersion) -> str:
    return f"{version.release.slug}-{version.version}"


def archive_name(version: ReleaseVersion) -> str:
    return f"{top_folder(version)}.zip"


# --- the archive --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    """Bytes of the archive that are not produced: a member wholly before the range asked for."""

    length: int


def _crc_key(sha256: str) -> str:
    return f"access_requests:zip-crc32:{sha256}"


class ReleaseArchive(zipstream.ZipStream):
    """A sized, stored ZipStream of Members with fixed dates, able to skip the members wholly
    before `skip_before` whose CRC-32 is known, and streaming a member whose CRC-32 is known
    without hashing it with SHA-256 (the module's docstring says why that is enough).

    It replaces zipstream-ng's `_gen_file_entry` (zipstream-ng 1.9.3, pinned), whose members are
    always dated "now", which would change the archive's bytes from one request to the next, and
    `ZipStreamInfo._file_data` for these stored members (the same header, data and data
    descriptor, but the data checked before the last chunk and the descriptor go, and every byte
    CRC'd once); the rest (headers, data descriptors, the central directory, Zip64, the length)
    is the library's.
    """

    def __init__(self, *, date_time: tuple[int, ...], skip_before: int = 0) -> None:
        super().__init__(compress_type=zipstream.ZIP_STORED, sized=True)
        self._date_time = date_time
        self._skip_before = skip_before
        self._known_crcs: dict[str, int] = {}  # sha256 -> CRC-32, cached or checked here
        self._looked_up: set[str] = set()  # sha256s already asked of the cache

    def add_member(self, member: Member, arcname: str) -> None:
        self.add(member, arcname, size=member.size)

    def slice(self, start: int, stop: int) -> Iterator[bytes]:
        """The archive's bytes [start, stop), skipping the members wholly before `start` whose
        CRC-32 is known. Call once, before iterating the archive."""
        self._skip_before = start
        return byte_slice(self, start, stop)

    def _known_crc(self, member: Member) -> int | None:
        """The CRC-32 of a stored member's right bytes, when known. The first member not yet
        asked about asks the cache for itself and the next CRC_LOOKUP_BATCH - 1 queued members
        in one `get_many`."""
        if member.data is not None:
            return None  # AGREEMENT.txt: made here, nothing to check
        if member.sha256 not in self._looked_up:
            queued = (queued["iterable"] for queued in self._queue if "iterable" in queued)
            batch = {
                other.sha256
                for other in (member, *islice(queued, CRC_LOOKUP_BATCH - 1))
                if isinstance(other, Member) and other.data is None
            } - self._looked_up
            found = cache.get_many([_crc_key(sha256) for sha256 in batch])
            for sha256 in batch:
                crc = found.get(_crc_key(sha256))
                if crc is not None:
                    self._known_crcs[sha256] = crc
            self._looked_up |= batch
        return self._known_crcs.get(member.sha256)

    def _gen_file_entry(self, *, iterable, size, arcname, **_unused):
        member: Member = iterable
        zinfo = ZipStreamInfo(arcname, date_time=self._date_time)
        zinfo.external_attr = 0o644 << 16  # -rw-r--r--
        zinfo.file_size = size
        zinfo.compress_type = zipstream.ZIP_STORED
        zinfo._compresslevel = None
        zinfo.header_offset = self._pos
        # As zinfo._file_data does: sizes and CRC follow the data, Zip64 when it could be needed.
        zinfo.flag_bits |= _FLAG_DATA_DESCRIPTOR
        zip64 = size * ZIP64_ESTIMATE_FACTOR > ZIP64_LIMIT
        known_crc = self._known_crc(member)
        if known_crc is not None and self._skip_before:
            # What the member's entry would be, measured without reading the member.
            zinfo.CRC, zinfo.compress_size = known_crc, size
            length = len(zinfo.FileHeader(zip64)) + size + len(zinfo.DataDescriptor(zip64))
            if self._pos + length <= self._skip_before:
                self._pos += length
                self._filelist.append(zinfo)
                yield Gap(length)
                return
            # Reaches into the range: produced for real (FileHeader is idempotent).
        yield from self._stored_entry(zinfo, member, known_crc, zip64)
        if known_crc is None and member.data is None:  # checked against its SHA-256 just now
            self._known_crcs[member.sha256] = zinfo.CRC
            cache.set(_crc_key(member.sha256), zinfo.CRC, CRC_CACHE_SECONDS)
        self._filelist.append(zinfo)

    def _stored_entry(self, zinfo, member: Member, known_crc: int | None, zip64: bool):
        """The member's local header, data and data descriptor. Every byte is CRC'd once (the
        ZIP needs it); a member whose CRC is not known is also hashed with SHA-256. The last
        chunk waits until the bytes are checked (CorruptStoredFile, logged, on a wrong size or a
        CRC or SHA-256 that does not match): a changed file stops the stream before its member
        is complete. Positions are counted here rather than through `_track`, piece by piece."""
        header = zinfo.FileHeader(zip64)
        self._pos += len(header)
        yield header
        digest = hashlib.sha256() if known_crc is None and member.data is None else None
        crc, read, held = 0, 0, None
        for chunk in member.stored_chunks():
            crc = crc32(chunk, crc)
            read += len(chunk)
            if digest is not None:
                digest.update(chunk)
            if held is not None:
                self._pos += len(held)
                yield held
            held = chunk
        if read != member.size or (
            digest.hexdigest() != member.sha256
            if digest is not None
            else known_crc is not None and crc != known_crc
        ):
            raise member.corrupt()
        if held is not None:
            self._pos += len(held)
            yield held
        zinfo.CRC, zinfo.file_size, zinfo.compress_size = crc, read, read
        descriptor = zinfo.DataDescriptor(zip64)
        self._pos += len(descriptor)
        yield descriptor


def _published_date_time(version: ReleaseVersion) -> tuple[int, ...]:
    return tuple(version.published_at.astimezone(UTC).timetuple()[:6])


def build_archive(
    version: ReleaseVersion, signature: AgreementSignature, *, skip_before: int = 0
) -> ReleaseArchive:
    """The version's archive for this signature, queued (nothing is read until it is iterated);
    `len()` of it is the archive's length."""
    archive = ReleaseArchive(date_time=_published_date_time(version), skip_before=skip_before)
    folder = top_folder(version)
    for member in archive_members(version, signature):
        archive.add_member(member, f"{folder}/{member.path}")
    return archive


def archive_etag(version: ReleaseVersion, signature: AgreementSignature) -> str:
    """A strong ETag for the archive's bytes: a hash of the version, its publication time, its
    file list (paths, SHA-256, sizes) and the signature whose agreement it carries."""
    digest = hashlib.sha256()
    digest.update(f"{version.pk}|{version.published_at.isoformat()}|{signature.pk}\n".encode())
    for member in archive_members(version, signature):
        digest.update(f"{member.path}|{member.sha256}|{member.size}\n".encode())
    return f'"{digest.hexdigest()[:40]}"'


def byte_slice(pieces, start: int, stop: int) -> Iterator[bytes]:
    """The bytes [start, stop) of a stream of byte strings and Gaps (a Gap never reaches into
    the slice: the archive only skips members wholly before it)."""
    position = 0
    for piece in pieces:
        length = piece.length if isinstance(piece, Gap) else len(piece)
        end = position + length
        if end > start and position < stop:
            if isinstance(piece, Gap):
                raise RuntimeError("A skipped member reaches into the range asked for.")
            yield piece[max(start - position, 0) : min(stop - position, length)]
        position = end
        if position >= stop:
            return


def archive_bytes(
    version: ReleaseVersion, signature: AgreementSignature, start: int, stop: int
) -> Iterator[bytes]:
    """The archive's bytes [start, stop), generated lazily in constant memory."""
    return build_archive(version, signature).slice(start, stop)


# --- byte ranges --------------------------------------------------------------------------------


class RangeNotSatisfiable(Exception):
    """A range that starts at or beyond the end (416)."""


_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


def parse_range(header: str, total: int) -> tuple[int, int] | None:
    """[start, stop) of a `Range: bytes=…` header for a body of `total` bytes; None when the
    header is absent, malformed or asks for several ranges (the whole body is sent, as RFC 9110
    allows); RangeNotSatisfiable when the one range asked for lies beyond the end."""
    if not header:
        return None
    found = _RANGE.match(header)
    if not found:
        return None
    first, last = found.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        suffix = int(last)
        if suffix == 0 or total == 0:
            raise RangeNotSatisfiable
        return max(total - suffix, 0), total
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= total:
        raise RangeNotSatisfiable
    stop = min(int(last) + 1, total) if last else total
    return start, stop


# --- the log ------------------------------------------------------------------------------------


def log_download(
    *,
    request,
    user,
    authorized: Authorized,
    kind: str,
    path: str = "",
    length: int,
    byte_range: tuple[int, int] | None = None,
    api_token=None,
) -> DownloadLog:
    """The row a download (or a signed URL issued) writes before its bytes go: who, for which
    group and grant, what, how many bytes (the range's when a range was asked for, with its first
    and last byte), the API token if one authenticated the request, the address and user agent."""
    start, last = (byte_range[0], byte_range[1] - 1) if byte_range else (None, None)
    return DownloadLog.objects.create(
        user=user,
        group_id=authorized.grant.group_id,
        grant=authorized.grant,
        version=authorized.version,
        kind=kind,
        path=path[: DownloadLog._meta.get_field("path").max_length],
        bytes=(byte_range[1] - byte_range[0]) if byte_range else length,
        range_start=start,
        range_end=last,
        api_token=api_token,
        ip_address=client_ip(request) or None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX_LENGTH],
    )


def signed_url_for(member: Member) -> str | None:
    """A short-lived signed URL for a stored member on object storage; None on local storage or
    for a member that is not stored (AGREEMENT.txt)."""
    if member.data is not None:
        return None
    return storage.signed_url(member.key)


def sees_every_row(user) -> bool:
    """Committee members and curators read every row of a grant's log."""
    return request_selectors.is_committee_member(user) or request_selectors.is_curator(user)


def log_rows_for(user, grant: Grant) -> QuerySet[DownloadLog] | None:
    """The grant's download log as `user` may read it: every row for committee members and
    curators, their own rows for a member of the grant's group or one of its accessors; None for
    anyone else (the grant is then answered as missing)."""
    rows = DownloadLog.objects.filter(grant=grant).select_related(
        "user", "version__release", "api_token"
    )
    if sees_every_row(user):
        return rows
    if (
        request_selectors.is_group_member(user, grant.group)
        or grant.accessors.filter(pk=user.pk).exists()
    ):
        return rows.filter(user=user)
    return None
