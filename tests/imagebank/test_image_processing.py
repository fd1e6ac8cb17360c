"""Checking and deriving images: the one-decode path of bulk imports gives what the worker gives."""

import io

import pytest
from PIL import Image as PILImage
from PIL import ImageCms
from PIL.PngImagePlugin import PngInfo

from fixtures.synthetic_cervix import render, render_jpeg, render_png
from imagebank.imaging import processing as image_processing
from imagebank.imaging.metadata_guard import check_clean
from imagebank.imaging.processing import InvalidImage, derive, inspect, inspect_and_derive


def _rotated_jpeg(orientation: int) -> bytes:
    exif = PILImage.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    render("after_lugol", seed=4, size=(640, 480)).convert("RGB").save(
        buffer, "JPEG", quality=90, exif=exif.tobytes()
    )
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        render_jpeg("after_acetic_acid", seed=1, size=(2048, 1536)),
        render_png("after_lugol", seed=2, size=(300, 200)),
        _rotated_jpeg(6),
    ],
    ids=["large JPEG", "small PNG", "JPEG turned by EXIF"],
)
def test_one_decode_gives_the_same_derivatives_as_the_worker(data):
    info, derived = inspect_and_derive(io.BytesIO(data), "x")
    by_worker = derive(data, "x")
    assert (derived.width, derived.height) == (by_worker.width, by_worker.height)
    assert derived.preview_jpeg == by_worker.preview_jpeg
    assert derived.thumbnail_jpeg == by_worker.thumbnail_jpeg
    assert (info.width, info.height) == PILImage.open(io.BytesIO(data)).size


def test_an_exif_quarter_turn_is_shown_upright_with_its_dimensions_swapped():
    _info, derived = inspect_and_derive(io.BytesIO(_rotated_jpeg(6)), "x")
    assert (derived.width, derived.height) == (480, 640)
    assert PILImage.open(io.BytesIO(derived.preview_jpeg)).size == (480, 640)


def test_previews_fit_their_boxes_and_small_images_are_not_enlarged(settings):
    _info, large = inspect_and_derive(
        io.BytesIO(render_jpeg("green_filter", seed=3, size=(2048, 1536))), "x"
    )
    assert max(PILImage.open(io.BytesIO(large.preview_jpeg)).size) == settings.PREVIEW_MAX_SIDE
    assert max(PILImage.open(io.BytesIO(large.thumbnail_jpeg)).size) == (
        settings.THUMBNAIL_MAX_SIDE
    )
    _info, small = inspect_and_derive(io.BytesIO(render_png("other", size=(120, 90))), "x")
    assert PILImage.open(io.BytesIO(small.preview_jpeg)).size == (120, 90)


@pytest.mark.parametrize("check", [inspect, inspect_and_derive])
def test_a_truncated_jpeg_fails_even_when_decoded_at_reduced_scale(check):
    data = render_jpeg("after_acetic_acid", seed=5, size=(2048, 1536))
    with pytest.raises(InvalidImage, match="cut.jpg is damaged or truncated"):
        check(io.BytesIO(data[: len(data) * 2 // 3]), "cut.jpg")


def test_a_jpeg_decoded_for_checking_is_not_decoded_at_full_size(monkeypatch):
    """The check asks libjpeg for a reduced scale; full-size decoding is what made ingest cost
    ten decodes per image (bench/ingest.py)."""
    sizes = []
    real_load = PILImage.Image.load

    def recording_load(image):
        sizes.append(image.size)
        return real_load(image)

    monkeypatch.setattr(image_processing.PILImage.Image, "load", recording_load)
    inspect(io.BytesIO(render_jpeg("after_acetic_acid", seed=6, size=(2048, 1536))), "x")
    assert sizes[-1] == (256, 192)  # the decode itself, after draft()


def _uploads_with_metadata() -> dict[str, bytes]:
    """Uploads whose decode leaves metadata in image.info: a camera JPEG (comment, EXIF, XMP,
    ICC profile, DPI) and a PNG whose "comment" text chunk Pillow reads as the JPEG comment."""
    exif = PILImage.Exif()
    exif[0x013B] = "Dr Qxzwv"  # Artist
    exif[0x0112] = 6
    picture = render("after_lugol", seed=4, size=(640, 480)).convert("RGB")
    jpeg = io.BytesIO()
    picture.save(
        jpeg,
        "JPEG",
        comment=b"Patient Qxzwv",
        exif=exif,
        xmp=b"<x:xmpmeta>Qxzwv</x:xmpmeta>",
        icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
        dpi=(300, 300),
    )
    text = PngInfo()
    text.add_text("comment", "Patient Qxzwv")
    png = io.BytesIO()
    picture.save(png, "PNG", pnginfo=text)
    return {"jpeg": jpeg.getvalue(), "png": png.getvalue()}


@pytest.mark.parametrize("kind", ["jpeg", "png"])
@pytest.mark.parametrize("make", ["worker", "bulk import"])
def test_previews_and_thumbnails_carry_nothing_but_pixels(kind, make):
    data = _uploads_with_metadata()[kind]
    assert b"Qxzwv" in data
    if make == "worker":
        derived = derive(data, "x")
    else:
        derived = inspect_and_derive(io.BytesIO(data), "x")[1]
    for jpeg in (derived.preview_jpeg, derived.thumbnail_jpeg):
        assert b"Qxzwv" not in jpeg
        check_clean(io.BytesIO(jpeg), "jpg")  # no segment but JFIF and the picture's tables
        with PILImage.open(io.BytesIO(jpeg)) as image:
            assert set(image.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density"}
            assert not image.getexif()
