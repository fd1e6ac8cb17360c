"""De-identification of uploaded images: metadata goes, pixels and compressed data stay."""

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, ImageOps, TiffImagePlugin
from PIL.PngImagePlugin import PngInfo

from fixtures.synthetic_cervix import render
from imagebank.imaging.deidentify import MetadataStripError, strip_metadata

NAME = b"Jane Doe"
SECRETS = [
    NAME,
    b"MRN 12345",
    b"Dr Who",
    b"2024:03:05 10:11:12",
    b"Patient: Jane Doe",
    b"secret-xmp",
    b"secret-iptc",
]
ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def picture(size=(96, 64), seed=3) -> Image.Image:
    return render("after_acetic_acid", size=size, seed=seed)


def pixels(data: bytes, transpose: bool = False) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return np.asarray(ImageOps.exif_transpose(image) if transpose else image)


def identifying_exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010E] = "Jane Doe MRN 12345"  # ImageDescription
    exif[0x013B] = "Dr Who"  # Artist
    exif[0x0132] = "2024:03:05 10:11:12"  # DateTime
    exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"  # GPSLatitudeRef
    gps[2] = (51.0, 30.0, 12.5)  # GPSLatitude
    return exif


def segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of each header segment up to the first SOS, for assertions."""
    found, pos = [], 2
    while data[pos + 1] != 0xDA:
        marker = data[pos + 1]
        (length,) = struct.unpack_from(">H", data, pos + 2)
        found.append((marker, data[pos + 4 : pos + 2 + length]))
        pos += 2 + length
    return found


def scan_onwards(data: bytes) -> bytes:
    pos = 2
    while data[pos + 1] != 0xDA:
        pos += 2 + struct.unpack_from(">H", data, pos + 2)[0]
    return data[pos:]


def insert_after_soi(data: bytes, *extra: bytes) -> bytes:
    return data[:2] + b"".join(extra) + data[2:]


@pytest.fixture(scope="module")
def tagged_jpeg() -> bytes:
    buffer = io.BytesIO()
    picture().save(
        buffer,
        format="JPEG",
        quality=90,
        exif=identifying_exif(),
        icc_profile=ICC,
        xmp=b"<x:xmpmeta><dc:creator>Jane Doe secret-xmp</dc:creator></x:xmpmeta>",
        comment=b"Patient: Jane Doe",
    )
    iptc = segment(0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x10secret-iptc Doe")
    return insert_after_soi(buffer.getvalue(), iptc)


def test_jpeg_fixture_really_carries_the_metadata(tagged_jpeg):
    for secret in SECRETS:
        assert secret in tagged_jpeg
    markers = [marker for marker, _ in segments(tagged_jpeg)]
    assert {0xE1, 0xED, 0xFE} <= set(markers)


def test_jpeg_identifying_metadata_is_removed(tagged_jpeg):
    stripped = strip_metadata(tagged_jpeg, "jpeg")
    for secret in SECRETS:
        assert secret not in stripped
    markers = [marker for marker, _ in segments(stripped)]
    assert 0xED not in markers and 0xFE not in markers
    with Image.open(io.BytesIO(stripped)) as image:
        exif = image.getexif()
        assert "xmp" not in image.info and "comment" not in image.info
    assert dict(exif) == {0x0112: 6}
    assert not exif.get_ifd(0x8825)


def test_jpeg_is_not_recompressed(tagged_jpeg):
    stripped = strip_metadata(tagged_jpeg, "jpeg")
    assert scan_onwards(stripped) == scan_onwards(tagged_jpeg)
    assert np.array_equal(pixels(stripped), pixels(tagged_jpeg))
    assert len(stripped) < len(tagged_jpeg)


def test_jpeg_orientation_survives(tagged_jpeg):
    stripped = strip_metadata(tagged_jpeg, "jpeg")
    app1 = [payload for marker, payload in segments(stripped) if marker == 0xE1]
    assert len(app1) == 1 and app1[0].startswith(b"Exif\x00\x00")
    # The new EXIF comes right after the JFIF APP0, where readers look for it.
    assert [marker for marker, _ in segments(stripped)][:2] == [0xE0, 0xE1]
    upright = pixels(stripped, transpose=True)
    assert upright.shape[:2] == (96, 64)  # rotated: width and height swap
    assert np.array_equal(upright, pixels(tagged_jpeg, transpose=True))


def test_jpeg_icc_profile_is_kept(tagged_jpeg):
    with Image.open(io.BytesIO(strip_metadata(tagged_jpeg, "jpeg"))) as image:
        assert image.info["icc_profile"] == ICC


def test_jpeg_upright_orientation_adds_no_exif():
    buffer = io.BytesIO()
    picture().save(buffer, format="JPEG", exif=identifying_exif(orientation=1))
    stripped = strip_metadata(buffer.getvalue(), "jpeg")
    assert 0xE1 not in [marker for marker, _ in segments(stripped)]
    assert NAME not in stripped


def test_jpeg_without_metadata_is_unchanged():
    buffer = io.BytesIO()
    picture().save(buffer, format="JPEG", quality=85)
    assert strip_metadata(buffer.getvalue(), "jpeg") == buffer.getvalue()


def test_jpeg_adobe_segment_is_kept_for_cmyk():
    buffer = io.BytesIO()
    picture().convert("CMYK").save(buffer, format="JPEG", comment=b"Patient: Jane Doe")
    original = buffer.getvalue()
    stripped = strip_metadata(original, "jpeg")
    assert any(m == 0xEE and p.startswith(b"Adobe") for m, p in segments(stripped))
    assert NAME not in stripped
    assert np.array_equal(pixels(stripped), pixels(original))


def test_jpeg_other_app_payloads_are_dropped():
    buffer = io.BytesIO()
    picture().save(buffer, format="JPEG")
    original = insert_after_soi(
        buffer.getvalue(),
        segment(0xE2, b"MPF\x00Jane Doe"),  # APP2 that is not an ICC profile
        segment(0xEE, b"NotAdobe Jane Doe"),
        segment(0xE5, b"Jane Doe"),
    )
    stripped = strip_metadata(original, "jpeg")
    assert NAME not in stripped
    assert stripped == buffer.getvalue()


def test_jpeg_progressive_scans_restart_markers_and_fill_bytes():
    buffer = io.BytesIO()
    picture(size=(80, 80)).save(buffer, format="JPEG", progressive=True, restart_marker_blocks=1)
    plain = buffer.getvalue()
    # A comment hidden between two scans, fill bytes before a marker and a trailer after EOI.
    second_scan = plain.index(b"\xff\xda", plain.index(b"\xff\xda") + 2)
    doctored = (
        plain[:second_scan]
        + segment(0xFE, b"Patient: Jane Doe")
        + b"\xff\xff\xff"
        + plain[second_scan:]
        + b"Jane Doe trailer"
    )
    stripped = strip_metadata(doctored, "jpeg")
    assert NAME not in stripped
    assert stripped == plain
    assert b"\xff\xd0" in stripped  # restart markers were carried through untouched
    assert np.array_equal(pixels(stripped), pixels(plain))


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "SOI"),
        (b"\x89PNG\r\n\x1a\n", "SOI"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "invalid length"),  # segment runs past the end
        (b"\xff\xd8\xff\xe0\x00", "truncated"),
        (b"\xff\xd8\xff\xe0\x00\x01", "invalid length"),  # length below its own two bytes
        (b"\xff\xd8\x00\x00", "expected a JPEG marker"),
        (b"\xff\xd8\xff\xd9", "no image data"),
        (b"\xff\xd8\xff\xd8", "invalid JPEG marker"),
        (b"\xff\xd8\xff\xff", "padding"),
        (b"\xff\xd8", "without an EOI"),
        (b"\xff\xd8\xff\xda\x00\x02\x12\x34", "truncated"),  # scan never ends
    ],
)
def test_malformed_jpeg_is_refused(data, problem):
    with pytest.raises(MetadataStripError, match=problem):
        strip_metadata(data, "jpeg")


def test_truncated_real_jpeg_is_refused(tagged_jpeg):
    with pytest.raises(MetadataStripError):
        strip_metadata(tagged_jpeg[:300], "jpeg")
    with pytest.raises(MetadataStripError):
        strip_metadata(tagged_jpeg[:-2], "jpeg")  # EOI missing


# --- PNG ---


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    found, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        found.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return found


@pytest.fixture(scope="module")
def tagged_png() -> bytes:
    info = PngInfo()
    info.add_text("Author", "Jane Doe")
    info.add_text("Comment", "MRN 12345 Jane Doe", zip=True)  # zTXt
    info.add_itxt("Description", "Patient: Jane Doe", lang="en", tkey="Beschreibung")
    buffer = io.BytesIO()
    picture().save(
        buffer, format="PNG", pnginfo=info, icc_profile=ICC, exif=identifying_exif(orientation=1)
    )
    data = buffer.getvalue()
    time_chunk = png_chunk(b"tIME", struct.pack(">HBBBBB", 2024, 3, 5, 10, 11, 12))
    return data[:33] + time_chunk + data[33:]  # after the 8-byte signature and 25-byte IHDR


def test_png_metadata_chunks_are_removed(tagged_png):
    kinds = [kind for kind, _ in png_chunks(tagged_png)]
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"} <= set(kinds)
    stripped = strip_metadata(tagged_png, "png")
    kept = [kind for kind, _ in png_chunks(stripped)]
    assert not {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"} & set(kept)
    assert b"iCCP" in kept  # colour management stays
    assert NAME not in stripped and b"Dr Who" not in stripped
    with Image.open(io.BytesIO(stripped)) as image:
        image.load()  # checks every CRC
        assert not image.text
        assert not image.getexif()


def test_png_pixels_and_idat_are_untouched(tagged_png):
    stripped = strip_metadata(tagged_png, "png")
    idat = [payload for kind, payload in png_chunks(stripped) if kind == b"IDAT"]
    assert idat == [payload for kind, payload in png_chunks(tagged_png) if kind == b"IDAT"]
    assert np.array_equal(pixels(stripped), pixels(tagged_png))


def test_png_without_metadata_is_unchanged():
    buffer = io.BytesIO()
    picture().save(buffer, format="PNG")
    assert strip_metadata(buffer.getvalue(), "png") == buffer.getvalue()
    assert strip_metadata(buffer.getvalue() + b"Jane Doe", "png") == buffer.getvalue()


@pytest.mark.parametrize(
    ("cut", "problem"),
    [(lambda d: d[:7], "signature"), (lambda d: d[:45], "truncated"), (lambda d: d[:-12], "IEND")],
)
def test_malformed_png_is_refused(tagged_png, cut, problem):
    with pytest.raises(MetadataStripError, match=problem):
        strip_metadata(cut(tagged_png), "png")


def test_png_with_a_corrupt_chunk_is_refused(tagged_png):
    corrupt = bytearray(tagged_png)
    corrupt[20] ^= 0xFF  # inside IHDR's data, so its CRC no longer matches
    with pytest.raises(MetadataStripError, match="CRC"):
        strip_metadata(bytes(corrupt), "png")
    bad_type = tagged_png[:12] + b"IH1R" + tagged_png[16:]
    with pytest.raises(MetadataStripError, match="invalid type"):
        strip_metadata(bad_type, "png")


# --- TIFF ---


def tagged_tiff(orientation: int = 1) -> bytes:
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[270] = "Jane Doe MRN 12345"  # ImageDescription
    tags[315] = "Dr Who"  # Artist
    tags[306] = "2024:03:05 10:11:12"  # DateTime
    tags[305] = "Scope 3000 secret-software"  # Software
    tags[274] = orientation
    buffer = io.BytesIO()
    picture().save(buffer, format="TIFF", tiffinfo=tags)
    return buffer.getvalue()


def test_tiff_tags_are_removed_and_pixels_kept():
    original = tagged_tiff()
    assert NAME in original and b"Dr Who" in original
    stripped = strip_metadata(original, "tiff")
    for secret in (NAME, b"Dr Who", b"2024:03:05", b"secret-software"):
        assert secret not in stripped
    with Image.open(io.BytesIO(stripped)) as image:
        assert image.format == "TIFF"
        assert not {270, 315, 306, 305, 274, 700, 33723, 34377, 34665} & set(image.tag_v2)
    assert np.array_equal(pixels(stripped), pixels(original))


def test_tiff_orientation_is_applied_to_the_pixels():
    original = tagged_tiff(orientation=6)
    stripped = strip_metadata(original, "tiff")
    upright = pixels(stripped)
    assert upright.shape[:2] == (96, 64)
    assert np.array_equal(upright, pixels(original, transpose=True))


def test_tiff_keeps_the_icc_profile():
    buffer = io.BytesIO()
    picture().save(buffer, format="TIFF", icc_profile=ICC)
    with Image.open(io.BytesIO(strip_metadata(buffer.getvalue(), "tiff"))) as image:
        assert image.info["icc_profile"] == ICC


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about the broken TIFF
def test_broken_tiff_and_unknown_formats_are_refused():
    with pytest.raises(MetadataStripError, match="TIFF"):
        strip_metadata(tagged_tiff()[:200], "tiff")
    with pytest.raises(MetadataStripError, match="TIFF"):
        strip_metadata(b"II*\x00garbage", "tiff")
    with pytest.raises(MetadataStripError, match="format"):
        strip_metadata(b"GIF89a", "gif")


# --- Robustness ---


def _small_jpeg() -> bytes:
    buffer = io.BytesIO()
    picture(size=(16, 16)).save(buffer, format="JPEG", exif=identifying_exif(), comment=b"x")
    return buffer.getvalue()


def _small_png() -> bytes:
    info = PngInfo()
    info.add_text("Author", "Jane Doe")
    buffer = io.BytesIO()
    picture(size=(16, 16)).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


SMALL = {"jpeg": _small_jpeg(), "png": _small_png()}
PREFIX = {"jpeg": b"\xff\xd8", "png": b"\x89PNG\r\n\x1a\n"}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    source_format=st.sampled_from(["jpeg", "png"]),
    body=st.binary(max_size=400),
    with_prefix=st.booleans(),
)
def test_random_bytes_raise_only_metadata_strip_error(source_format, body, with_prefix):
    data = PREFIX[source_format] + body if with_prefix else body
    try:
        result = strip_metadata(data, source_format)
    except MetadataStripError:
        return
    assert isinstance(result, bytes)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    source_format=st.sampled_from(["jpeg", "png"]),
    edits=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=4),
    cut=st.integers(min_value=0),
)
def test_damaged_real_images_raise_only_metadata_strip_error(source_format, edits, cut):
    data = bytearray(SMALL[source_format])
    for position, value in edits:
        data[position % len(data)] = value
    data = data[: len(data) - cut % 64]
    try:
        result = strip_metadata(bytes(data), source_format)
    except MetadataStripError:
        return
    assert isinstance(result, bytes)
