"""The web pages, through Django's test client: who sees what, and what the forms write."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from fixtures.synthetic_cervix import render_jpeg
from imagebank.lifecycle import CaseState
from imagebank.models import Case, CaseEvent, Image, Subject
from imagebank.services import cases as case_services
from tests.factories import (
    add_core_images,
    add_image,
    make_case,
    make_contributor,
    make_site,
    make_user_with_role,
)
from tests.roles import Role

pytestmark = pytest.mark.django_db


def jpeg(name: str, step: str = "before_acetic_acid", seed: int = 0) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, render_jpeg(step, seed=seed), content_type="image/jpeg")


def case_url(case: Case, name: str = "detail") -> str:
    return reverse(f"imagebank:case-{name}", args=[case.pk])


@pytest.fixture
def site_a():
    return make_site("site-a", name="Kisumu District Hospital")


@pytest.fixture
def site_b():
    return make_site("site-b", name="Mombasa Screening Camp")


@pytest.fixture
def contributor_a(site_a):
    return make_contributor(site_a)


@pytest.fixture
def processed_case_b(site_b, django_capture_on_commit_callbacks):
    """A case of site B with one image whose previews exist."""
    actor = make_contributor(site_b)
    case = make_case(site_b, actor)
    with django_capture_on_commit_callbacks(execute=True):
        image = add_image(case, actor, "after_acetic_acid", seed=3)
    image.refresh_from_db()
    assert image.preview.name  # the preview really exists, so a 404 below means "not yours"
    return case, image


def submitted_case(site, actor, django_capture_on_commit_callbacks) -> Case:
    case = make_case(site, actor)
    add_core_images(case, actor, seed=11)
    with django_capture_on_commit_callbacks(execute=True):
        case_services.submit_case(case=Case.objects.get(pk=case.pk), actor=actor)
    return Case.objects.get(pk=case.pk)


# --- visitors -----------------------------------------------------------------------------------


def test_visitor_sees_home_with_sign_in_but_nothing_private(client, processed_case_b):
    case, _image = processed_case_b
    response = client.get(reverse("portal:home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("account_login") in html
    assert case.site.name not in html
    assert case_url(case) not in html
    assert "http://" not in html.replace("http://www.w3.org", "")  # no CDN, nothing external
    assert "https://" not in html


@pytest.mark.parametrize("name", ["portal:dashboard", "imagebank:case-list", "imagebank:case-new"])
def test_visitor_is_sent_to_sign_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_visitor_is_sent_to_sign_in_from_a_case_and_its_images(client, processed_case_b):
    case, image = processed_case_b
    for url in (
        case_url(case),
        case_url(case, "image-status"),
        f"/files/images/{image.pk}/preview/",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login"))


def test_sign_in_page_uses_the_house_layout(client):
    response = client.get(reverse("account_login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "portal/css/site.css" in html
    assert 'class="entrance card"' in html
    assert 'name="login"' in html


# --- contributors -------------------------------------------------------------------------------


def test_contributor_cannot_see_another_sites_case_or_its_previews(
    client, contributor_a, processed_case_b
):
    case, image = processed_case_b
    client.force_login(contributor_a)
    assert client.get(case_url(case)).status_code == 404
    assert client.get(case_url(case, "image-status")).status_code == 404
    assert client.get(case_url(case, "edit")).status_code == 404
    for variant in ("preview", "thumbnail", "original"):
        assert client.get(f"/files/images/{image.pk}/{variant}/").status_code == 404
    response = client.post(case_url(case, "submit"))
    assert response.status_code == 404
    assert Case.objects.get(pk=case.pk).state == CaseState.DRAFT


def test_contributor_sees_own_case_and_its_preview(local_storage, client, site_b, processed_case_b):
    case, image = processed_case_b
    client.force_login(case.created_by)
    response = client.get(case_url(case))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"/files/images/{image.pk}/thumbnail/" in html
    assert f"/files/images/{image.pk}/preview/" in html
    assert "After acetic acid" in html
    preview = client.get(f"/files/images/{image.pk}/preview/")
    assert preview.status_code == 200
    assert preview["Content-Type"] == "image/jpeg"


def test_dashboard_shows_only_own_site_cases(client, site_a, contributor_a, processed_case_b):
    own = make_case(site_a, contributor_a)
    other, _image = processed_case_b
    client.force_login(contributor_a)
    response = client.get(reverse("portal:dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert case_url(own) in html
    assert case_url(other) not in html
    assert site_a.name in html
    assert other.site.name not in html
    assert reverse("imagebank:case-new") in html
    assert response.context["contributor"]["sites"][0]["counts"][0] == {
        "state": "draft",
        "label": "Draft",
        "count": 1,
    }


def test_case_list_filters_and_hides_other_sites(client, site_a, contributor_a, processed_case_b):
    draft = make_case(site_a, contributor_a)
    other, _image = processed_case_b
    client.force_login(contributor_a)
    html = client.get(reverse("imagebank:case-list")).content.decode()
    assert case_url(draft) in html
    assert case_url(other) not in html
    filtered = client.get(reverse("imagebank:case-list"), {"state": "in_review"})
    assert case_url(draft) not in filtered.content.decode()


def test_new_case_form_offers_only_contributable_sites(client, site_a, site_b, contributor_a):
    client.force_login(contributor_a)
    response = client.get(reverse("imagebank:case-new"))
    assert response.status_code == 200
    html = response.content.decode()
    assert site_a.name in html
    assert site_b.name not in html
    assert 'accept="image/jpeg,image/png,image/tiff,.dcm,application/dicom"' in html
    assert "multiple" in html
    assert "never stores the ID" in html


def test_new_case_with_two_files_creates_two_images_in_order_with_their_steps(
    client, site_a, contributor_a
):
    client.force_login(contributor_a)
    response = client.post(
        reverse("imagebank:case-new"),
        {
            "site": site_a.pk,
            "local_patient_id": "KDH-2024-0042",
            "age_at_exam": "34",
            "exam_year": "2024",
            "transformation_zone": "type_2",
            "grade_2_findings": ["dense_acetowhite", "coarse_mosaic"],
            "lesion_clock_positions": ["3", "12"],
            "images": [jpeg("native.jpg", seed=1), jpeg("lugol.jpg", "after_lugol", seed=2)],
            "file_step": ["after_acetic_acid", "after_lugol"],
        },
    )
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == case_url(case)
    assert case.site == site_a
    assert case.age_at_exam == 34
    assert case.transformation_zone == "type_2"
    assert case.grade_2_findings == ["dense_acetowhite", "coarse_mosaic"]
    assert case.lesion_clock_positions == [3, 12]
    images = list(case.images.order_by("display_order"))
    assert [(i.display_order, i.original_filename, i.step) for i in images] == [
        (1, "native.jpg", "after_acetic_acid"),
        (2, "lugol.jpg", "after_lugol"),
    ]
    # The local ID is not stored anywhere: only its pseudonym.
    assert "KDH-2024-0042" not in case.subject.pseudonym
    assert not Subject.objects.filter(pseudonym="KDH-2024-0042").exists()


def test_a_dicom_file_goes_through_the_new_case_form_and_fills_the_age(
    client, site_a, contributor_a
):
    from tests.imagebank.ingest.dicom_samples import jpeg_dicom

    client.force_login(contributor_a)
    scan = SimpleUploadedFile(
        "scan.dcm", jpeg_dicom(PatientAge="041Y"), content_type="application/octet-stream"
    )
    response = client.post(
        reverse("imagebank:case-new"),
        {"site": site_a.pk, "local_patient_id": "P-D", "images": [scan], "file_step": ["other"]},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    image = Image.objects.get()
    assert (image.source_format, image.original_filename) == ("dicom", "scan.dcm")
    assert image.case.age_at_exam == 41


def test_without_javascript_one_step_applies_to_every_file(client, site_a, contributor_a):
    client.force_login(contributor_a)
    client.post(
        reverse("imagebank:case-new"),
        {
            "site": site_a.pk,
            "local_patient_id": "P-1",
            "images": [jpeg("a.jpg", seed=1), jpeg("b.jpg", seed=2)],
            "default_step": "green_filter",
        },
    )
    assert list(Image.objects.order_by("display_order").values_list("step", flat=True)) == [
        "green_filter",
        "green_filter",
    ]


def test_a_bad_file_is_named_and_nothing_is_created(client, site_a, contributor_a):
    client.force_login(contributor_a)
    fake = SimpleUploadedFile("colposcopy-3.jpg", b"this is a text file", content_type="image/jpeg")
    response = client.post(
        reverse("imagebank:case-new"),
        {
            "site": site_a.pk,
            "local_patient_id": "P-2",
            "images": [jpeg("good.jpg", seed=1), fake],
            "file_step": ["before_acetic_acid", "after_acetic_acid"],
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "colposcopy-3.jpg is not a readable image" in html
    assert "Nothing was saved" in html
    assert Case.objects.count() == 0
    assert Image.objects.count() == 0
    assert Subject.objects.count() == 0
    assert CaseEvent.objects.count() == 0


def test_service_errors_land_on_their_fields(client, site_a, contributor_a):
    client.force_login(contributor_a)
    response = client.post(
        reverse("imagebank:case-new"),
        {
            "site": site_a.pk,
            "local_patient_id": "P-3",
            "adequacy": "adequate",
            "inadequacy_reason": "bleeding",
        },
    )
    assert response.status_code == 400
    assert "A reason is given only for an inadequate examination." in response.content.decode()
    assert Case.objects.count() == 0


def test_people_without_a_site_cannot_open_new_case(client):
    reviewer = make_user_with_role(Role.REVIEWER)
    client.force_login(reviewer)
    assert client.get(reverse("imagebank:case-new")).status_code == 403


def test_edit_add_remove_work_on_a_draft(
    client, site_a, contributor_a, django_capture_on_commit_callbacks
):
    case = make_case(site_a, contributor_a)
    client.force_login(contributor_a)
    assert client.get(case_url(case, "edit")).status_code == 200
    response = client.post(case_url(case, "edit"), {"age_at_exam": "41", "reason": "typo"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.age_at_exam == 41
    assert case.events.filter(kind=CaseEvent.Kind.EDITED, reason="typo").exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            case_url(case, "add-images"),
            {"images": [jpeg("x.jpg", seed=5)], "file_step": ["green_filter"]},
        )
    assert response.status_code == 302
    image = case.images.get()
    assert image.step == "green_filter"
    response = client.post(reverse("imagebank:case-remove-image", args=[case.pk, image.pk]))
    assert response.status_code == 302
    assert not case.images.exists()


def test_submit_from_the_page_then_edit_is_refused(
    client, site_a, contributor_a, django_capture_on_commit_callbacks
):
    case = make_case(site_a, contributor_a, age_at_exam=30)
    add_core_images(case, contributor_a, seed=8)
    client.force_login(contributor_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(case_url(case, "submit"))
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state != CaseState.DRAFT

    assert client.get(case_url(case, "edit")).status_code == 403
    assert client.post(case_url(case, "edit"), {"age_at_exam": "55"}).status_code == 403
    response = client.post(case_url(case, "add-images"), {"images": [jpeg("late.jpg", seed=9)]})
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.age_at_exam == 30
    assert case.images.count() == 3
    page = client.get(case_url(case)).content.decode()
    assert case_url(case, "edit") not in page
    assert case_url(case, "submit") not in page


def test_images_still_processing_show_a_placeholder_and_are_polled(client, site_a, contributor_a):
    case = make_case(site_a, contributor_a)
    add_image(case, contributor_a)  # on_commit never runs here: the image stays pending
    client.force_login(contributor_a)
    html = client.get(case_url(case)).content.decode()
    assert "data-pending" in html
    assert case_url(case, "image-status") in html
    assert 'http-equiv="refresh"' in html
    status = client.get(case_url(case, "image-status")).json()
    assert [image["status"] for image in status["images"]] == ["pending"]


# --- reviewers and others ----------------------------------------------------------------------


def test_reviewer_dashboard_lists_cases_in_review(
    client, site_a, contributor_a, django_capture_on_commit_callbacks
):
    in_review = submitted_case(site_a, contributor_a, django_capture_on_commit_callbacks)
    assert in_review.state == CaseState.IN_REVIEW
    draft = make_case(site_a, contributor_a)
    reviewer = make_user_with_role(Role.REVIEWER)
    client.force_login(reviewer)
    response = client.get(reverse("portal:dashboard"))
    html = response.content.decode()
    assert response.context["reviewer"]["awaiting"] == 1
    assert case_url(in_review) in html
    assert case_url(draft) not in html
    assert "1 case awaiting review" in html
    assert "?state=in_review" in html  # the dashboard lists what is in review
    assert 'href="/review/"' in html  # and the navigation offers the reviewer's own queue
    assert reverse("imagebank:case-new") not in html  # and no "New case": not a contributor
    assert client.get(case_url(in_review)).status_code == 200
    assert client.get(case_url(draft)).status_code == 404


def test_researcher_dashboard_says_plainly_there_is_nothing_yet(client):
    client.force_login(make_user_with_role(Role.RESEARCHER))
    html = client.get(reverse("portal:dashboard")).content.decode()
    assert "No dataset has been released yet" in html
    assert reverse("imagebank:case-list") not in html


def test_error_pages_use_the_layout(client, contributor_a):
    client.force_login(contributor_a)
    response = client.get("/cases/999999/")
    assert response.status_code == 404
    assert "portal/css/site.css" in response.content.decode()


@pytest.mark.parametrize(
    "url", ["/accounts/email/", "/accounts/password/change/", "/accounts/2fa/"]
)
def test_account_pages_use_the_layout(client, contributor_a, url):
    client.force_login(contributor_a)
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "portal/css/site.css" in html
    assert 'class="manage"' in html
