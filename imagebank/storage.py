"""Private, content-addressed file storage: local folder by default, S3-compatible at scale.

Keys are derived from the SHA-256 of the bytes, so re-sending a file never duplicates it and a
key always names the same content. Nothing here produces a public URL: files leave the bank only
through permission-checked views, which stream local files or redirect to a short-lived signed URL.

Every object goes through metadata_guard first: an image that still carries identifying metadata
(EXIF, XMP, IPTC, comments, PNG text, TIFF descriptions, DICOM patient attributes) is refused with
UncleanObject, whichever code tried to store it. The one thing stored without this check is the
upload an import is queued with (services.ingest.queue_ingest), kept only until its worker has
read it.
"""

import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from imagebank.imaging import metadata_guard

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredObject:
    key: str
    sha256: str
    byte_size: int


def content_key(sha256: str, extension: str, prefix: str = "images") -> str:
    return f"{prefix}/{sha256[:2]}/{sha256[2:4]}/{sha256}.{extension.lstrip('.').lower()}"


def sha256_of(fileobj: IO[bytes]) -> tuple[str, int]:
    fileobj.seek(0)
    digest, size = hashlib.sha256(), 0
    while chunk := fileobj.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    fileobj.seek(0)
    return digest.hexdigest(), size


def store_bytes(data: bytes, extension: str, prefix: str) -> StoredObject:
    with tempfile.SpooledTemporaryFile(max_size=16 * CHUNK) as handle:
        handle.write(data)
        return store_file(handle, extension, prefix)


def store_file(fileobj: IO[bytes], extension: str, prefix: str = "images") -> StoredObject:
    """Store the bytes under their hash; UncleanObject if they are an image with metadata."""
    metadata_guard.check_clean(fileobj, extension)
    sha256, size = sha256_of(fileobj)
    key = content_key(sha256, extension, prefix)
    if not default_storage.exists(key):
        saved = default_storage.save(key, File(fileobj, name=key))
        # FileSystemStorage renames on a race with an identical upload; the content is the same,
        # so keep the canonical key and drop the twin.
        if saved != key:
            default_storage.delete(saved)
    return StoredObject(key=key, sha256=sha256, byte_size=size)


def stream_chunks(key: str, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
    """The stored object's bytes [start, stop) (to the end when stop is None), in chunks of at
    most CHUNK, as they come from storage: no temporary copy, no whole object in memory.

    On S3 this is one GET (with a Range for a part) whose body is read as it arrives:
    django-storages' File would first copy the whole object into a temporary file, which a
    streamed download must not do. On local storage it is the file itself."""
    if stop is not None and stop <= start:
        return
    if not settings.USE_S3:
        with default_storage.open(key, "rb") as handle:
            handle.seek(start)
            left = None if stop is None else stop - start
            while left is None or left > 0:
                chunk = handle.read(CHUNK if left is None else min(CHUNK, left))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk
        return
    from storages.utils import clean_name  # only with object storage

    wanted = {}
    if start or stop is not None:
        wanted["Range"] = f"bytes={start}-{'' if stop is None else stop - 1}"
    # The storage's own key mapping (its location prefix), as its _open does.
    name = default_storage._normalize_name(clean_name(key))
    body = default_storage.bucket.Object(name).get(**wanted)["Body"]
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()


def read_bytes(key: str) -> bytes:
    with default_storage.open(key, "rb") as handle:
        return handle.read()


def signed_url(key: str) -> str | None:
    """A short-lived signed URL on object storage, or None on local storage (stream instead)."""
    if not settings.USE_S3:
        return None
    return default_storage.url(key, expire=settings.SIGNED_URL_SECONDS)
