"""curation.analysis: the reduced decode, the cervix region, the measures, the step classifier
and the overlays, on synthetic images (fixtures.synthetic_cervix) and arrays drawn here."""

import io

import numpy as np
import pytest
from PIL import Image

from curation import analysis
from curation.analysis import measures, overlay, step
from curation.analysis.colour import hsv
from curation.analysis.region import central_ellipse
from fixtures import synthetic_cervix as sc


def jpeg(array_or_image, **save) -> bytes:
    image = array_or_image
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90, **save)
    return buffer.getvalue()


def test_a_large_jpeg_is_decoded_reduced_and_keeps_its_full_size():
    decoded = analysis.decode_reduced(sc.render_jpeg("after_acetic_acid", size=(2048, 1536)), 512)
    assert (decoded.width, decoded.height) == (2048, 1536)
    h, w, channels = decoded.rgb.shape
    assert channels == 3 and decoded.rgb.dtype == np.uint8
    assert 384 <= max(h, w) <= 512 and abs(w / h - 4 / 3) < 0.02


def test_exif_orientation_turns_the_pixels_and_the_full_size():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: displayed portrait
    data = jpeg(sc.render("after_acetic_acid", size=(800, 600)), exif=exif.tobytes())
    decoded = analysis.decode_reduced(data, 512)
    assert (decoded.width, decoded.height) == (600, 800)
    assert decoded.rgb.shape[0] > decoded.rgb.shape[1]


def test_png_and_small_images_decode_without_enlargement():
    decoded = analysis.decode_reduced(sc.render_png("after_lugol", size=(200, 150)), 512)
    assert decoded.rgb.shape == (150, 200, 3) and (decoded.width, decoded.height) == (200, 150)


@pytest.mark.parametrize("data", [b"", b"not an image at all", sc.render_jpeg("other")[:200]])
def test_what_pillow_cannot_decode_is_undecodable(data):
    with pytest.raises(analysis.Undecodable, match="cannot be decoded"):
        analysis.decode_reduced(data, 512)
    assert issubclass(analysis.Undecodable, ValueError)


def test_the_region_covers_the_synthetic_cervix_and_not_the_corners():
    rgb = np.asarray(sc.render("after_acetic_acid", size=(640, 480), seed=3))
    region = analysis.cervix_region(rgb)
    assert region.shape == rgb.shape[:2] and region.dtype == bool
    h, w = region.shape
    assert region[h // 2, w // 2]
    assert not region[:20, :20].any() and not region[-20:, -20:].any()
    assert 0.2 < region.mean() < 0.95


@pytest.mark.parametrize(
    "rgb",
    [
        np.zeros((120, 160, 3), np.uint8),
        np.full((120, 160, 3), 255, np.uint8),
        np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8),
        np.zeros((2, 3, 3), np.uint8),
    ],
    ids=["black", "white", "noise", "tiny"],
)
def test_the_region_is_never_empty(rgb):
    region = analysis.cervix_region(rgb)
    assert region.shape == rgb.shape[:2] and region.any()


def test_focus_drops_when_the_image_is_blurred():
    sharp = np.asarray(sc.render("after_acetic_acid", size=(800, 600)))
    blurred = np.asarray(
        sc.render("after_acetic_acid", size=(800, 600), artefacts=sc.Artefacts(blur=6))
    )
    region = central_ellipse(sharp.shape[:2])
    assert measures.focus(blurred, region) < measures.focus(sharp, region) / 3


def test_glare_blood_and_exposure_are_shares_of_the_region():
    rgb = np.full((100, 100, 3), (200, 120, 130), np.uint8)  # pink tissue
    rgb[10:30, 10:30] = 255  # a highlight: 400 pixels
    rgb[60:90, 60:90] = (120, 8, 12)  # dark blood: 900 pixels
    rgb[0:10, 50:100] = 5  # too dark: 500 pixels
    region = np.ones((100, 100), bool)
    colour = hsv(rgb)
    share, mask = measures.glare(colour, region)
    assert share == pytest.approx(0.04) and mask[20, 20] and not mask[70, 70]
    share, mask = measures.blood(colour, region)
    assert share == pytest.approx(0.09) and mask[70, 70] and not mask[50, 50]
    found = measures.exposure(colour, region, measures.glare_mask(colour))
    assert found.under == pytest.approx(0.05) and found.over == 0.0
    half = np.zeros((100, 100), bool)
    half[:, :50] = True
    assert measures.glare(colour, half)[0] == pytest.approx(400 / 5000)


def test_framing_sees_a_region_cut_by_the_frame():
    inside = central_ellipse((120, 160), (0.3, 0.3))
    assert measures.framing(inside).at_edge == 0.0
    cut = np.zeros((120, 160), bool)
    cut[:, 80:] = central_ellipse((120, 320), (0.45, 0.6))[:, :80]
    found = measures.framing(cut)
    assert found.at_edge > 0.3
    assert found.area == pytest.approx(cut.mean())


@pytest.mark.parametrize(
    ("render_step", "kind"),
    [
        ("before_acetic_acid", step.COLOUR),
        ("after_acetic_acid", step.COLOUR),
        ("green_filter", step.GREEN),
        ("after_lugol", step.LUGOL),
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_step_classifier_tells_the_kinds_apart(render_step, kind, seed):
    rgb = np.asarray(sc.render(render_step, seed=seed))
    colour = hsv(rgb)
    found = step.scores(colour, analysis.cervix_region(rgb), measures.glare_mask(colour))
    seen, confidence = step.classify(found)
    assert seen == kind and 0.5 <= confidence <= 1.0


def test_a_grey_image_counts_as_green_filter():
    grey = np.asarray(sc.render("after_acetic_acid").convert("L").convert("RGB"))
    colour = hsv(grey)
    found = step.scores(colour, analysis.cervix_region(grey))
    assert found.grey > 0.9 and step.classify(found)[0] == step.GREEN


def test_an_overlay_is_a_transparent_png_with_the_mask_in_colour():
    mask = np.zeros((48, 64), bool)
    mask[10:20, 5:30] = True
    png = overlay.mask_png(mask, overlay.BLOOD_COLOUR)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (64, 48)
    rgba = np.asarray(image.convert("RGBA"))
    assert (rgba[..., 3] > 0).sum() == mask.sum()
    assert tuple(rgba[15, 10]) == (*overlay.BLOOD_COLOUR, overlay.OPACITY)
    assert rgba[0, 0, 3] == 0


@pytest.mark.parametrize("shape", [(1, 1), (7, 9), (150, 200), (31, 257)])
def test_an_overlay_png_is_valid_and_holds_exactly_the_mask(shape):
    """The PNG is written by hand (curation.analysis.overlay): Pillow verifies its chunks and
    CRCs and reads back every pixel, whatever the width (rows padded to whole bytes)."""
    mask = np.random.default_rng(sum(shape)).random(shape) < 0.3
    png = overlay.mask_png(mask, overlay.GLARE_COLOUR, opacity=99)
    Image.open(io.BytesIO(png)).verify()
    image = Image.open(io.BytesIO(png))
    assert image.mode == "P" and image.size == (shape[1], shape[0])
    rgba = np.asarray(image.convert("RGBA"))
    assert ((rgba[..., 3] == 99) == mask).all() and ((rgba[..., 3] == 0) == ~mask).all()
    assert (rgba[mask][:, :3] == overlay.GLARE_COLOUR).all()
