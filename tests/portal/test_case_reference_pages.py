"""The contributor's own case reference: set on the new-case and edit forms (audited, never the
patient's ID), shown on the case page and in the case list, and found by the list's search and the
API's filters, only among the cases the user may see."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from imagebank.models import Case, CaseEvent
from imagebank.services import cases as case_services
from tests.factories import (
    add_core_images,
    make_case,
    make_contributor,
    make_site,
    make_user_with_role,
)
from tests.roles import Role

pytestmark = pytest.mark.django_db

LIST_URL = reverse("imagebank:case-list")


def case_url(case: Case, name: str = "detail") -> str:
    return reverse(f"imagebank:case-{name}", args=[case.pk])


@pytest.fixture
def site():
    return make_site("kisumu", name="Kisumu District Hospital")


def listed(response) -> list[int]:
    return [case.pk for case in response.context["page"].object_list]


# --- setting it --------------------------------------------------------------------------------


def test_the_new_case_form_keeps_the_reference_and_says_what_it_is(client, site, contributor):
    client.force_login(contributor)
    form = client.get(reverse("imagebank:case-new")).content.decode()
    assert "Your case reference" in form
    assert "Never the patient&#x27;s ID" in form or "Never the patient's ID" in form
    response = client.post(
        reverse("imagebank:case-new"),
        {"site": site.pk, "local_patient_id": "KDH-0042", "source_reference": "Case 002"},
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.source_reference == "Case 002"
    assert "Case 002" in client.get(case_url(case)).content.decode()


def test_the_new_case_form_refuses_a_reference_that_holds_the_patient_id(client, site, contributor):
    client.force_login(contributor)
    response = client.post(
        reverse("imagebank:case-new"),
        {"site": site.pk, "local_patient_id": "KDH-0042", "source_reference": "visit of KDH-0042"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["source_reference"]
    assert not Case.objects.exists()


def test_the_edit_form_changes_the_reference_with_an_audit_event(client, site, contributor):
    case = make_case(site, contributor, local_patient_id="KDH-0042", source_reference="Case 2")
    client.force_login(contributor)
    page = client.get(case_url(case, "edit")).content.decode()
    assert 'value="Case 2"' in page
    response = client.post(
        case_url(case, "edit"), {"source_reference": "Case 002", "adequacy": "adequate"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.source_reference == "Case 002"
    event = case.events.filter(kind=CaseEvent.Kind.EDITED).latest("pk")
    assert event.changes["source_reference"] == {"from": "Case 2", "to": "Case 002"}


def test_on_edit_a_reference_that_is_the_patient_id_is_refused(client, site, contributor):
    # The ID is not stored, but the pseudonym it gives is: the reference is tested against it.
    case = make_case(site, contributor, local_patient_id="KDH-0042")
    client.force_login(contributor)
    for reference in ("KDH-0042", "kdh-0042", "Visit (KDH-0042)"):
        response = client.post(case_url(case, "edit"), {"source_reference": reference})
        assert response.status_code == 400, reference
        assert response.context["form"].errors["source_reference"]
    case.refresh_from_db()
    assert case.source_reference == ""
    too_long = client.post(case_url(case, "edit"), {"source_reference": "x" * 101})
    assert too_long.status_code == 400


# --- showing and searching it -------------------------------------------------------------------


@pytest.fixture
def world(site, contributor):
    """Two cases of Kisumu (one submitted), one of another site with a like reference."""
    draft = make_case(site, contributor, source_reference="Case 002")
    submitted = make_case(site, contributor, source_reference="Case 017 colposcopy")
    add_core_images(submitted, contributor)
    case_services.submit_case(case=submitted, actor=contributor)
    other_site = make_site("mombasa", name="Mombasa Screening Camp")
    elsewhere = make_case(other_site, None, source_reference="Case 002")
    return {"draft": draft, "submitted": submitted, "elsewhere": elsewhere}


def test_the_list_shows_the_reference_column(client, contributor, world):
    client.force_login(contributor)
    html = client.get(LIST_URL).content.decode()
    assert '<th scope="col">Case reference</th>' in html
    assert "Case 002" in html and "Case 017 colposcopy" in html
    assert 'type="search" name="q"' in html


def test_the_search_finds_by_reference_and_number_among_the_users_cases(client, contributor, world):
    client.force_login(contributor)
    assert listed(client.get(LIST_URL, {"q": "case 002"})) == [world["draft"].pk]
    assert listed(client.get(LIST_URL, {"q": "017"})) == [world["submitted"].pk]
    # A number finds the case of that number, and references that hold it.
    assert world["draft"].pk in listed(client.get(LIST_URL, {"q": str(world["draft"].pk)}))
    assert listed(client.get(LIST_URL, {"q": f"#{world['draft'].pk}"})) == [world["draft"].pk]
    assert listed(client.get(LIST_URL, {"q": f"#{world['elsewhere'].pk}"})) == []
    nothing = client.get(LIST_URL, {"q": "Case 999"})
    assert listed(nothing) == []
    assert "No case you can see" in nothing.content.decode()


def test_a_reviewer_finds_only_submitted_cases_and_another_site_none(client, world):
    client.force_login(make_user_with_role(Role.REVIEWER))
    assert listed(client.get(LIST_URL, {"q": "Case 0"})) == [world["submitted"].pk]
    assert listed(client.get(LIST_URL, {"q": f"#{world['draft'].pk}"})) == []
    client.force_login(make_contributor(make_site()))
    assert listed(client.get(LIST_URL, {"q": "Case"})) == []


# --- the API ------------------------------------------------------------------------------------


def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_the_api_reads_writes_and_filters_the_reference(site, contributor, world):
    client = api(contributor)
    created = client.post(
        "/api/cases/",
        {"site": site.pk, "local_patient_id": "KDH-0077", "source_reference": "Case 030"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["source_reference"] == "Case 030"
    refused = client.post(
        "/api/cases/",
        {"site": site.pk, "local_patient_id": "KDH-0078", "source_reference": "KDH-0078 visit"},
        format="json",
    )
    assert refused.status_code == 400 and "source_reference" in refused.json()

    case_id = created.json()["id"]
    patched = client.patch(
        f"/api/cases/{case_id}/", {"source_reference": "Case 031"}, format="json"
    )
    assert patched.status_code == 200 and patched.json()["source_reference"] == "Case 031"
    untouched = client.patch(f"/api/cases/{case_id}/", {"notes": "seen"}, format="json")
    assert untouched.json()["source_reference"] == "Case 031"

    def ids(**query):
        return [case["id"] for case in client.get("/api/cases/", query).json()["results"]]

    assert ids(search="case 0") == [case_id, world["submitted"].pk, world["draft"].pk]
    assert ids(source_reference="case 002") == [world["draft"].pk]
    assert ids(search=str(case_id)) == [case_id]
    reviewer = api(make_user_with_role(Role.REVIEWER))
    found = reviewer.get("/api/cases/", {"search": "Case 0"}).json()["results"]
    assert [case["id"] for case in found] == [world["submitted"].pk]
