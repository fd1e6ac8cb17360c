"""store_prepared_images: a case's images stored at once, as a bulk import does.

One lock, one permission and state check and one look at what the case holds for all of them; each
image the case cannot take comes back as its own error, in its place, and the others are stored.
"""

import hashlib
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fixtures.synthetic_cervix import render_jpeg
from imagebank.imaging.prepared import prepare_upload
from imagebank.lifecycle import CaseState
from imagebank.models import Case, CaseEvent, Image, ProcessingStatus
from imagebank.services import cases as case_services
from imagebank.services import images as image_services
from imagebank.services.images import ImageToStore, store_prepared_images
from imagebank.storage import content_key
from tests.factories import UserFactory, add_core_images, make_case, make_contributor, make_site

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]


@pytest.fixture
def case(site, contributor):
    return make_case(site=site, actor=contributor)


def to_store(seed: int, name: str = "", **placement) -> ImageToStore:
    data = render_jpeg("after_acetic_acid", seed=seed, size=(96, 72))
    name = name or f"image-{seed}.jpg"
    return ImageToStore(
        prepared=prepare_upload(data, name, with_previews=True),
        filename=name,
        step=placement.pop("step", "after_acetic_acid"),
        **placement,
    )


def stored_files(settings) -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def test_images_are_stored_in_their_order_after_what_the_case_holds(case, contributor):
    [first] = store_prepared_images(case=case, actor=contributor, images=[to_store(1)])
    outcomes = store_prepared_images(
        case=case, actor=contributor, images=[to_store(2), to_store(3)]
    )
    assert all(isinstance(outcome, Image) for outcome in outcomes)
    assert list(case.images.values_list("original_filename", "display_order")) == [
        ("image-1.jpg", 1),
        ("image-2.jpg", 2),
        ("image-3.jpg", 3),
    ]
    assert first.processing_status == ProcessingStatus.DONE  # previews came with the check
    added = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.IMAGE_ADDED)
    assert sorted(event.changes["order"] for event in added) == [1, 2, 3]


def test_the_case_is_locked_and_read_once_for_all_its_images(case, contributor):
    with CaptureQueriesContext(connection) as queries:
        store_prepared_images(case=case, actor=contributor, images=[to_store(n) for n in range(4)])
    case_reads = [q for q in queries if q["sql"].startswith('SELECT "imagebank_case"')]
    image_reads = [q for q in queries if q["sql"].startswith('SELECT "imagebank_image"')]
    assert (len(case_reads), len(image_reads)) == (1, 1)
    assert case.images.count() == 4


def test_content_already_in_the_case_is_refused_alone_naming_the_file(case, contributor):
    store_prepared_images(case=case, actor=contributor, images=[to_store(1, "first.jpg")])
    outcomes = store_prepared_images(
        case=case,
        actor=contributor,
        images=[to_store(2), to_store(1, "again.jpg"), to_store(3), to_store(3, "twin.jpg")],
    )
    kinds = [type(outcome).__name__ for outcome in outcomes]
    assert kinds == ["Image", "ValidationError", "Image", "ValidationError"]
    assert "again.jpg" in outcomes[1].message_dict["file"][0]
    assert "twin.jpg" in outcomes[3].message_dict["file"][0]  # a repeat within the batch too
    assert case.images.count() == 3


def test_a_position_taken_or_a_bad_step_is_refused_alone(case, contributor, settings):
    store_prepared_images(case=case, actor=contributor, images=[to_store(1)])
    before = stored_files(settings)
    bad_step = to_store(3, step="sideways")
    outcomes = store_prepared_images(
        case=case,
        actor=contributor,
        images=[to_store(2, display_order=1), bad_step, to_store(4, display_order=5)],
    )
    assert "display_order" in outcomes[0].message_dict
    assert "step" in outcomes[1].message_dict
    assert isinstance(outcomes[2], Image) and outcomes[2].display_order == 5
    assert case.images.count() == 2
    bad_key = content_key(hashlib.sha256(bad_step.prepared.data).hexdigest(), "jpg", "images")
    assert bad_key not in stored_files(settings)
    assert len(stored_files(settings) - before) == 2 * 3  # two images' file, preview, thumbnail


def test_an_actor_without_the_right_stores_nothing(case, settings):
    with pytest.raises(PermissionDenied):
        store_prepared_images(case=case, actor=UserFactory(), images=[to_store(1), to_store(2)])
    assert not Image.objects.exists()
    assert stored_files(settings) == set()


def test_a_stale_draft_object_cannot_add_images_to_a_submitted_case(case, contributor):
    add_core_images(case, contributor)
    stale = Case.objects.get(pk=case.pk)
    case_services.submit_case(case=case, actor=contributor)
    assert stale.state == CaseState.DRAFT
    with pytest.raises(PermissionDenied):
        store_prepared_images(case=stale, actor=contributor, images=[to_store(9)])
    assert Case.objects.get(pk=case.pk).images.count() == 3


def test_store_prepared_raises_the_one_images_refusal(case, contributor):
    item = to_store(1)
    image_services.store_prepared(
        case=case, actor=contributor, prepared=item.prepared, filename="a.jpg", step=item.step
    )
    with pytest.raises(ValidationError) as raised:
        image_services.store_prepared(
            case=case, actor=contributor, prepared=item.prepared, filename="b.jpg", step=item.step
        )
    assert "b.jpg" in raised.value.message_dict["file"][0]
    assert case.images.count() == 1


def test_another_sites_contributor_is_refused(case):
    other = make_contributor(make_site())
    with pytest.raises(PermissionDenied):
        store_prepared_images(case=case, actor=other, images=[to_store(1)])
    assert not Image.objects.filter(case=case).exists()
