"""The storage guard: what de-identification and the preview writer produce passes, anything that
still carries metadata is refused, whatever code tries to store it."""

import io
import json
import struct

import pytest
from PIL import Image, ImageCms, TiffImagePlugin
from PIL.PngImagePlugin import PngInfo

from fixtures.synthetic_cervix import render_jpeg, render_png
from imagebank.imaging import dicom
from imagebank.imaging import processing as image_processing
from imagebank.imaging.deidentify import strip_metadata
from imagebank.imaging.metadata_guard import UncleanObject, check_clean
from tests.imagebank.ingest.dicom_samples import jpeg_dicom, rgb_dicom
from tests.imagebank.test_deidentify import (
    identifying_exif,
    insert_after_soi,
    picture,
    png_chunk,
    segment,
    tagged_tiff,
)

ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def passes(data: bytes, extension: str = "jpg") -> bool:
    try:
        check_clean(io.BytesIO(data), extension)
    except UncleanObject:
        return False
    return True


def refusal(data: bytes, extension: str = "jpg") -> str:
    with pytest.raises(UncleanObject) as raised:
        check_clean(io.BytesIO(data), extension)
    return str(raised.value)


def jpeg(mode: str = "RGB", **options) -> bytes:
    buffer = io.BytesIO()
    picture().convert(mode).save(buffer, format="JPEG", **options)
    return buffer.getvalue()


def png(info: PngInfo | None = None, **options) -> bytes:
    buffer = io.BytesIO()
    picture().save(buffer, format="PNG", pnginfo=info, **options)
    return buffer.getvalue()


# --- what the bank produces passes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "source_format"),
    [
        (jpeg(exif=identifying_exif(), icc_profile=ICC, comment=b"Jane", xmp=b"<x/>"), "jpeg"),
        (jpeg(exif=identifying_exif(orientation=1)), "jpeg"),
        (jpeg(progressive=True, comment=b"Jane"), "jpeg"),
        (jpeg("CMYK", comment=b"Jane"), "jpeg"),
        (png(icc_profile=ICC, exif=identifying_exif()), "png"),
        (tagged_tiff(orientation=6), "tiff"),
    ],
    ids=["jpeg", "upright jpeg", "progressive", "cmyk", "png", "tiff"],
)
def test_de_identified_images_pass(data, source_format):
    extension = {"jpeg": "jpg", "png": "png", "tiff": "tif"}[source_format]
    assert not passes(data, extension)  # as uploaded: refused
    assert passes(strip_metadata(data, source_format), extension)


def test_previews_and_thumbnails_pass_whatever_the_upload_carried():
    upload = jpeg(exif=identifying_exif(), icc_profile=ICC, comment=b"Patient: Jane Doe")
    for derived in (
        image_processing.derive(upload),
        image_processing.inspect_and_derive(io.BytesIO(upload), "x.jpg")[1],
    ):
        assert passes(derived.preview_jpeg) and passes(derived.thumbnail_jpeg)


def test_a_de_identified_dicom_passes_and_the_received_one_does_not():
    for received in (jpeg_dicom(), rgb_dicom()):
        assert not passes(received, "dcm")
        assert passes(dicom.prepare(received, "x.dcm", received_sha256="").data, "dcm")


def test_objects_that_are_not_images_pass():
    assert passes(json.dumps({"a": 1}).encode(), "json")
    assert passes(b"PK\x03\x04 an archive", "zip")
    assert passes(b"", "txt")


# --- JPEG ---------------------------------------------------------------------------------------


def test_each_jpeg_metadata_segment_is_refused():
    clean = strip_metadata(render_jpeg("after_lugol", size=(64, 48)), "jpeg")
    assert passes(clean)
    assert "comment" in refusal(insert_after_soi(clean, segment(0xFE, b"Jane")))
    assert "EXIF" in refusal(insert_after_soi(clean, segment(0xE1, identifying_exif().tobytes())))
    xmp = segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>")
    assert "APP1" in refusal(insert_after_soi(clean, xmp))
    iptc = segment(0xED, b"Photoshop 3.0\x008BIM\x04\x04")
    assert "APP13" in refusal(insert_after_soi(clean, iptc))
    assert "APP2" in refusal(insert_after_soi(clean, segment(0xE2, b"MPF\x00")))
    assert "EOI" in refusal(clean + b"appended text")
    assert refusal(clean[:40])


def test_exif_with_the_orientation_and_anything_else_is_refused():
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x0131] = "Scope"  # Software
    clean = strip_metadata(render_jpeg("after_lugol", size=(64, 48)), "jpeg")
    assert "EXIF" in refusal(insert_after_soi(clean, segment(0xE1, exif.tobytes())))
    only = Image.Exif()
    only[0x0112] = 6
    assert passes(insert_after_soi(clean, segment(0xE1, only.tobytes())))


# --- PNG, TIFF, other formats -------------------------------------------------------------------


@pytest.mark.parametrize(
    "chunk",
    [
        png_chunk(b"tEXt", b"Author\x00Jane"),
        png_chunk(b"zTXt", b"Comment\x00\x00x\x9c"),
        png_chunk(b"iTXt", b"Title\x00\x00\x00en\x00\x00Jane"),
        png_chunk(b"eXIf", b"MM\x00*"),
        png_chunk(b"tIME", struct.pack(">HBBBBB", 2024, 3, 5, 10, 11, 12)),
        png_chunk(b"prVt", b"Jane"),
    ],
    ids=["tEXt", "zTXt", "iTXt", "eXIf", "tIME", "private"],
)
def test_png_metadata_chunks_are_refused(chunk):
    clean = render_png("after_lugol", size=(64, 48))
    assert passes(clean, "png")
    assert chunk[4:8].decode() in refusal(clean[:33] + chunk + clean[33:], "png")


def test_png_with_data_after_iend_is_refused():
    assert "IEND" in refusal(render_png("after_lugol", size=(64, 48)) + b"Jane", "png")


def test_tiff_text_tags_are_refused_in_every_page():
    assert "270" in refusal(tagged_tiff(), "tif")
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[315] = "Dr Who"
    buffer = io.BytesIO()
    clean = Image.new("RGB", (8, 8))
    clean.save(buffer, format="TIFF", save_all=True, append_images=[clean.copy()])
    assert passes(buffer.getvalue(), "tif")
    second = Image.new("RGB", (8, 8))
    buffer = io.BytesIO()
    clean.save(buffer, format="TIFF", save_all=True, append_images=[second], tiffinfo=tags)
    assert "315" in refusal(buffer.getvalue(), "tif")


def test_a_dicom_left_with_a_patient_name_is_refused():
    from pydicom import dcmread

    stored = dicom.prepare(jpeg_dicom(), "x.dcm", received_sha256="").data
    dataset = dcmread(io.BytesIO(stored))
    dataset.PatientName = "Doe^Jane"
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    assert "PatientName" in refusal(buffer.getvalue(), "dcm")


def test_other_image_formats_and_mislabelled_bytes_are_refused():
    buffer = io.BytesIO()
    picture().save(buffer, format="GIF", comment=b"Jane")
    assert "does not store" in refusal(buffer.getvalue(), "gif")
    assert refusal(b"not an image", "jpg")
    assert refusal(b"\x89PNG\r\n\x1a\n", "png")
