"""Segmentation submissions (issue 15): a ZIP of mask PNGs, one per test image named after its
image_id, at the image's own size, binary. A perfect archive scores Dice 1 on the sequestered
masks and joins the board; every problem is named with the member it is about; hostile archives
are refused without anything being unpacked outside the scratch folder."""

import io
import zipfile

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from PIL import Image as PILImage

from curation import mask_selectors
from model_bench.models import LeaderboardEntry, Submission, SubmissionState
from model_bench.services import masks, predictions, submissions
from tests.model_bench.test_submissions import csv_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(cin2_task):
    return cin2_task


def png(mask: np.ndarray, mode: str = "L", scale: int = 255) -> bytes:
    buffer = io.BytesIO()
    picture = PILImage.fromarray((mask > 0).astype(np.uint8) * scale, mode="L")
    picture.convert(mode).save(buffer, format="PNG")
    return buffer.getvalue()


def archive(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, data in members.items():
            zipped.writestr(name, data)
    return buffer.getvalue()


def masks_zip(task, *, truth: bool = True, folder: str = "", mode: str = "L", scale: int = 255,
              drop: int = 0) -> bytes:  # fmt: skip
    """Every test image's mask: the true one (read here, in the test, as only evaluation may
    in the code) or an empty one, in `folder`; the last `drop` left out."""
    items = predictions.test_items(task)
    true = mask_selectors.sequestered_masks(task.version, task.label) if truth else {}
    members = {}
    for image_id, (width, height) in list(zip(items.image_ids, items.sizes, strict=True))[
        : len(items.image_ids) - drop
    ]:
        mask = true.get(image_id, np.zeros((height, width), dtype=bool))
        members[f"{folder}{image_id}.png"] = png(mask, mode=mode, scale=scale)
    return archive(members)


def submit(task, user, data, name="masks.zip", **options):
    return submissions.submit(task=task, user=user, data=data, file_name=name, title="My masks",
                              **options)  # fmt: skip


def test_perfect_masks_score_dice_one_and_join_the_board(seg_task, granted):
    submission = submit(seg_task, granted["accessor"], masks_zip(seg_task, folder="out/"))
    assert submission.kind == "masks" and submission.file_key.endswith(".zip")
    assert submissions.score(submission.pk) == "scored"
    submission.refresh_from_db()
    row = submission.results["rows"][0]
    assert row["level"] == "image" and row["n_test"] > 0
    assert row["metrics"]["dice"]["value"] == pytest.approx(1.0)
    assert row["metrics"]["iou"]["ci_low"] == pytest.approx(1.0)
    entry = LeaderboardEntry.objects.get(submission=submission)
    assert entry.value == pytest.approx(1.0) and entry.shown


def test_empty_masks_score_zero_and_binary_forms_are_accepted(seg_task, granted):
    items = predictions.test_items(seg_task)
    for mode, scale in (("L", 1), ("1", 255), ("L", 255)):
        parsed = masks.parse(seg_task, masks_zip(seg_task, mode=mode, scale=scale), items)
        assert len(parsed.masks) == len(items.image_ids)
        assert parsed.masks[0].dtype == bool and parsed.masks[0].shape == (72, 96)
    empty = submit(seg_task, granted["accessor"], masks_zip(seg_task, truth=False))
    submissions.score(empty.pk)
    empty.refresh_from_db()
    assert empty.state == SubmissionState.SCORED
    assert empty.results["rows"][0]["metrics"]["dice"]["value"] < 0.01


def test_every_problem_is_named_with_its_member(seg_task):
    items = predictions.test_items(seg_task)
    first, second, third, fourth, fifth = items.image_ids[:5]
    good = np.zeros((72, 96), dtype=bool)
    members = {
        f"{first}.png": png(np.zeros((32, 32), dtype=bool)),  # the model's size, not the image's
        f"{second}.png": png(good, mode="RGB"),
        f"{third}.png": png(np.full((72, 96), True), scale=128),
        f"zz/{third}.png": png(good),
        f"{fourth}.jpg": b"not a png",
        "nobody.png": png(good),
        f"broken/{fifth}.png": b"\x89PNG\r\n\x1a\n broken",
    }
    with pytest.raises(predictions.InvalidPredictions) as refused:
        masks.parse(seg_task, archive(members), items)
    found = {(error.file, error.message) for error in refused.value.errors}
    by_file = {}
    for file, message in found:
        by_file.setdefault(file, []).append(message)
    assert "96×72" in by_file[f"{first}.png"][0] and "32×32" in by_file[f"{first}.png"][0]
    assert "RGB" in by_file[f"{second}.png"][0]
    assert "128" in by_file[f"{third}.png"][0]
    assert "already" in by_file[f"zz/{third}.png"][0]
    assert "PNG" in by_file[f"{fourth}.jpg"][0]
    assert "not in the task" in by_file["nobody.png"][0]
    assert "cannot be read" in by_file[f"broken/{fifth}.png"][0]
    assert any(f"“{fourth}” of the test split has no mask" in m for m in by_file[None])
    assert len(by_file[None]) == len(items.image_ids) - 4  # all but the four with a PNG


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"image_id,probability\n", "not a ZIP"),
        (archive({"../escape.png": b"x"}), "outside the archive"),
        (archive({"/etc/cron.d/x.png": b"x"}), "outside the archive"),
    ],
)
def test_hostile_or_foreign_files_are_refused_whole(seg_task, data, expected):
    with pytest.raises(predictions.InvalidPredictions) as refused:
        masks.parse(seg_task, data)
    assert expected in refused.value.errors[0].message


def test_a_link_inside_the_archive_is_refused(seg_task):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        link = zipfile.ZipInfo("link.png")
        link.external_attr = 0o120777 << 16  # a symbolic link
        zipped.writestr(link, "/etc/passwd")
    with pytest.raises(predictions.InvalidPredictions, match="links"):
        masks.parse(seg_task, buffer.getvalue())


def test_an_invalid_archive_is_recorded_with_the_files_named_and_no_score(seg_task, granted):
    data = masks_zip(seg_task, drop=1)
    submission = submit(seg_task, granted["accessor"], data)
    assert submissions.score(submission.pk) == "invalid"
    submission.refresh_from_db()
    assert submission.results == {} and submission.errors[0]["message"].endswith("has no mask.")
    assert submissions.limits_left(seg_task, submission.group_key)["today"] == 3


def test_each_task_takes_its_own_kind_of_results(task, seg_task, granted, settings):
    with pytest.raises(ValidationError) as refused:
        submit(task, granted["accessor"], masks_zip(seg_task))
    assert "predictions (CSV) or an ONNX model" in str(refused.value)
    with pytest.raises(ValidationError, match="ZIP of PNGs"):
        submit(seg_task, granted["accessor"], csv_for(task), name="preds.csv")
    settings.SUBMISSION_MAX_ZIP_BYTES = 100
    with pytest.raises(ValidationError, match="larger than"):
        submit(seg_task, granted["accessor"], masks_zip(seg_task))
    assert Submission.objects.count() == 0
