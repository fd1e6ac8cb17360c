"""Background tasks: image derivation and quality checks, both safe to run again."""

import hashlib
import io
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from fixtures.synthetic_cervix import render, render_jpeg
from imagebank import hooks, storage
from imagebank.lifecycle import CaseState
from imagebank.models import Case, CaseEvent, Image, ProcessingStatus
from imagebank.services import cases as case_services
from imagebank.services import images as image_services
from imagebank.tasks import process_image, run_quality_checks
from tests.factories import add_core_images, make_case, make_contributor, make_site

# Local files: these tests look at the private folder or at responses streamed from it;
# tests/services covers the S3 server.
pytestmark = pytest.mark.usefixtures("local_storage")


@pytest.fixture
def contributor():
    return make_contributor(make_site())


@pytest.fixture
def case(contributor):
    return make_case(site=contributor.site_memberships.get().site, actor=contributor)


def upload(case, actor, data: bytes, name: str = "x.jpg") -> Image:
    """An image row whose processing has not run (its on_commit callback never fires here)."""
    return image_services.add_image(
        case=case, actor=actor, fileobj=io.BytesIO(data), filename=name, step="after_acetic_acid"
    )


def stored_files(settings) -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def picture(key: str) -> PILImage.Image:
    with default_storage.open(key, "rb") as handle:
        image = PILImage.open(io.BytesIO(handle.read()))
        image.load()
    return image


def overwrite(key: str, data: bytes) -> None:
    """Damage a stored object in place, on local or S3 storage alike."""
    default_storage.delete(key)
    assert default_storage.save(key, ContentFile(data)) == key


def jpeg_with_orientation(size: tuple[int, int], orientation: int) -> bytes:
    exif = PILImage.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    render("after_acetic_acid", size=size).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


# --- process_image --------------------------------------------------------------------------


@pytest.mark.django_db
def test_process_image_derives_dimensions_preview_and_thumbnail(settings, case, contributor):
    settings.PREVIEW_MAX_SIDE, settings.THUMBNAIL_MAX_SIDE = 320, 64
    image = upload(case, contributor, render_jpeg("after_acetic_acid", size=(640, 480)))
    # Forget what the upload measured, so the task must find the dimensions itself.
    Image.objects.filter(pk=image.pk).update(width=None, height=None)

    assert process_image(image.pk) == ProcessingStatus.DONE

    image.refresh_from_db()
    assert image.processing_status == ProcessingStatus.DONE
    assert image.processing_error == ""
    assert (image.width, image.height) == (640, 480)
    assert image.preview.name.startswith("previews/")
    assert image.thumbnail.name.startswith("thumbnails/")
    preview, thumbnail = picture(image.preview.name), picture(image.thumbnail.name)
    assert (preview.format, preview.size) == ("JPEG", (320, 240))
    assert (thumbnail.format, thumbnail.size) == ("JPEG", (64, 48))


@pytest.mark.django_db
def test_a_small_image_is_not_enlarged(case, contributor):
    image = upload(case, contributor, render_jpeg("after_lugol", size=(120, 90)))
    process_image(image.pk)
    image.refresh_from_db()
    assert picture(image.preview.name).size == (120, 90)


@pytest.mark.django_db
def test_process_image_is_idempotent(settings, case, contributor):
    image = upload(case, contributor, render_jpeg("after_acetic_acid", size=(200, 150)))
    assert process_image(image.pk) == ProcessingStatus.DONE
    files = stored_files(settings)
    image.refresh_from_db()
    first = (image.preview.name, image.thumbnail.name, image.width, image.height)

    assert process_image(image.pk) == "skipped"

    image.refresh_from_db()
    assert (image.preview.name, image.thumbnail.name, image.width, image.height) == first
    assert stored_files(settings) == files


@pytest.mark.django_db
def test_process_image_skips_a_missing_row():
    assert process_image(987654) == "skipped"


@pytest.mark.django_db
def test_bytes_that_do_not_match_the_hash_mark_the_image_failed(case, contributor):
    image = upload(case, contributor, render_jpeg("after_acetic_acid", size=(64, 48)))
    overwrite(image.file.name, render_jpeg("after_acetic_acid", seed=9, size=(64, 48)))

    assert process_image(image.pk) == ProcessingStatus.FAILED

    image.refresh_from_db()
    assert image.processing_status == ProcessingStatus.FAILED
    assert "SHA-256" in image.processing_error
    assert not image.preview
    assert not image.thumbnail


def _row_for_stored_bytes(case, actor, data: bytes) -> Image:
    """An image row pointing at bytes that hash correctly but cannot be decoded (written past
    storage.store_bytes, whose guard refuses such bytes: as storage damaged in place would be)."""
    sha256 = hashlib.sha256(data).hexdigest()
    key = storage.content_key(sha256, "jpg", "images")
    assert default_storage.save(key, ContentFile(data)) == key
    return Image.objects.create(
        case=case,
        step="after_acetic_acid",
        display_order=1,
        source_format="jpeg",
        file=key,
        content_type="image/jpeg",
        byte_size=len(data),
        sha256=sha256,
        uploaded_by=actor,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        render_jpeg("after_acetic_acid", size=(64, 48))[:400],
        b"\xff\xd8\xff\xe0 not really a jpeg",
        b"",
    ],
    ids=["truncated", "garbage", "empty"],
)
def test_corrupt_stored_bytes_mark_the_image_failed_with_a_message(case, contributor, data):
    image = _row_for_stored_bytes(case, contributor, data)
    assert process_image(image.pk) == ProcessingStatus.FAILED
    image.refresh_from_db()
    assert image.processing_status == ProcessingStatus.FAILED
    assert image.processing_error
    assert len(image.processing_error) <= 500


@pytest.mark.django_db
def test_a_failed_image_is_processed_again_once_repaired(case, contributor):
    data = render_jpeg("after_acetic_acid", size=(64, 48))
    image = upload(case, contributor, data)
    overwrite(image.file.name, b"damaged")
    assert process_image(image.pk) == ProcessingStatus.FAILED
    overwrite(image.file.name, data)
    assert process_image(image.pk) == ProcessingStatus.DONE
    image.refresh_from_db()
    assert image.processing_error == ""


@pytest.mark.django_db
def test_a_missing_stored_file_marks_the_image_failed(case, contributor):
    image = upload(case, contributor, render_jpeg("after_acetic_acid", size=(64, 48)))
    default_storage.delete(image.file.name)
    assert process_image(image.pk) == ProcessingStatus.FAILED
    image.refresh_from_db()
    assert image.processing_status == ProcessingStatus.FAILED


@pytest.mark.django_db
@pytest.mark.parametrize("orientation", [6, 8])
def test_an_exif_rotated_jpeg_reports_its_displayed_size(case, contributor, orientation):
    image = upload(case, contributor, jpeg_with_orientation((64, 48), orientation))
    assert process_image(image.pk) == ProcessingStatus.DONE
    image.refresh_from_db()
    assert (image.width, image.height) == (48, 64)
    assert picture(image.preview.name).size == (48, 64)
    assert picture(image.thumbnail.name).size == (48, 64)


@pytest.mark.django_db
def test_an_upright_exif_orientation_keeps_the_size(case, contributor):
    image = upload(case, contributor, jpeg_with_orientation((64, 48), 1))
    process_image(image.pk)
    image.refresh_from_db()
    assert (image.width, image.height) == (64, 48)


# --- run_quality_checks ---------------------------------------------------------------------


@pytest.fixture
def recording_check():
    seen = []

    def check(case):
        seen.append(case.pk)

    hooks.register_quality_check(check)
    yield seen
    hooks._quality_checks.remove(check)


@pytest.fixture
def submitted_case(case, contributor):
    """A complete case, submitted, whose quality-check task has not run yet."""
    add_core_images(case, contributor, size=(64, 48))
    return case_services.submit_case(case=case, actor=contributor)


def transitions(case) -> list[tuple[str, str]]:
    return list(
        CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.TRANSITION).values_list(
            "from_state", "to_state"
        )
    )


@pytest.mark.django_db
def test_run_quality_checks_hands_a_submitted_case_to_review(submitted_case, recording_check):
    assert run_quality_checks(submitted_case.pk) == "in_review"
    submitted_case.refresh_from_db()
    assert submitted_case.state == CaseState.IN_REVIEW
    assert recording_check == [submitted_case.pk]


@pytest.mark.django_db
def test_run_quality_checks_is_idempotent_when_redelivered(submitted_case, recording_check):
    run_quality_checks(submitted_case.pk)
    before = transitions(submitted_case)

    assert run_quality_checks(submitted_case.pk) == "skipped"

    submitted_case.refresh_from_db()
    assert submitted_case.state == CaseState.IN_REVIEW
    assert transitions(submitted_case) == before
    assert recording_check == [submitted_case.pk]  # the checks did not run a second time


@pytest.mark.django_db
def test_run_quality_checks_finishes_a_case_left_in_quality_checks(submitted_case, recording_check):
    # A worker died after the first transition: the redelivered message completes the work.
    case_services.transition_case(case=submitted_case, to_state=CaseState.QUALITY_CHECKS)
    assert run_quality_checks(submitted_case.pk) == "in_review"
    submitted_case.refresh_from_db()
    assert submitted_case.state == CaseState.IN_REVIEW
    assert transitions(submitted_case).count((CaseState.SUBMITTED, CaseState.QUALITY_CHECKS)) == 1


@pytest.mark.django_db
def test_run_quality_checks_leaves_a_draft_alone(case, recording_check):
    assert run_quality_checks(case.pk) == "skipped"
    assert Case.objects.get(pk=case.pk).state == CaseState.DRAFT
    assert recording_check == []


@pytest.mark.django_db
def test_run_quality_checks_on_a_missing_case():
    assert run_quality_checks(987654) == "missing"


def test_tasks_are_late_acknowledged_time_limited_and_queued():
    for task in (process_image, run_quality_checks):
        assert task.acks_late is True
        assert task.time_limit and task.soft_time_limit
        assert task.soft_time_limit < task.time_limit
