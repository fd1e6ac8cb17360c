"""The case pages as a contributor meets them: steps guessed from the file order and said so, the
steps and order set on the case page without JavaScript, and what a case still needs before it
can be submitted."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from fixtures.synthetic_cervix import render_jpeg
from imagebank.lifecycle import CaseState
from imagebank.models import Case, CaseEvent
from imagebank.services import cases as case_services
from tests.factories import add_core_images, add_image, make_case, make_contributor, make_site

pytestmark = pytest.mark.django_db

GUESS_HINT = "Step guessed from the file order — check it"


def jpeg(name: str, seed: int) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        name, render_jpeg("after_lugol", seed=seed, size=(96, 72)), content_type="image/jpeg"
    )


def case_url(case: Case, name: str = "detail") -> str:
    return reverse(f"imagebank:case-{name}", args=[case.pk])


@pytest.fixture
def site():
    return make_site("kisumu", name="Kisumu District Hospital")


def new_case(client, site, **data):
    return client.post(
        reverse("imagebank:case-new"),
        {"site": site.pk, "local_patient_id": "KDH/2026/0042", **data},
    )


def guesses(case) -> list[bool]:
    return list(case.images.order_by("display_order").values_list("step_is_guess", flat=True))


# --- the new-case form: guesses from the file order ---------------------------------------------


def test_without_javascript_one_step_for_several_files_is_a_guess(client, site, contributor):
    client.force_login(contributor)
    response = new_case(
        client, site, images=[jpeg("a.jpg", 1), jpeg("b.jpg", 2)], default_step="after_lugol"
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert guesses(case) == [True, True]
    page = client.get(case_url(case)).content.decode()
    assert page.count(GUESS_HINT) == 2
    assert "The steps of 2 images were guessed" in page


def test_without_javascript_one_file_has_the_step_chosen(client, site, contributor):
    client.force_login(contributor)
    new_case(client, site, images=[jpeg("a.jpg", 1)], default_step="after_lugol")
    case = Case.objects.get()
    assert list(case.images.values_list("step", "step_is_guess")) == [("after_lugol", False)]
    assert GUESS_HINT not in client.get(case_url(case)).content.decode()


def test_the_script_says_per_file_which_steps_were_checked(client, site, contributor):
    client.force_login(contributor)
    response = new_case(
        client,
        site,
        images=[jpeg("a.jpg", 1), jpeg("b.jpg", 2), jpeg("c.jpg", 3)],
        file_step=["before_acetic_acid", "after_acetic_acid", "after_lugol"],
        file_step_checked=["1", "0", "1"],
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert list(case.images.order_by("display_order").values_list("step", flat=True)) == [
        "before_acetic_acid",
        "after_acetic_acid",
        "after_lugol",
    ]
    assert guesses(case) == [False, True, False]


def test_steps_from_the_script_without_confirmations_count_as_guesses(client, site, contributor):
    client.force_login(contributor)
    new_case(
        client,
        site,
        images=[jpeg("a.jpg", 1), jpeg("b.jpg", 2)],
        file_step=["before_acetic_acid", "after_acetic_acid"],
    )
    assert guesses(Case.objects.get()) == [True, True]


def test_the_form_says_the_steps_are_guessed_from_the_order(client, contributor):
    client.force_login(contributor)
    html = client.get(reverse("imagebank:case-new")).content.decode()
    assert "first guessed from the order of the files" in html
    assert 'data-guess="Guessed from the file order — check it"' in html
    assert "until you do, the steps count as guesses" in html  # the no-script help


# --- the case page: steps and order, without JavaScript -----------------------------------------


@pytest.fixture
def draft(site, contributor):
    case = make_case(site, contributor)
    images = [
        add_image(
            case, contributor, "after_acetic_acid", seed=1, size=(64, 48), step_is_guess=True
        ),
        add_image(case, contributor, "before_acetic_acid", seed=2, size=(64, 48)),
    ]
    return case, images


def arrange_data(case, **overrides) -> dict[str, str]:
    data = {}
    for position, image in enumerate(case.images.order_by("display_order"), start=1):
        data[f"step_{image.pk}"] = image.step
        data[f"order_{image.pk}"] = str(position)
    data.update(overrides)
    return data


def test_the_case_page_has_a_step_select_and_a_position_per_image(client, contributor, draft):
    case, (first, second) = draft
    client.force_login(contributor)
    html = client.get(case_url(case)).content.decode()
    assert f'action="{case_url(case, "arrange-images")}"' in html
    for image in (first, second):
        assert re.search(rf'<select name="step_{image.pk}"[^>]*form="arrange-form"', html)
        assert re.search(
            rf'<input type="number" name="order_{image.pk}"[^>]*form="arrange-form"', html
        )
    assert html.count(GUESS_HINT) == 1
    assert "Save steps and order" in html


def test_saving_swaps_the_order_sets_a_step_and_clears_the_guess(client, contributor, draft):
    case, (first, second) = draft
    client.force_login(contributor)
    response = client.post(
        case_url(case, "arrange-images"),
        arrange_data(
            case,
            **{
                f"order_{first.pk}": "2",
                f"order_{second.pk}": "1",
                f"step_{first.pk}": "after_lugol",
            },
        ),
    )
    assert response.status_code == 302
    assert response["Location"].endswith(case_url(case) + "#images-h")
    rows = list(case.images.order_by("display_order").values_list("pk", "step", "step_is_guess"))
    assert rows == [
        (second.pk, "before_acetic_acid", False),
        (first.pk, "after_lugol", False),
    ]
    event = case.events.get(kind=CaseEvent.Kind.IMAGES_ARRANGED)
    assert event.actor == contributor
    page = client.get(case_url(case)).content.decode()
    assert GUESS_HINT not in page
    assert "Image steps or order changed" in page  # the history says so
    assert "position 1 → 2" in page


def test_saving_the_steps_as_shown_confirms_the_guess(client, contributor, draft):
    case, (first, _second) = draft
    client.force_login(contributor)
    assert client.post(case_url(case, "arrange-images"), arrange_data(case)).status_code == 302
    first.refresh_from_db()
    assert first.step_is_guess is False


def test_two_images_at_one_position_are_refused_on_the_page(client, contributor, draft):
    case, (first, second) = draft
    client.force_login(contributor)
    response = client.post(
        case_url(case, "arrange-images"),
        arrange_data(case, **{f"order_{first.pk}": "1", f"order_{second.pk}": "1"}),
    )
    assert response.status_code == 400
    assert "Two images cannot share a position: 1" in response.content.decode()
    assert list(case.images.order_by("display_order").values_list("pk", flat=True)) == [
        first.pk,
        second.pk,
    ]


def test_arranging_is_refused_once_submitted_and_to_another_site(client, site, contributor):
    case = make_case(site, contributor)
    add_core_images(case, contributor)
    case_services.submit_case(case=case, actor=contributor)
    client.force_login(contributor)
    assert client.post(case_url(case, "arrange-images"), arrange_data(case)).status_code == 403
    assert 'id="arrange-form"' not in client.get(case_url(case)).content.decode()

    other_site_case = make_case(make_site(), None)
    add_image(other_site_case, other_site_case.created_by, seed=3, size=(64, 48))
    response = client.post(
        case_url(other_site_case, "arrange-images"), arrange_data(other_site_case)
    )
    assert response.status_code == 404
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.IMAGES_ARRANGED).exists()


# --- what a case still needs before it is submitted ---------------------------------------------


def test_the_case_page_lists_what_is_missing_with_links_and_holds_submit(client, site, contributor):
    case = make_case(site, contributor, adequacy="", transformation_zone="")
    add_core_images(case, contributor, steps=("before_acetic_acid",))
    client.force_login(contributor)
    html = client.get(case_url(case)).content.decode()
    assert "Before you can submit, this case still needs:" in html
    assert f'href="{case_url(case, "edit")}#id_adequacy"' in html
    assert f'href="{case_url(case, "edit")}#id_transformation_zone"' in html
    assert 'href="#images-h"' in html and "After Lugol" in html
    assert re.search(r'<button type="submit" disabled aria-describedby="submit-why">', html)

    response = client.post(case_url(case, "submit"), follow=True)
    page = response.content.decode()
    assert "Adequacy is not given." in page
    assert "Neither the transformation zone type nor the VIA result is given." in page
    assert Case.objects.get(pk=case.pk).state == CaseState.DRAFT


def test_a_complete_case_shows_no_checklist_and_submits(client, site, contributor):
    case = make_case(site, contributor)
    add_core_images(case, contributor)
    client.force_login(contributor)
    html = client.get(case_url(case)).content.decode()
    assert "this case still needs" not in html
    assert "Submit for review" in html
    assert 'disabled aria-describedby="submit-why"' not in html
    client.post(case_url(case, "submit"))
    assert Case.objects.get(pk=case.pk).state != CaseState.DRAFT


def test_the_edit_form_marks_what_the_site_needs(client, contributor):
    site = make_site(submission_requirements=["histopathology", "core_steps"])
    contributor = make_contributor(site)
    case = make_case(site, contributor)
    client.force_login(contributor)
    html = client.get(case_url(case, "edit")).content.decode()
    assert re.search(r'<label class="needed" for="id_histopathology">', html)
    assert not re.search(r'<label class="needed" for="id_adequacy">', html)
    assert "Needed before you submit." in html
    assert "Histopathology is not given." in html  # the form says what is missing
