"""Content-addressed private storage."""

import hashlib
import io
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from fixtures.synthetic_cervix import render_jpeg, render_png
from imagebank import storage
from imagebank.imaging.deidentify import strip_metadata
from imagebank.imaging.metadata_guard import UncleanObject

# Local files: these tests look at the private folder or at responses streamed from it;
# tests/services covers the S3 server.
pytestmark = pytest.mark.usefixtures("local_storage")

DIGEST = hashlib.sha256(b"cervix").hexdigest()


def stored_files(settings) -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    if not root.exists():
        return []
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_content_key_layout():
    key = storage.content_key(DIGEST, "jpg")
    assert key == f"images/{DIGEST[:2]}/{DIGEST[2:4]}/{DIGEST}.jpg"


@pytest.mark.parametrize("extension", [".JPG", "jpg", "Jpg", ".jpg"])
def test_content_key_normalises_the_extension(extension):
    assert storage.content_key(DIGEST, extension, prefix="previews") == (
        f"previews/{DIGEST[:2]}/{DIGEST[2:4]}/{DIGEST}.jpg"
    )


def test_sha256_of_hashes_everything_and_rewinds():
    data = bytes(range(256)) * 9000  # more than one chunk
    handle = io.BytesIO(data)
    handle.seek(100)
    assert storage.sha256_of(handle) == (hashlib.sha256(data).hexdigest(), len(data))
    assert handle.tell() == 0


def clean_jpeg(seed: int = 0) -> bytes:
    return strip_metadata(render_jpeg("after_lugol", seed=seed, size=(32, 24)), "jpeg")


def test_store_file_writes_the_bytes_under_their_hash(settings):
    data = clean_jpeg()
    stored = storage.store_file(io.BytesIO(data), "jpg")
    digest = hashlib.sha256(data).hexdigest()
    assert stored == storage.StoredObject(
        key=storage.content_key(digest, "jpg"), sha256=digest, byte_size=len(data)
    )
    assert storage.read_bytes(stored.key) == data
    assert stored_files(settings) == [stored.key]


def test_store_file_is_idempotent_for_the_same_bytes(settings):
    data = clean_jpeg()
    first = storage.store_file(io.BytesIO(data), "jpg")
    second = storage.store_file(io.BytesIO(data), "jpg")
    third = storage.store_bytes(data, "jpg", prefix="images")
    assert first == second == third
    # No renamed twin (FileSystemStorage would add a suffix) is left next to the original.
    assert stored_files(settings) == [first.key]


def test_store_file_hashes_from_the_start_whatever_the_position(settings):
    data = render_png("after_lugol", size=(16, 12))
    handle = io.BytesIO(data)
    handle.seek(5)
    stored = storage.store_file(handle, "png")
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert storage.read_bytes(stored.key) == data


def test_different_bytes_get_different_keys(settings):
    first = storage.store_bytes(b"first", "json", prefix="exports")
    second = storage.store_bytes(b"second", "json", prefix="exports")
    assert first.key != second.key
    assert storage.read_bytes(first.key) == b"first"
    assert storage.read_bytes(second.key) == b"second"
    assert stored_files(settings) == sorted([first.key, second.key])


def test_prefixes_keep_kinds_of_file_apart():
    image = storage.store_bytes(clean_jpeg(), "jpg", prefix="images")
    preview = storage.store_bytes(clean_jpeg(), "jpg", prefix="previews")
    assert image.sha256 == preview.sha256
    assert image.key != preview.key
    assert default_storage.exists(image.key) and default_storage.exists(preview.key)


def test_files_are_stored_in_the_private_media_folder(settings):
    stored = storage.store_bytes(clean_jpeg(), "jpg", prefix="images")
    assert (Path(settings.MEDIA_ROOT) / stored.key).read_bytes() == clean_jpeg()


def test_no_signed_url_on_local_storage(settings):
    settings.USE_S3 = False
    stored = storage.store_bytes(clean_jpeg(), "jpg", prefix="images")
    assert storage.signed_url(stored.key) is None


@pytest.mark.parametrize("store", ["bytes", "file"])
def test_an_image_with_metadata_is_refused_and_nothing_is_stored(settings, store):
    # A raw camera JPEG: Pillow's encoder writes the comment into a COM segment.
    buffer = io.BytesIO()
    PILImage.open(io.BytesIO(clean_jpeg())).save(buffer, "JPEG", comment=b"Patient: Jane Doe")
    with pytest.raises(UncleanObject, match="comment"):
        if store == "bytes":
            storage.store_bytes(buffer.getvalue(), "jpg", prefix="previews")
        else:
            storage.store_file(buffer, "jpg", prefix="overlays")
    assert stored_files(settings) == []


def test_media_is_never_served_at_a_public_url(settings):
    # MEDIA_URL names no route: files leave only through permission-checked views.
    from django.urls import Resolver404, resolve

    with pytest.raises(Resolver404):
        resolve(f"{settings.MEDIA_URL}images/aa/bb/{DIGEST}.jpg")


def test_stream_chunks_reads_a_stored_file_whole_or_by_range():
    data = bytes(range(256)) * (storage.CHUNK // 256 + 3)
    stored = storage.store_bytes(data, "bin", "tests-stream")
    chunks = list(storage.stream_chunks(stored.key))
    assert b"".join(chunks) == data and max(map(len, chunks)) <= storage.CHUNK
    assert (
        b"".join(storage.stream_chunks(stored.key, 7, storage.CHUNK + 9))
        == data[7 : storage.CHUNK + 9]
    )
    assert b"".join(storage.stream_chunks(stored.key, len(data) - 3)) == data[-3:]
    assert list(storage.stream_chunks(stored.key, 5, 5)) == []
