"""Adding and removing images: validation before storage, content addressing, audit, permissions."""

import hashlib
import io
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from fixtures.synthetic_cervix import render, render_jpeg, render_png
from imagebank.lifecycle import CaseState
from imagebank.models import Case, CaseEvent, Image, ProcessingStatus
from imagebank.services import cases as case_services
from imagebank.services import images as image_services
from imagebank.storage import content_key
from tests.factories import (
    add_core_images,
    make_case,
    make_contributor,
    make_site,
    make_user_with_role,
)
from tests.roles import Role

# Local files: these tests look at the private folder or at responses streamed from it;
# tests/services covers the S3 server.
pytestmark = pytest.mark.usefixtures("local_storage")

JPEG = render_jpeg("after_acetic_acid", seed=11)  # 640 x 480


@pytest.fixture
def case(site, contributor):
    return make_case(site=site, actor=contributor)


def upload(case, actor, data: bytes = JPEG, *, step="after_acetic_acid", name="x.jpg", **kw):
    return image_services.add_image(
        case=case, actor=actor, fileobj=io.BytesIO(data), filename=name, step=step, **kw
    )


def stored_files(settings) -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    if not root.exists():
        return set()
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.django_db
def test_an_image_is_stored_under_its_content_hash(case, contributor):
    image = upload(case, contributor, name="../../etc/cervix.JPG", step_original_wording="VIA")
    image.refresh_from_db()
    assert image.file.name == content_key(image.sha256, "jpg", prefix="images")
    stored = default_storage.open(image.file.name, "rb").read()
    assert sha(stored) == image.sha256
    assert image.byte_size == len(stored)
    assert image.original_sha256 == sha(JPEG)
    assert image.original_filename == "cervix.JPG"  # the base name only, never a path
    assert image.source_format == "jpeg"
    assert image.content_type == "image/jpeg"
    assert image.step == "after_acetic_acid"
    assert image.step_original_wording == "VIA"
    assert image.uploaded_by == contributor
    assert image.processing_status == ProcessingStatus.PENDING
    assert (image.width, image.height) == (640, 480)


@pytest.mark.django_db
def test_a_png_is_accepted_as_png(case, contributor):
    data = render_png("after_lugol", seed=2, size=(80, 60))
    image = upload(case, contributor, data, step="after_lugol", name="x.png")
    assert image.source_format == "png"
    assert image.content_type == "image/png"
    assert image.file.name.endswith(".png")


@pytest.mark.django_db
def test_adding_an_image_is_audited(case, contributor):
    image = upload(case, contributor)
    event = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.IMAGE_ADDED)
    assert event.actor == contributor
    assert event.changes == {
        "image": image.pk,
        "step": "after_acetic_acid",
        "order": 1,
        "sha256": image.sha256,
    }


@pytest.mark.django_db
def test_processing_is_queued_on_commit(case, contributor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        image = upload(case, contributor)
    assert len(callbacks) == 1
    image.refresh_from_db()
    assert image.processing_status == ProcessingStatus.DONE


@pytest.mark.django_db
def test_display_order_auto_increments(case, contributor):
    orders = [
        upload(case, contributor, render_jpeg("after_acetic_acid", seed=s, size=(64, 48)))
        for s in range(3)
    ]
    assert [image.display_order for image in orders] == [1, 2, 3]
    explicit = upload(
        case, contributor, render_jpeg("after_lugol", size=(64, 48)), display_order=10
    )
    assert explicit.display_order == 10
    after = upload(case, contributor, render_jpeg("green_filter", size=(64, 48)))
    assert after.display_order == 11


@pytest.mark.django_db
def test_the_same_image_may_be_in_two_cases(site, contributor, case):
    other_case = make_case(site=site, actor=contributor)
    first = upload(case, contributor)
    second = upload(other_case, contributor)
    assert first.file.name == second.file.name
    assert first.case_id != second.case_id


def _not_an_image(ctx):
    return {"data": b"%PDF-1.4 this is a report, not a photograph"}


def _empty_file(ctx):
    return {"data": b""}


def _truncated_jpeg(ctx):
    return {"data": JPEG[: len(JPEG) // 2]}


def _gif(ctx):
    buffer = io.BytesIO()
    render("after_acetic_acid", size=(32, 24)).save(buffer, "GIF")
    return {"data": buffer.getvalue(), "name": "x.gif"}


def _too_many_pixels(ctx):
    ctx["settings"].MAX_IMAGE_PIXELS = 640 * 480 - 1
    return {}


def _too_many_bytes(ctx):
    ctx["settings"].MAX_UPLOAD_BYTES = len(JPEG) - 1
    return {}


def _unknown_step(ctx):
    return {"step": "after_vinegar"}


def _step_wording_not_code(ctx):
    return {"step": "After acetic acid"}


def _order_zero(ctx):
    return {"display_order": 0}


def _order_taken(ctx):
    upload(ctx["case"], ctx["contributor"], render_jpeg("after_lugol", size=(64, 48)))
    return {"display_order": 1}


def _duplicate(ctx):
    upload(ctx["case"], ctx["contributor"])
    return {}


REJECTIONS = {
    _not_an_image: "file",
    _empty_file: "file",
    _truncated_jpeg: "file",
    _gif: "file",
    _too_many_pixels: "file",
    _too_many_bytes: "file",
    _unknown_step: "step",
    _step_wording_not_code: "step",
    _order_zero: "display_order",
    _order_taken: "display_order",
    _duplicate: "file",
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "arrange", list(REJECTIONS), ids=lambda f: f.__name__.strip("_").replace("_", "-")
)
def test_a_rejected_upload_names_the_field_and_leaves_no_row_or_event(
    settings, case, contributor, arrange
):
    kwargs = {"data": JPEG, "name": "x.jpg", "step": "after_acetic_acid"}
    kwargs.update(arrange({"settings": settings, "case": case, "contributor": contributor}))
    images = set(Image.objects.values_list("pk", flat=True))
    events = set(CaseEvent.objects.values_list("pk", flat=True))
    with pytest.raises(ValidationError) as raised:
        upload(case, contributor, kwargs.pop("data"), **kwargs)
    assert REJECTIONS[arrange] in raised.value.message_dict
    assert set(Image.objects.values_list("pk", flat=True)) == images
    assert set(CaseEvent.objects.values_list("pk", flat=True)) == events


@pytest.mark.django_db
@pytest.mark.parametrize(
    "arrange",
    [_not_an_image, _truncated_jpeg, _too_many_pixels, _too_many_bytes, _unknown_step],
    ids=lambda f: f.__name__.strip("_").replace("_", "-"),
)
def test_an_upload_refused_on_validation_stores_no_file(settings, case, contributor, arrange):
    kwargs = {"data": JPEG, "name": "x.jpg", "step": "after_acetic_acid"}
    kwargs.update(arrange({"settings": settings, "case": case, "contributor": contributor}))
    with pytest.raises(ValidationError):
        upload(case, contributor, kwargs.pop("data"), **kwargs)
    assert stored_files(settings) == set()


@pytest.mark.django_db
def test_the_refusal_names_the_file(case, contributor):
    with pytest.raises(ValidationError) as raised:
        upload(case, contributor, JPEG[:1000], name="IMG_0042.jpg")
    assert "IMG_0042.jpg" in " ".join(raised.value.message_dict["file"])


@pytest.mark.django_db
def test_limits_are_inclusive(settings, case, contributor):
    settings.MAX_UPLOAD_BYTES = len(JPEG)
    settings.MAX_IMAGE_PIXELS = 640 * 480
    assert upload(case, contributor).pk


@pytest.mark.django_db
def test_another_sites_contributor_cannot_add(case):
    stranger = make_contributor(make_site())
    with pytest.raises(PermissionDenied):
        upload(case, stranger)
    assert not Image.objects.exists()


@pytest.mark.django_db
def test_a_reviewer_cannot_add(case):
    with pytest.raises(PermissionDenied):
        upload(case, make_user_with_role(Role.REVIEWER))
    assert not Image.objects.exists()


@pytest.fixture
def submitted_case(case, contributor):
    add_core_images(case, contributor)
    return case_services.submit_case(case=case, actor=contributor)


@pytest.mark.django_db
def test_images_cannot_be_added_after_submission(submitted_case, contributor):
    with pytest.raises(PermissionDenied):
        upload(submitted_case, contributor, render_jpeg("green_filter", size=(64, 48)))
    assert submitted_case.images.count() == 3


@pytest.mark.django_db
def test_a_stale_draft_object_cannot_sneak_an_image_into_a_submitted_case(case, contributor):
    add_core_images(case, contributor)
    stale = Case.objects.get(pk=case.pk)
    case_services.submit_case(case=case, actor=contributor)
    assert stale.state == CaseState.DRAFT
    with pytest.raises(PermissionDenied):
        upload(stale, contributor, render_jpeg("green_filter", size=(64, 48)))
    assert Case.objects.get(pk=case.pk).images.count() == 3


@pytest.mark.django_db
def test_identifying_exif_is_removed_at_ingest(case, contributor):
    picture = render("after_acetic_acid", size=(64, 48))
    exif = PILImage.Exif()
    exif[0x010E] = "Jane Doe, MRN 12345"  # ImageDescription
    exif[0x013B] = "Dr Example"  # Artist
    exif[0x0132] = "2024:03:01 10:22:33"  # DateTime
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", exif=exif)
    image = upload(case, contributor, buffer.getvalue())
    stored = default_storage.open(image.file.name, "rb").read()
    assert b"Jane Doe" not in stored
    kept = PILImage.open(io.BytesIO(stored)).getexif()
    assert not {0x010E, 0x013B, 0x0132} & set(kept)


# --- remove_image ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_removing_an_image_is_audited(case, contributor):
    image = upload(case, contributor)
    key, digest, pk = image.file.name, image.sha256, image.pk
    image_services.remove_image(image=image, actor=contributor)
    assert not Image.objects.filter(pk=pk).exists()
    event = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.IMAGE_REMOVED)
    assert event.actor == contributor
    assert event.changes == {
        "image": pk,
        "step": "after_acetic_acid",
        "order": 1,
        "sha256": digest,
    }
    # Stored objects are shared by hash and collected separately, never deleted here.
    assert default_storage.exists(key)


@pytest.mark.django_db
def test_a_removed_image_can_be_added_again(case, contributor):
    image = upload(case, contributor)
    image_services.remove_image(image=image, actor=contributor)
    again = upload(case, contributor)
    assert again.sha256 == image.sha256


@pytest.mark.django_db
def test_another_sites_contributor_cannot_remove(case, contributor):
    image = upload(case, contributor)
    with pytest.raises(PermissionDenied):
        image_services.remove_image(image=image, actor=make_contributor(make_site()))
    assert Image.objects.filter(pk=image.pk).exists()
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.IMAGE_REMOVED).exists()


@pytest.mark.django_db
def test_images_cannot_be_removed_after_submission(submitted_case, contributor):
    image = submitted_case.images.first()
    with pytest.raises(PermissionDenied):
        image_services.remove_image(image=image, actor=contributor)
    assert Image.objects.filter(pk=image.pk).exists()
