"""Segmentation masks: `import_masks` (curation.services.masks and its command) matches PNGs to
images by name, refuses hostile files naming each, rescales masks drawn on a resized image
(nearest neighbour), stores them once and is idempotent; the selectors (curation.mask_selectors)
give a release's masks per image, imported masks winning over the reviewers' majority outline,
and never the test split's outside evaluation."""

import hashlib
import io
import json
import os
import struct
import zlib

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone
from PIL import Image as PILImage

from curation import mask_selectors
from curation.mask_selectors import mask_array, mask_counts, masks_for_release, sequestered_masks
from curation.models import (
    EntryStatus,
    Outline,
    QueueEntry,
    Release,
    ReleaseBlob,
    ReleaseImage,
    ReleaseVersion,
    Review,
    ReviewStatus,
)
from curation.models.masks import Mask
from curation.roles import REVIEWER
from curation.services import masks as mask_services
from curation.services.masks import import_masks
from fixtures.synthetic_cervix import render_jpeg
from imagebank.models import Image
from imagebank.services import images as image_services
from tests.conftest import SHARED_DATA, require_service
from tests.factories import make_case, make_contributor, make_site, make_user_with_role
from tests.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]

WIDTH, HEIGHT = 48, 36


def add_named_image(case, actor, filename: str, seed: int = 0, size=(WIDTH, HEIGHT)) -> Image:
    from imagebank.tasks import process_image  # tasks import services: import late

    image = image_services.add_image(
        case=case,
        actor=actor,
        fileobj=io.BytesIO(render_jpeg("after_acetic_acid", seed=seed, size=size)),
        filename=filename,
        step="after_acetic_acid",
    )
    process_image(image.pk)
    image.refresh_from_db()
    return image


@pytest.fixture
def bank():
    site = make_site("kisumu", submission_requirements=[])
    contributor = make_contributor(site)
    case = make_case(site, contributor, source_reference="Case 007")
    other = make_case(site, contributor, source_reference="Case 012")
    return {
        "site": site,
        "contributor": contributor,
        "case": case,
        "afc1": add_named_image(case, contributor, "AFC1.jpg", seed=1),
        "afc0": add_named_image(case, contributor, "AFC0.jpg", seed=2),
        "other": add_named_image(other, contributor, "AFC1.jpg", seed=3),
    }


@pytest.fixture
def masks_dir(tmp_path):
    """A folder for the masks of a test (the private media folder is in tmp_path too)."""
    folder = tmp_path / "masks-in"
    folder.mkdir()
    return folder


def save_png(path, array, mode: str | None = None):
    PILImage.fromarray(array, mode=mode).save(path, format="PNG")
    return path


def half_mask(size=32, inside=1) -> np.ndarray:
    """A square mask whose left half is inside."""
    array = np.zeros((size, size), dtype=np.uint8)
    array[:, : size // 2] = inside
    return array


def only_line(report):
    assert len(report.files) == 1, report.files
    return report.files[0]


# --- matching, rescaling, storage --------------------------------------------------------------


def test_an_iarc_mask_drawn_at_another_size_is_rescaled_nearest_and_stored_once(bank, masks_dir):
    drawn = np.zeros((32, 32), dtype=np.uint8)
    drawn[5:20, 3:11] = 1
    drawn[25, 30] = 1  # a single pixel survives nearest neighbour, never smeared grey
    save_png(masks_dir / "Case-007_AFC1.png", drawn)

    report = import_masks(masks_dir, kind="lesion")

    line = only_line(report)
    assert (line.status, line.image) == ("imported", bank["afc1"].pk), line.message
    assert "Rescaled from 32 × 32 to 48 × 36" in line.message
    mask = Mask.objects.get(image=bank["afc1"], kind="lesion")
    expected = (
        np.asarray(
            PILImage.fromarray(drawn * 255).resize((WIDTH, HEIGHT), PILImage.Resampling.NEAREST)
        )
        > 0
    )
    stored = mask_array(mask)
    assert stored.shape == (HEIGHT, WIDTH) and (stored == expected).all()
    assert (mask.width, mask.height, mask.source_width, mask.source_height) == (48, 36, 32, 32)
    assert mask.foreground_pixels == int(expected.sum()) > 0
    assert mask.source_name == "Case-007_AFC1.png"
    data = default_storage.open(mask.storage_key, "rb").read()
    assert mask.storage_key == f"masks/{mask.sha256}.png"
    assert hashlib.sha256(data).hexdigest() == mask.sha256
    with PILImage.open(io.BytesIO(data)) as picture:
        assert picture.mode == "L"
        assert set(np.unique(np.asarray(picture))) == {0, 255}
    assert report.counts == {"imported": 1, "replaced": 0, "unchanged": 0, "skipped": 0,
                             "errors": 0}  # fmt: skip


@pytest.mark.parametrize("name", ["Case-7_afc1.png", "case-0007_AFC1.png", "Case_007_afc1.png"])
def test_iarc_names_are_matched_whatever_the_zeros_and_the_case(bank, masks_dir, name):
    save_png(masks_dir / name, half_mask())
    line = only_line(import_masks(masks_dir, kind="cervix"))
    assert (line.status, line.image) == ("imported", bank["afc1"].pk), line.message


def test_a_mask_at_the_image_size_is_kept_as_drawn(bank, masks_dir):
    drawn = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    drawn[10:20, 5:40] = 255
    save_png(masks_dir / "AFC0.png", drawn)
    line = only_line(import_masks(masks_dir / "AFC0.png", kind="scj"))
    assert line.status == "imported" and "Rescaled" not in line.message
    assert (mask_array(Mask.objects.get(image=bank["afc0"])) == (drawn > 0)).all()


def test_names_the_bank_withheld_and_names_it_kept_are_both_found(bank, masks_dir):
    # "AFC1.jpg" could be initials: the bank keeps only a keyed hash of it (imagebank.filenames).
    assert bank["afc1"].original_filename.startswith("file-")
    kept = add_named_image(bank["case"], bank["contributor"], "Image 3.jpg", seed=4)
    assert kept.original_filename == "Image 3.jpg"
    save_png(masks_dir / "IMAGE 3.png", half_mask())
    save_png(masks_dir / "Case-012_afc1.png", half_mask())
    report = import_masks(masks_dir, kind="cervix")
    assert [(line.file, line.status, line.image) for line in report.files] == [
        ("Case-012_afc1.png", "imported", bank["other"].pk),
        ("IMAGE 3.png", "imported", kept.pk),
    ]


def test_a_plain_stem_must_name_exactly_one_image(bank, masks_dir):
    save_png(masks_dir / "AFC1.png", half_mask())  # in both cases
    save_png(masks_dir / "ZZZ9.png", half_mask())  # nowhere
    save_png(masks_dir / "Case-099_AFC0.png", half_mask())  # no such case
    report = import_masks(masks_dir, kind="cervix")
    lines = {line.file: line for line in report.files}
    assert lines["AFC1.png"].status == "error"
    assert "AFC1.png matches 2 images" in lines["AFC1.png"].message
    assert lines["ZZZ9.png"].status == "error" and "ZZZ9.png" in lines["ZZZ9.png"].message
    assert lines["Case-099_AFC0.png"].status == "error"
    assert "numbered 99" in lines["Case-099_AFC0.png"].message
    assert not Mask.objects.exists()


def test_the_site_narrows_the_images_a_name_may_match(bank, masks_dir):
    elsewhere = make_site("elsewhere", submission_requirements=[])
    contributor = make_contributor(elsewhere)
    theirs = add_named_image(make_case(elsewhere, contributor), contributor, "AFC0.jpg", seed=9)
    save_png(masks_dir / "AFC0.png", half_mask())
    assert only_line(import_masks(masks_dir, kind="lesion")).status == "error"
    line = only_line(import_masks(masks_dir, kind="lesion", site=elsewhere))
    assert (line.status, line.image) == ("imported", theirs.pk)


def test_an_unprocessed_image_is_an_error_not_a_guess(bank, masks_dir):
    Image.objects.filter(pk=bank["afc0"].pk).update(width=None, height=None,
                                                    processing_status="pending")  # fmt: skip
    save_png(masks_dir / "AFC0.png", half_mask())
    line = only_line(import_masks(masks_dir, kind="lesion"))
    assert line.status == "error" and "not processed yet" in line.message


# --- what is accepted, what is refused -----------------------------------------------------------


def palette_mask() -> PILImage.Image:
    picture = PILImage.fromarray(half_mask(), mode="P")
    picture.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    return picture


ACCEPTED = {
    "bilevel": lambda: PILImage.fromarray(half_mask().astype(bool)),
    "grey-0-1": lambda: PILImage.fromarray(half_mask()),
    "grey-0-255": lambda: PILImage.fromarray(half_mask(inside=255)),
    "palette": palette_mask,
    "16-bit": lambda: PILImage.fromarray(half_mask().astype(np.uint16) * 255),
    "rgb": lambda: PILImage.fromarray(np.repeat(half_mask(inside=255)[..., None], 3, axis=2)),
    "rgba-opaque": lambda: PILImage.fromarray(
        np.dstack(
            [np.repeat(half_mask(inside=255)[..., None], 3, 2), np.full((32, 32), 255)]
        ).astype(np.uint8)
    ),
}


@pytest.mark.parametrize("form", ACCEPTED)
def test_every_binary_form_of_a_mask_is_accepted(bank, masks_dir, form):
    ACCEPTED[form]().save(masks_dir / "AFC0.png")
    line = only_line(import_masks(masks_dir, kind="cervix"))
    assert line.status == "imported", line.message
    stored = mask_array(Mask.objects.get(image=bank["afc0"]))
    assert stored[:, : WIDTH // 2].all() and not stored[:, WIDTH // 2 :].any()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bomb_header() -> bytes:
    """A PNG that claims 100,000 × 100,000 pixels (and holds one row): decoding it would take
    10 GB."""
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * 100_001)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", data)
        + png_chunk(b"IEND", b"")
    )


def good_png() -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(half_mask()).save(buffer, format="PNG")
    return buffer.getvalue()


REFUSED = {
    "jpeg": (lambda: render_jpeg("after_acetic_acid", size=(32, 32)), "is not a PNG file"),
    "text": (lambda: b"0,1,0\n1,1,0\n", "is not a PNG file"),
    "bomb": (bomb_header, "a mask may have at most 50,000,000"),
    "truncated": (lambda: good_png()[:60], "AFC0.png is"),
    "garbage": (lambda: b"\x89PNG\r\n\x1a\n" + os.urandom(200), "is not a readable PNG"),
    "grey": (lambda: _png(np.array([[0, 3], [255, 0]], dtype=np.uint8)), "is not binary"),
    "coloured": (
        lambda: _png(np.array([[[255, 0, 0], [0, 0, 0]]], dtype=np.uint8)),
        "1 coloured pixels",
    ),
    "transparent": (
        lambda: _png(np.array([[[255, 255, 255, 0], [0, 0, 0, 255]]], dtype=np.uint8)),
        "transparent pixels",
    ),
    "too-high": (lambda: _png(np.array([[0, 1000]], dtype=np.uint16)), "0 and 255"),
}


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("form", REFUSED)
def test_hostile_or_non_binary_files_are_refused_naming_the_file(bank, masks_dir, form):
    make, message = REFUSED[form]
    (masks_dir / "AFC0.png").write_bytes(make())
    line = only_line(import_masks(masks_dir, kind="cervix"))
    assert line.status == "error"
    assert "AFC0.png" in line.message and message in line.message, line.message
    assert not Mask.objects.exists()


def test_a_file_over_20_mb_is_refused_unread(bank, masks_dir):
    with open(masks_dir / "AFC0.png", "wb") as handle:
        handle.write(good_png())
        handle.truncate(20 * 1024 * 1024 + 1)
    line = only_line(import_masks(masks_dir, kind="cervix"))
    assert line.status == "error" and "AFC0.png is larger than 20 MB" in line.message


def test_the_pixel_limit_holds_for_a_real_png_too(bank, masks_dir, monkeypatch):
    monkeypatch.setattr(mask_services, "MAX_MASK_PIXELS", 1000)
    save_png(masks_dir / "AFC0.png", half_mask(size=40))
    line = only_line(import_masks(masks_dir, kind="cervix"))
    assert line.status == "error" and "1,600 pixels" in line.message


def test_links_folders_fifos_and_hidden_files_are_skipped_with_a_line(bank, masks_dir):
    good = save_png(masks_dir / "AFC0.png", half_mask())
    os.symlink(good, masks_dir / "AFC1.png")
    (masks_dir / "nested").mkdir()
    os.mkfifo(masks_dir / "pipe.png")
    (masks_dir / ".DS_Store").write_bytes(b"junk")
    report = import_masks(masks_dir, kind="cervix")
    lines = {line.file: line for line in report.files}
    assert lines["AFC0.png"].status == "imported"
    assert lines["AFC1.png"].status == "skipped" and "is a link" in lines["AFC1.png"].message
    assert lines["nested"].status == "skipped" and "folder" in lines["nested"].message
    assert lines["pipe.png"].status == "skipped" and "regular" in lines["pipe.png"].message
    assert lines[".DS_Store"].status == "skipped"
    assert report.counts["skipped"] == 4 and report.counts["errors"] == 0


def test_one_bad_file_does_not_stop_the_others(bank, masks_dir):
    (masks_dir / "AFC0.png").write_bytes(b"not a png")
    save_png(masks_dir / "Case-007_AFC1.png", half_mask())
    save_png(masks_dir / "Case-012_AFC1.png", half_mask(inside=255))
    report = import_masks(masks_dir, kind="lesion")
    assert report.counts["imported"] == 2 and report.counts["errors"] == 1
    assert set(Mask.objects.values_list("image", flat=True)) == {bank["afc1"].pk,
                                                                 bank["other"].pk}  # fmt: skip


# --- re-runs, replacing, failures ----------------------------------------------------------------


def test_a_re_run_is_unchanged_and_a_different_mask_is_kept_unless_replaced(bank, masks_dir):
    save_png(masks_dir / "AFC0.png", half_mask())
    first = only_line(import_masks(masks_dir, kind="cervix"))
    before = Mask.objects.get()
    assert first.status == "imported"
    assert only_line(import_masks(masks_dir, kind="cervix")).status == "unchanged"
    # The same pixels at 0/255 instead of 0/1: the same mask.
    save_png(masks_dir / "AFC0.png", half_mask(inside=255))
    assert only_line(import_masks(masks_dir, kind="cervix")).status == "unchanged"

    save_png(masks_dir / "AFC0.png", 1 - half_mask())
    skipped = only_line(import_masks(masks_dir, kind="cervix"))
    assert skipped.status == "skipped" and "--replace" in skipped.message
    assert Mask.objects.get().sha256 == before.sha256

    replaced = only_line(import_masks(masks_dir, kind="cervix", replace=True))
    after = Mask.objects.get()
    assert replaced.status == "replaced" and after.pk == before.pk
    assert after.sha256 != before.sha256
    assert mask_array(after)[:, -1].all() and not mask_array(after)[:, 0].any()
    assert default_storage.exists(before.storage_key)  # the old object stays
    # Another kind is another mask.
    assert only_line(import_masks(masks_dir, kind="lesion")).status == "imported"
    assert Mask.objects.count() == 2


def test_a_storage_failure_leaves_no_row(bank, masks_dir, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(FileSystemStorage, "save", broken)
    save_png(masks_dir / "AFC0.png", half_mask())
    line = only_line(import_masks(masks_dir, kind="cervix"))
    assert line.status == "error" and "could not be stored (disk full)" in line.message
    assert not Mask.objects.exists()


def test_only_curators_import_and_only_known_kinds(bank, masks_dir):
    save_png(masks_dir / "AFC0.png", half_mask())
    with pytest.raises(PermissionDenied, match="curators"):
        import_masks(masks_dir, kind="cervix", actor=bank["contributor"])
    with pytest.raises(mask_services.MaskImportError, match="not a kind"):
        import_masks(masks_dir, kind="polyp")
    curator = make_user_with_role(Role.CURATOR)
    assert only_line(import_masks(masks_dir, kind="cervix", actor=curator)).status == "imported"
    assert Mask.objects.get().imported_by == curator


# --- the command ---------------------------------------------------------------------------------


def test_the_command_prints_problems_and_a_summary_and_fails_after_importing(bank, masks_dir):
    save_png(masks_dir / "AFC0.png", half_mask())
    (masks_dir / "ZZZ9.png").write_bytes(b"GIF89a")
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 2 files"):
        call_command("import_masks", str(masks_dir), "--kind", "cervix", stdout=out)
    text = out.getvalue()
    assert "ERROR    ZZZ9.png is not a PNG file." in text
    assert "cervix masks: 1 imported, 0 replaced, 0 unchanged, 0 skipped, 1 errors." in text
    assert Mask.objects.count() == 1

    (masks_dir / "ZZZ9.png").unlink()
    out = io.StringIO()
    call_command("import_masks", str(masks_dir), "--kind", "cervix", "--json",
                 "--site", "kisumu", stdout=out)  # fmt: skip
    data = json.loads(out.getvalue())
    assert data["counts"]["unchanged"] == 1 and data["kind"] == "cervix"
    assert data["files"] == [{"file": "AFC0.png", "status": "unchanged",
                              "message": data["files"][0]["message"],
                              "image": bank["afc0"].pk}]  # fmt: skip
    with pytest.raises(CommandError, match="No site"):
        call_command("import_masks", str(masks_dir), "--kind", "cervix", "--site", "nowhere")
    with pytest.raises(CommandError, match="does not exist"):
        call_command("import_masks", str(masks_dir / "missing"), "--kind", "cervix")


# --- the selectors -------------------------------------------------------------------------------


def make_version(bank, splits: dict[str, Image]) -> ReleaseVersion:
    curator = make_user_with_role(Role.CURATOR)
    release = Release.objects.create(slug="masks", title="Masks", created_by=curator)
    version = ReleaseVersion.objects.create(
        release=release, version="1.0.0", description="d", licence_name="CC BY 4.0",
        citation="c", fractions=[0.6, 0.2, 0.2], seed=1, near_radius=4, created_by=curator,
    )  # fmt: skip
    for number, (image_id, (split, image)) in enumerate(splits.items()):
        blob = ReleaseBlob.objects.create(
            sha256=f"{number:064x}", bytes=1, storage_key=f"k{number}"
        )
        ReleaseImage.objects.create(
            version=version, image_id=image_id, path=f"images/{image_id}.jpg", blob=blob,
            sha256=blob.sha256, bytes=1, width=image.width, height=image.height,
            case_code=f"C{image.case_id}", subject_code="S", site="kisumu", step=image.step,
            order=number + 1, split=split, source_image_id=image.pk, source_case_id=image.case_id,
        )  # fmt: skip
    return version


def outline_reviews(case, count: int, status=ReviewStatus.SUBMITTED, round=1) -> list[Review]:
    entry = QueueEntry.objects.create(case=case, round=round, entered_at=timezone.now(),
                                      status=EntryStatus.DECIDED)  # fmt: skip
    now = timezone.now()
    return [
        Review.objects.create(
            entry=entry,
            case=case,
            reviewer=make_user_with_role(REVIEWER),
            status=status,
            decision="accept" if status == ReviewStatus.SUBMITTED else "",
            claimed_at=now,
            claim_expires=now,
            submitted_at=now if status == ReviewStatus.SUBMITTED else None,
        )  # fmt: skip
        for _ in range(count)
    ]


def box(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def test_masks_for_a_release_imported_first_then_the_reviewers_majority(bank, masks_dir):
    version = make_version(bank, {"img-a": ("train", bank["afc0"]),
                                  "img-b": ("validation", bank["afc1"]),
                                  "img-c": ("test", bank["other"])})  # fmt: skip
    first, second, third = outline_reviews(bank["case"], 3)
    (claimed,) = outline_reviews(bank["case"], 1, status=ReviewStatus.CLAIMED, round=2)
    # On AFC1 (no imported mask): two of three reviewers cover x 0…20, one also 20…30 in two
    # outlines (one reviewer, counted once), and the third draws x 32…48 only.
    Outline.objects.create(
        review=first, image=bank["afc1"], kind="lesion", points=box(0, 0, 20, 36)
    )
    Outline.objects.create(
        review=first, image=bank["afc1"], kind="lesion", points=box(20, 0, 30, 36)
    )
    Outline.objects.create(
        review=second, image=bank["afc1"], kind="lesion", points=box(0, 0, 20, 36)
    )
    Outline.objects.create(
        review=third, image=bank["afc1"], kind="lesion", points=box(32, 0, 48, 36)
    )
    # A claim is not an opinion yet, and a cervix outline is another kind.
    Outline.objects.create(
        review=claimed, image=bank["afc1"], kind="lesion", points=box(0, 0, 48, 36)
    )
    Outline.objects.create(
        review=third, image=bank["afc1"], kind="cervix", points=box(0, 0, 48, 36)
    )
    # On AFC0 the imported mask wins over an outline.
    Outline.objects.create(
        review=first, image=bank["afc0"], kind="lesion", points=box(0, 0, 48, 36)
    )
    save_png(masks_dir / "Case-007_AFC0.png", half_mask())
    save_png(masks_dir / "Case-012_AFC1.png", half_mask())
    assert import_masks(masks_dir, kind="lesion").counts["imported"] == 2

    masks = masks_for_release(version, "lesion")
    assert set(masks) == {"img-a", "img-b"}
    assert (masks["img-a"] == mask_array(Mask.objects.get(image=bank["afc0"]))).all()
    drawn = masks["img-b"]
    assert drawn.shape == (HEIGHT, WIDTH) and drawn.dtype == bool
    # (an outline's edge pixels may go either way: PIL's polygon fill)
    assert drawn[:, :19].all() and not drawn[:, 22:].any()

    assert set(masks_for_release(version, "cervix")) == {"img-b"}
    assert masks_for_release(version, "cervix")["img-b"].all()  # one reviewer: theirs
    assert masks_for_release(version, "scj") == {}
    # An empty mask is an answer (none there), not a missing one.
    save_png(masks_dir / "Case-007_AFC0.png", np.zeros((32, 32), dtype=np.uint8))
    assert only_line(import_masks(masks_dir / "Case-007_AFC0.png", kind="scj")).status == "imported"
    empty = masks_for_release(version, "scj")
    assert set(empty) == {"img-a"} and not empty["img-a"].any()
    assert set(masks_for_release(version, "lesion", splits=["validation"])) == {"img-b"}
    test = sequestered_masks(version, "lesion")
    assert set(test) == {"img-c"} and test["img-c"][:, : WIDTH // 2].all()
    assert mask_counts(version) == {
        "train": {"lesion": 1, "cervix": 0, "scj": 1},
        "validation": {"lesion": 1, "cervix": 1, "scj": 0},
        "test": {"lesion": 1, "cervix": 0, "scj": 0},
    }


def test_two_reviewers_half_is_enough_and_a_later_round_supersedes(bank):
    version = make_version(bank, {"img-b": ("train", bank["afc1"])})
    first, second = outline_reviews(bank["case"], 2)
    Outline.objects.create(
        review=first, image=bank["afc1"], kind="lesion", points=box(0, 0, 10, 36)
    )
    Outline.objects.create(
        review=second, image=bank["afc1"], kind="lesion", points=box(40, 0, 48, 36)
    )
    mask = masks_for_release(version, "lesion")["img-b"]
    assert mask[:, :9].all() and mask[:, 41:].all() and not mask[:, 12:38].any()
    # The first reviewer reviews the case again in a later round: their new outline replaces theirs.
    later = Review.objects.create(
        entry=QueueEntry.objects.create(case=bank["case"], round=2, entered_at=timezone.now()),
        case=bank["case"], reviewer=first.reviewer, status=ReviewStatus.SUBMITTED,
        decision="accept", claimed_at=timezone.now(), claim_expires=timezone.now(),
        submitted_at=timezone.now() + timezone.timedelta(days=1),
    )  # fmt: skip
    Outline.objects.create(
        review=later, image=bank["afc1"], kind="lesion", points=box(20, 0, 30, 36)
    )
    mask = masks_for_release(version, "lesion")["img-b"]
    assert mask[:, 21:29].all() and mask[:, 41:].all() and not mask[:, :18].any()


@pytest.mark.parametrize("splits", [("train", "test"), ("test",), "test"])
def test_the_test_split_is_sequestered(bank, splits):
    version = make_version(bank, {"img-a": ("test", bank["afc0"])})
    with pytest.raises(ValueError, match="sequestered"):
        masks_for_release(version, "lesion", splits=splits)
    with pytest.raises(ValueError, match="unknown splits"):
        masks_for_release(version, "lesion", splits=("training",))
    with pytest.raises(ValueError, match="unknown mask kind"):
        masks_for_release(version, "polyp")
    assert "evaluation" in mask_selectors.sequestered_masks.__doc__


# --- the shared IARC sample ----------------------------------------------------------------------

IARC = SHARED_DATA / "iarc"


def test_every_iarc_mask_matches_its_via_image(masks_dir):
    require_service(
        (IARC / "via-masks" / "cervix").exists(), f"{IARC} is not there (a fresh clone)"
    )
    site = make_site("iarc-via", submission_requirements=[])
    call_command("ingest", str(IARC / "via"), "--site", site.slug, stdout=io.StringIO())
    from imagebank.tasks import process_image  # the worker's step, run here

    for pk in Image.objects.filter(width__isnull=True).values_list("pk", flat=True):
        process_image(pk)
    report = import_masks(IARC / "via-masks" / "cervix", kind="cervix", site=site)
    assert report.counts["errors"] == 0, [line.message for line in report.problems]
    assert report.counts["imported"] == 78 == Mask.objects.filter(kind="cervix").count()
    for mask in Mask.objects.select_related("image")[:5]:
        assert (mask.width, mask.height) == (mask.image.width, mask.image.height)
        assert (mask.source_width, mask.source_height) == (512, 512)
    assert import_masks(IARC / "via-masks" / "cervix", kind="cervix").counts["unchanged"] == 78
    for kind, count in (("lesion", 34), ("scj", 60)):
        report = import_masks(IARC / "via-masks" / kind, kind=kind, site=site)
        assert report.counts == {"imported": count, "replaced": 0, "unchanged": 0, "skipped": 0,
                                 "errors": 0}, report.problems  # fmt: skip
