"""What a case needs before it is submitted, decided by its site: the requirement registry, the
refusal of submit_case naming every missing item, the site's list in the admin and the command,
and the API's 400."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from rest_framework.test import APIClient

from imagebank import submission
from imagebank.lifecycle import CaseState
from imagebank.models import Case, Site
from imagebank.services import cases as case_services
from imagebank.services.cases import CLINICAL_FIELDS
from tests.factories import add_core_images, make_case, make_contributor, make_site
from tests.imagebank.test_admin import change_form_data

pytestmark = pytest.mark.django_db


def refusal(case, actor) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as raised:
        case_services.submit_case(case=case, actor=actor)
    assert Case.objects.get(pk=case.pk).state == CaseState.DRAFT
    return raised.value.message_dict


# --- the registry -------------------------------------------------------------------------------


def test_the_registry_knows_the_named_requirements_and_one_per_clinical_field():
    for code in (
        "adequacy",
        "transformation_zone_or_via_result",
        "core_steps",
        "acetic_acid_steps",
        "histopathology",
        "hpv_result",
        "age_at_exam",
    ):
        assert code in submission.REQUIREMENTS, code
    # Every clinical field but the tick-what-you-saw lists and the yes/no box.
    generated = {name for name in CLINICAL_FIELDS if name in submission.REQUIREMENTS}
    assert "normal_findings" not in generated and "swede_not_assessable" not in generated
    assert {"cytology", "management", "swede_total", "notes"} <= generated
    assert submission.DEFAULT_REQUIREMENTS == (
        "adequacy",
        "transformation_zone_or_via_result",
        "core_steps",
    )
    assert all(str(label) for _code, label in submission.requirement_choices())


def test_unknown_codes_are_refused_naming_them():
    with pytest.raises(ValidationError) as raised:
        submission.validate_requirements(["adequacy", "lugol_photo", "biopsy"])
    message = " ".join(raised.value.message_dict["submission_requirements"])
    assert "lugol_photo" in message and "biopsy" in message
    assert "core_steps" in message  # the known codes are listed
    with pytest.raises(ValidationError):
        submission.validate_requirements("adequacy")  # a string is not a list
    assert submission.validate_requirements(["adequacy", "adequacy"]) == ["adequacy"]


def test_a_site_with_unknown_codes_is_not_created():
    with pytest.raises(ValidationError):
        make_site(submission_requirements=["adequacy", "photo_of_lugol"])
    assert not Site.objects.exists()


# --- submit_case --------------------------------------------------------------------------------


def test_an_empty_case_is_refused_naming_every_missing_item_of_the_default():
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site, contributor, adequacy="", transformation_zone="")
    errors = refusal(case, contributor)
    assert set(errors) == {"images", "adequacy", "transformation_zone_or_via_result", "core_steps"}
    assert "Adequacy" in errors["adequacy"][0]
    steps = errors["core_steps"][0]
    assert "Before acetic acid" in steps and "After acetic acid" in steps and "Lugol" in steps


def test_a_case_missing_only_the_lugol_image_is_told_just_that():
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site, contributor)
    add_core_images(case, contributor, steps=("before_acetic_acid", "after_acetic_acid"))
    errors = refusal(case, contributor)
    assert list(errors) == ["core_steps"]
    assert (
        "Lugol" in errors["core_steps"][0] and "Before acetic acid" not in errors["core_steps"][0]
    )


def test_a_via_result_stands_in_for_the_transformation_zone():
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site, contributor, transformation_zone="", via_result="negative")
    add_core_images(case, contributor)
    assert case_services.submit_case(case=case, actor=contributor).state == CaseState.SUBMITTED


def test_a_complete_case_is_submitted():
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site, contributor)
    add_core_images(case, contributor)
    assert case_services.submit_case(case=case, actor=contributor).state == CaseState.SUBMITTED


def test_a_custom_list_asks_for_its_own_items_only():
    # A VIA site without Lugol's iodine that wants histopathology and the HPV result.
    site = make_site(
        submission_requirements=["acetic_acid_steps", "histopathology", "hpv_result", "swede_total"]
    )
    contributor = make_contributor(site)
    case = make_case(site, contributor, adequacy="", transformation_zone="")
    add_core_images(case, contributor, steps=("before_acetic_acid",))
    errors = refusal(case, contributor)
    assert set(errors) == {"acetic_acid_steps", "histopathology", "hpv_result", "swede_total"}
    assert "After acetic acid" in errors["acetic_acid_steps"][0]

    case_services.update_case(
        case=case,
        actor=contributor,
        values={"histopathology": "cin2", "hpv_result": "positive", "swede_not_assessable": True},
    )
    add_core_images(case, contributor, seed=1, steps=("after_acetic_acid",))
    assert case_services.submit_case(case=case, actor=contributor).state == CaseState.SUBMITTED


def test_conditional_fields_are_required_only_where_they_apply():
    site = make_site(submission_requirements=["inadequacy_reason", "acetowhite_colour"])
    contributor = make_contributor(site)
    adequate = make_case(site, contributor, acetowhite_area="absent")
    add_core_images(adequate, contributor)
    assert submission.missing_for(adequate) == []
    inadequate = make_case(site, contributor, adequacy="inadequate", acetowhite_area="present")
    codes = [missing.code for missing in submission.missing_for(inadequate)]
    assert codes == ["inadequacy_reason", "acetowhite_colour"]


def test_a_site_that_requires_nothing_takes_a_case_with_one_image():
    site = make_site(submission_requirements=[])
    contributor = make_contributor(site)
    case = make_case(site, contributor, adequacy="", transformation_zone="")
    add_core_images(case, contributor, steps=("green_filter",))
    assert case_services.submit_case(case=case, actor=contributor).state == CaseState.SUBMITTED


def test_the_api_submit_is_a_400_keyed_by_requirement():
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site, contributor, adequacy="")
    add_core_images(case, contributor, steps=("before_acetic_acid", "after_acetic_acid"))
    client = APIClient()
    client.force_login(contributor)
    response = client.post(f"/api/cases/{case.pk}/submit/")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"adequacy", "core_steps"}
    assert "Lugol" in body["core_steps"][0]
    assert Case.objects.get(pk=case.pk).state == CaseState.DRAFT


# --- the site's list: command and admin ---------------------------------------------------------


def test_create_site_takes_the_default_repeatable_require_and_require_nothing():
    out = io.StringIO()
    call_command("create_site", "kdh", "--name", "Kisumu", "--country", "KE", stdout=out)
    assert Site.objects.get(slug="kdh").submission_requirements == list(
        submission.DEFAULT_REQUIREMENTS
    )
    assert "core_steps" in out.getvalue()
    call_command(
        "create_site",
        "via-camp",
        "--name",
        "VIA camp",
        "--country",
        "IN",
        "--require",
        "adequacy",
        "--require",
        "acetic_acid_steps",
        stdout=io.StringIO(),
    )
    assert Site.objects.get(slug="via-camp").submission_requirements == [
        "adequacy",
        "acetic_acid_steps",
    ]
    call_command("create_site", "open", "--name", "Open", "--country", "KE", "--require-nothing")
    assert Site.objects.get(slug="open").submission_requirements == []


def test_create_site_refuses_an_unknown_code_and_creates_nothing():
    with pytest.raises(CommandError, match="lugol_photo"):
        call_command(
            "create_site", "bad", "--name", "Bad", "--country", "KE", "--require", "lugol_photo"
        )
    assert not Site.objects.filter(slug="bad").exists()


def test_the_admin_sets_a_sites_requirements_as_boxes_and_refuses_unknown_codes(admin_client):
    site = make_site("kisumu")
    change = reverse("admin:imagebank_site_change", args=[site.pk])
    page = admin_client.get(change)
    html = page.content.decode()
    assert 'name="submission_requirements"' in html and 'value="core_steps"' in html
    assert 'type="checkbox"' in html
    data = {
        **change_form_data(page),
        "submission_requirements": ["adequacy", "acetic_acid_steps", "histopathology"],
    }
    response = admin_client.post(change, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    site.refresh_from_db()
    assert site.submission_requirements == ["adequacy", "acetic_acid_steps", "histopathology"]

    refused = admin_client.post(change, {**data, "submission_requirements": ["photo_of_lugol"]})
    assert refused.status_code == 200
    errors = refused.context["adminform"].form.errors["submission_requirements"]
    assert "photo_of_lugol" in " ".join(errors)
    site.refresh_from_db()
    assert site.submission_requirements == ["adequacy", "acetic_acid_steps", "histopathology"]


def test_a_site_added_in_the_admin_keeps_the_ticked_requirements(admin_client):
    response = admin_client.post(
        reverse("admin:imagebank_site_add"),
        {
            "slug": "blantyre-hc",
            "name": "Blantyre Health Centre",
            "country": "MW",
            "clinical_setting": "primary_care",
            "devices": "[]",
            "submission_requirements": ["adequacy", "core_steps"],
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Site.objects.get(slug="blantyre-hc").submission_requirements == [
        "adequacy",
        "core_steps",
    ]
    add_form = admin_client.get(reverse("admin:imagebank_site_add")).context["adminform"].form
    assert add_form["submission_requirements"].value() == list(submission.DEFAULT_REQUIREMENTS)
