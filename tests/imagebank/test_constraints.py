"""Database constraints hold the invariants even for code that bypasses the services."""

import hashlib

import pytest
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from imagebank.lifecycle import CaseState
from imagebank.models import CODED_FIELDS, Case, CaseEvent, Image, ProcessingStatus, Subject
from tests.factories import make_contributor, make_site

SHA = hashlib.sha256(b"one").hexdigest()
OTHER_SHA = hashlib.sha256(b"two").hexdigest()


@pytest.fixture
def world():
    site = make_site()
    user = make_contributor(site)
    subject = Subject.objects.create(site=site, pseudonym="0" * 64)
    return {"site": site, "subject": subject, "created_by": user}


def case_row(world, **values) -> Case:
    return Case.objects.create(
        site=world["site"], subject=world["subject"], created_by=world["created_by"], **values
    )


def image_row(case, **values) -> Image:
    fields = {
        "case": case,
        "step": "after_acetic_acid",
        "display_order": 1,
        "source_format": "jpeg",
        "file": f"images/{SHA[:2]}/{SHA[2:4]}/{SHA}.jpg",
        "content_type": "image/jpeg",
        "byte_size": 3,
        "sha256": SHA,
        "uploaded_by": case.created_by,
    }
    fields.update(values)
    return Image.objects.create(**fields)


def refused(create) -> None:
    # PostgreSQL refuses an over-long value for its column type (DataError) before any CHECK.
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        create()


@pytest.mark.django_db
def test_a_valid_row_is_accepted(world):
    # The baseline: the rows the refusals below start from are themselves fine.
    case = case_row(
        world,
        age_at_exam=35,
        cytology="hsil",
        swede_total=10,
        adequacy="inadequate",
        inadequacy_reason="bleeding",
        lesion_quadrants=4,
    )
    image_row(case)
    image_row(case, sha256=OTHER_SHA, display_order=2)
    assert case.images.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("field", sorted(CODED_FIELDS))
def test_an_out_of_vocabulary_code_is_refused(world, field):
    refused(lambda: case_row(world, **{field: "not-a-code"}))


@pytest.mark.django_db
@pytest.mark.parametrize("field", sorted(CODED_FIELDS))
def test_every_code_of_the_vocabulary_is_accepted(world, field):
    for code in sorted(CODED_FIELDS[field].codes):
        values = {field: code}
        if field == "inadequacy_reason":
            values["adequacy"] = "inadequate"
        with transaction.atomic():
            case_row(world, **values)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "values",
    [
        {"age_at_exam": 5},
        {"age_at_exam": 9},
        {"age_at_exam": 101},
        {"swede_total": 11},
        {"swede_total": 3, "swede_not_assessable": True},
        {"swede_total": 0, "swede_not_assessable": True},
        {"state": "archived"},
        {"state": CaseState.SUBMITTED},  # submitted without submitted_at
        {"lesion_quadrants": 5},
        {"adequacy": "adequate", "inadequacy_reason": "bleeding"},
        {"inadequacy_reason": "scar"},
        {"acetowhite_area": "absent", "acetowhite_colour": "dense"},
        {"acetowhite_area": "absent", "acetowhite_size": "into_canal"},
    ],
    ids=lambda values: ",".join(f"{k}={v}" for k, v in values.items()),
)
def test_a_case_row_breaking_an_invariant_is_refused(world, values):
    refused(lambda: case_row(world, **values))


@pytest.mark.django_db
def test_a_submitted_row_with_its_date_is_accepted(world):
    case = case_row(world, state=CaseState.ACCEPTED, submitted_at=timezone.now())
    assert case.pk


@pytest.mark.django_db
def test_an_invalid_state_cannot_be_written_by_update_either(world):
    case = case_row(world)
    refused(lambda: Case.objects.filter(pk=case.pk).update(state="archived"))
    refused(lambda: Case.objects.filter(pk=case.pk).update(cytology="cin9"))
    case.refresh_from_db()
    assert case.state == CaseState.DRAFT


@pytest.mark.django_db
@pytest.mark.parametrize(
    "values",
    [
        {"display_order": 0},
        {"sha256": "not-a-hash"},
        {"sha256": SHA.upper()},
        {"step": "after_vinegar"},
        {"step": ""},
        {"source_format": "gif"},
        pytest.param(
            {"processing_status": ProcessingStatus.DONE},
            id="processing_status=done-without-dimensions",
        ),
        {"processing_status": "exploded"},
    ],
    ids=lambda values: ",".join(f"{k}={v}" for k, v in values.items()),
)
def test_an_image_row_breaking_an_invariant_is_refused(world, values):
    case = case_row(world)
    refused(lambda: image_row(case, **values))


@pytest.mark.django_db
@pytest.mark.parametrize("dimensions", [{"width": 0, "height": 480}, {"width": 640, "height": 0}])
def test_a_processed_image_with_a_zero_dimension_is_refused(world, dimensions):
    case = case_row(world)
    refused(lambda: image_row(case, processing_status=ProcessingStatus.DONE, **dimensions))
    image_row(case, processing_status=ProcessingStatus.DONE, width=640, height=480)


@pytest.mark.django_db
def test_a_duplicate_image_in_one_case_is_refused(world):
    case = case_row(world)
    image_row(case)
    refused(lambda: image_row(case, display_order=2))


@pytest.mark.django_db
def test_two_images_in_one_position_are_refused(world):
    case = case_row(world)
    image_row(case)
    refused(lambda: image_row(case, sha256=OTHER_SHA))


@pytest.mark.django_db
def test_the_same_image_in_two_cases_is_allowed(world):
    image_row(case_row(world))
    image_row(case_row(world))
    assert Image.objects.filter(sha256=SHA).count() == 2


@pytest.mark.django_db
def test_a_transition_event_needs_both_states(world):
    case = case_row(world)
    kind = CaseEvent.Kind.TRANSITION
    refused(lambda: CaseEvent.objects.create(case=case, kind=kind, to_state=CaseState.SUBMITTED))
    refused(lambda: CaseEvent.objects.create(case=case, kind=kind, from_state=CaseState.DRAFT))
    CaseEvent.objects.create(
        case=case, kind=kind, from_state=CaseState.DRAFT, to_state=CaseState.SUBMITTED
    )


@pytest.mark.django_db
def test_a_pseudonym_is_unique_per_site(world):
    refused(lambda: Subject.objects.create(site=world["site"], pseudonym="0" * 64))
    Subject.objects.create(site=make_site(), pseudonym="0" * 64)


@pytest.mark.django_db
def test_site_rows_keep_their_invariants(world):
    site = world["site"]
    from imagebank.models import Site

    refused(lambda: Site.objects.filter(pk=site.pk).update(country="Kenya"))
    refused(lambda: Site.objects.filter(pk=site.pk).update(clinical_setting="spaceship"))
