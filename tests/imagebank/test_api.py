"""The REST API: who sees and changes what, input errors, the upload flow, and the schema."""

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient
from rest_framework.views import APIView

from imagebank.api.base import exception_handler
from imagebank.lifecycle import CaseState, IllegalTransition
from imagebank.models import Case, CaseEvent, Image, ProcessingStatus
from imagebank.services import cases as case_services
from tests.factories import (
    PASSWORD,
    add_core_images,
    add_image,
    jpeg_upload,
    make_case,
    make_contributor,
    make_site,
    make_user_with_role,
)
from tests.roles import Role

CASES = "/api/cases/"


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def case_url(case, suffix: str = "") -> str:
    return f"/api/cases/{case.pk}/{suffix}"


def submitted_case(site, actor, django_capture_on_commit_callbacks):
    """A complete case with a processed image of each core step, handed to review (quality
    checks not yet run)."""
    case = make_case(site=site, actor=actor)
    add_core_images(case, actor)
    return case_services.submit_case(case=case, actor=actor)


@pytest.fixture
def two_sites(django_capture_on_commit_callbacks):
    """Site A with its contributor, a draft and an image; site B likewise."""
    world = {}
    for name in ("a", "b"):
        site = make_site()
        user = make_contributor(site)
        case = make_case(site=site, actor=user)
        with django_capture_on_commit_callbacks(execute=True):
            image = add_image(case, user)
        world[name] = {"site": site, "user": user, "case": case, "image": image}
    return world


# --- anonymous ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_is_refused_everywhere(two_sites):
    case, image = two_sites["a"]["case"], two_sites["a"]["image"]
    client = client_for()
    requests = [
        ("get", "/api/"),
        ("get", "/api/sites/"),
        ("get", f"/api/sites/{case.site_id}/"),
        ("get", CASES),
        ("post", CASES),
        ("get", case_url(case)),
        ("patch", case_url(case)),
        ("put", case_url(case)),
        ("post", case_url(case, "submit/")),
        ("get", case_url(case, "images/")),
        ("post", case_url(case, "images/")),
        ("get", f"/api/images/{image.pk}/"),
        ("delete", f"/api/images/{image.pk}/"),
    ]
    for method, url in requests:
        response = getattr(client, method)(url)
        # Token authentication comes first, so the refusal says how to authenticate.
        assert response.status_code == 401, (method, url, response.status_code)
        assert response["WWW-Authenticate"] == "Token"
        assert "id" not in response.json(), (method, url)
    assert Image.objects.filter(pk=image.pk).exists()


# --- contributors are confined to their own site -----------------------------------------------


@pytest.mark.django_db
def test_contributor_sees_only_own_site(two_sites):
    own, other = two_sites["a"], two_sites["b"]
    client = client_for(own["user"])

    sites = client.get("/api/sites/").json()
    assert [site["id"] for site in sites["results"]] == [own["site"].pk]
    assert client.get(f"/api/sites/{other['site'].pk}/").status_code == 404

    listed = client.get(CASES).json()
    assert listed["count"] == 1
    assert [case["id"] for case in listed["results"]] == [own["case"].pk]
    # Filtering by the other site shows nothing rather than its cases.
    assert client.get(CASES, {"site": other["site"].pk}).json()["count"] == 0


@pytest.mark.django_db
def test_contributor_cannot_touch_another_sites_case_or_images(two_sites):
    own, other = two_sites["a"], two_sites["b"]
    client = client_for(own["user"])
    case, image = other["case"], other["image"]

    assert client.get(case_url(case)).status_code == 404
    assert client.patch(case_url(case), {"notes": "mine now"}, format="json").status_code == 404
    assert client.put(case_url(case), {"notes": "mine now"}, format="json").status_code == 404
    assert client.post(case_url(case, "submit/")).status_code == 404
    assert client.get(case_url(case, "images/")).status_code == 404
    upload = client.post(
        case_url(case, "images/"),
        {"file": jpeg_upload(seed=9), "step": "after_acetic_acid"},
        format="multipart",
    )
    assert upload.status_code == 404
    assert client.get(f"/api/images/{image.pk}/").status_code == 404
    assert client.delete(f"/api/images/{image.pk}/").status_code == 404

    case.refresh_from_db()
    assert case.notes == ""
    assert case.state == CaseState.DRAFT
    assert list(case.images.values_list("pk", flat=True)) == [image.pk]


@pytest.mark.django_db
def test_contributor_cannot_create_a_case_at_another_site(two_sites):
    client = client_for(two_sites["a"]["user"])
    before = Case.objects.count()
    response = client.post(
        CASES, {"site": two_sites["b"]["site"].pk, "local_patient_id": "X-1"}, format="json"
    )
    assert response.status_code == 400
    assert "site" in response.json()
    assert Case.objects.count() == before


# --- reviewers ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reviewer_sees_submitted_cases_but_not_drafts(
    two_sites, django_capture_on_commit_callbacks
):
    site, contributor = two_sites["a"]["site"], two_sites["a"]["user"]
    submitted = submitted_case(site, contributor, django_capture_on_commit_callbacks)
    draft = two_sites["a"]["case"]
    reviewer = make_user_with_role(Role.REVIEWER)
    client = client_for(reviewer)

    listed = client.get(CASES).json()
    assert [case["id"] for case in listed["results"]] == [submitted.pk]
    assert client.get(case_url(submitted)).status_code == 200
    assert client.get(case_url(draft)).status_code == 404
    assert client.get(case_url(draft, "images/")).status_code == 404
    assert client.get(f"/api/images/{two_sites['a']['image'].pk}/").status_code == 404

    images = client.get(case_url(submitted, "images/")).json()
    assert len(images) == 3
    assert client.get(f"/api/images/{images[0]['id']}/").status_code == 200

    # Seeing is not editing: the services refuse, with their message.
    response = client.patch(case_url(submitted), {"notes": "reviewed"}, format="json")
    assert response.status_code == 403
    assert "cannot be changed" in response.json()["detail"]
    upload = client.post(
        case_url(submitted, "images/"),
        {"file": jpeg_upload(seed=5), "step": "green_filter"},
        format="multipart",
    )
    assert upload.status_code == 403
    assert submitted.images.count() == 3


# --- tokens ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_token_for_email_and_password_authenticates_api_calls(two_sites):
    user = two_sites["a"]["user"]
    client = APIClient()
    response = client.post(
        "/api/auth/token/", {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]

    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    listed = client.get(CASES)
    assert listed.status_code == 200
    assert [case["id"] for case in listed.json()["results"]] == [two_sites["a"]["case"].pk]
    # The token's life cycle (one new token a request, expiry, revocation): test_tokens.py.


@pytest.mark.django_db
def test_token_refused_for_a_wrong_password_or_a_bad_token(two_sites):
    user = two_sites["a"]["user"]
    response = APIClient().post(
        "/api/auth/token/", {"email": user.email, "password": "wrong"}, format="json"
    )
    assert response.status_code == 400
    assert "token" not in response.json()

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert client.get(CASES).status_code == 401


# --- editing -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_patch_amends_and_put_replaces_a_draft(two_sites):
    user, case = two_sites["a"]["user"], two_sites["a"]["case"]
    client = client_for(user)

    response = client.patch(
        case_url(case),
        {"hpv_result": "hpv16_18_positive", "normal_findings": ["squamous_mature"]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["hpv_result"] == "hpv16_18_positive"
    response = client.patch(case_url(case), {"age_at_exam": 41}, format="json")
    assert response.json()["hpv_result"] == "hpv16_18_positive"  # PATCH leaves the rest alone
    case.refresh_from_db()
    assert (case.age_at_exam, case.hpv_result) == (41, "hpv16_18_positive")
    assert case.events.filter(kind=CaseEvent.Kind.EDITED).count() == 2

    response = client.put(case_url(case), {"notes": "replaced"}, format="json")
    assert response.status_code == 200, response.json()
    case.refresh_from_db()
    assert (case.notes, case.hpv_result, case.age_at_exam) == ("replaced", "", None)
    assert case.normal_findings == []


@pytest.mark.django_db
def test_update_refused_once_submitted(two_sites, django_capture_on_commit_callbacks):
    site, user = two_sites["a"]["site"], two_sites["a"]["user"]
    case = submitted_case(site, user, django_capture_on_commit_callbacks)
    client = client_for(user)
    response = client.patch(case_url(case), {"notes": "too late"}, format="json")
    assert response.status_code == 403
    assert "cannot be changed" in response.json()["detail"]
    case.refresh_from_db()
    assert case.notes == ""
    # Submitting twice is a transition the state does not allow: 409 (docs/api.md), and the
    # state does not move.
    again = client.post(case_url(case, "submit/"))
    assert again.status_code == 409
    assert "cannot go from" in again.json()["detail"]
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED


@pytest.mark.django_db
def test_unknown_vocabulary_code_is_a_400_naming_the_field(two_sites):
    user, site, case = two_sites["a"]["user"], two_sites["a"]["site"], two_sites["a"]["case"]
    client = client_for(user)

    response = client.post(
        CASES,
        {"site": site.pk, "local_patient_id": "R-77", "cytology": "not-a-bethesda-code"},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["cytology"]

    response = client.patch(
        case_url(case), {"grade_2_findings": ["coarse_mosaic", "purple_spots"]}, format="json"
    )
    assert response.status_code == 400
    assert "grade_2_findings" in response.json()
    case.refresh_from_db()
    assert case.grade_2_findings == []


@pytest.mark.django_db
def test_fields_the_client_may_not_set_are_refused(two_sites):
    user, case = two_sites["a"]["user"], two_sites["a"]["case"]
    response = client_for(user).patch(case_url(case), {"state": "accepted"}, format="json")
    assert response.status_code == 400
    assert "state" in response.json()
    case.refresh_from_db()
    assert case.state == CaseState.DRAFT


@pytest.mark.django_db
def test_service_errors_keep_their_field(two_sites):
    """A rule only the service knows (the Swede total against its parts) still names its field."""
    user, case = two_sites["a"]["user"], two_sites["a"]["case"]
    response = client_for(user).patch(
        case_url(case), {"adequacy": "adequate", "inadequacy_reason": "bleeding"}, format="json"
    )
    assert response.status_code == 400
    assert "inadequacy_reason" in response.json()


@pytest.mark.django_db
def test_submit_without_images_is_a_400(two_sites):
    user, site = two_sites["a"]["user"], two_sites["a"]["site"]
    empty = make_case(site=site, actor=user)
    response = client_for(user).post(case_url(empty, "submit/"))
    assert response.status_code == 400
    assert "image" in json.dumps(response.json())
    empty.refresh_from_db()
    assert empty.state == CaseState.DRAFT


def test_exception_handler_maps_service_exceptions():
    conflict = exception_handler(IllegalTransition(CaseState.ACCEPTED, CaseState.DRAFT), {})
    assert conflict.status_code == 409
    invalid = exception_handler(ValidationError({"exam_year": ["Too early."]}), {})
    assert invalid.status_code == 400
    assert invalid.data == {"exam_year": ["Too early."]}
    plain = exception_handler(ValidationError("Add an image."), {})
    assert plain.status_code == 400
    assert plain.data == {"non_field_errors": ["Add an image."]}


# --- listing -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_filters_by_state_and_site(two_sites, django_capture_on_commit_callbacks):
    site, user = two_sites["a"]["site"], two_sites["a"]["user"]
    submitted = submitted_case(site, user, django_capture_on_commit_callbacks)
    client = client_for(user)
    drafts = client.get(CASES, {"state": "draft", "site": site.pk}).json()["results"]
    assert [case["id"] for case in drafts] == [two_sites["a"]["case"].pk]
    sent = client.get(CASES, {"state": "submitted"}).json()["results"]
    assert [case["id"] for case in sent] == [submitted.pk]
    assert sent[0]["image_count"] == 3
    assert client.get(CASES, {"state": "lost"}).status_code == 400
    assert client.get(CASES, {"site": "abc"}).status_code == 400


# --- images ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_non_image_upload_is_a_400_naming_the_file(two_sites):
    user, case = two_sites["a"]["user"], two_sites["a"]["case"]
    upload = SimpleUploadedFile("referral-letter.pdf", b"%PDF-1.4 not an image", "image/jpeg")
    response = client_for(user).post(
        case_url(case, "images/"), {"file": upload, "step": "after_lugol"}, format="multipart"
    )
    assert response.status_code == 400
    assert "referral-letter.pdf" in " ".join(response.json()["file"])
    assert case.images.count() == 1


@pytest.mark.django_db
def test_unknown_step_is_a_400_naming_the_field(two_sites):
    user, case = two_sites["a"]["user"], two_sites["a"]["case"]
    response = client_for(user).post(
        case_url(case, "images/"),
        {"file": jpeg_upload(seed=3), "step": "schiller"},
        format="multipart",
    )
    assert response.status_code == 400
    assert "step" in response.json()


@pytest.mark.django_db
def test_create_upload_process_and_fetch_preview(local_storage, django_capture_on_commit_callbacks):
    # A VIA site without Lugol's iodine: images before and after acetic acid are enough.
    site = make_site(
        submission_requirements=[
            "adequacy",
            "transformation_zone_or_via_result",
            "acetic_acid_steps",
        ]
    )
    user = make_contributor(site)
    client = client_for(user)

    created = client.post(
        CASES,
        {
            "site": site.pk,
            "local_patient_id": "REG 2024/118",
            "age_at_exam": 35,
            "adequacy": "adequate",
            "via_result": "negative",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    case = created.json()
    assert case["state"] == "draft"
    assert case["image_count"] == 0
    assert case["images"].endswith(f"/api/cases/{case['id']}/images/")

    with django_capture_on_commit_callbacks(execute=True):
        uploaded = client.post(
            case["images"],
            {
                "file": jpeg_upload("after_acetic_acid", seed=11, name="IMG_0042.JPG"),
                "step": "after_acetic_acid",
                "display_order": 2,
                "step_original_wording": "After application of acetic acid",
            },
            format="multipart",
        )
        assert uploaded.status_code == 201, uploaded.json()
        pending = uploaded.json()
        assert pending["processing_status"] == ProcessingStatus.PENDING
        assert pending["preview_url"] is None
        assert pending["thumbnail_url"] is None
        # A second image placed before the first.
        second = client.post(
            case["images"],
            {"file": jpeg_upload("before_acetic_acid", seed=12), "step": "before_acetic_acid"},
            format="multipart",
        )
        assert second.status_code == 201, second.json()
        assert second.json()["display_order"] == 3

    image = client.get(f"/api/images/{pending['id']}/").json()
    assert image["processing_status"] == ProcessingStatus.DONE
    assert (image["width"], image["height"]) == (640, 480)
    assert image["step"] == "after_acetic_acid"
    assert image["source_format"] == "jpeg"
    assert len(image["sha256"]) == 64
    assert image["preview_url"].endswith(f"/files/images/{image['id']}/preview/")

    preview = client.get(image["preview_url"])
    assert preview.status_code == 200
    assert preview["Content-Type"] == "image/jpeg"
    assert b"".join(preview.streaming_content).startswith(b"\xff\xd8\xff")

    listed = client.get(case["images"]).json()
    assert [item["display_order"] for item in listed] == [2, 3]
    assert client.get(f"/api/cases/{case['id']}/").json()["image_count"] == 2

    submitted = client.post(f"/api/cases/{case['id']}/submit/")
    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["state"] == "submitted"
    assert submitted.json()["submitted_at"]


@pytest.mark.django_db
def test_contributor_removes_an_image_from_a_draft(two_sites):
    user, image = two_sites["a"]["user"], two_sites["a"]["image"]
    response = client_for(user).delete(f"/api/images/{image.pk}/")
    assert response.status_code == 204
    assert not Image.objects.filter(pk=image.pk).exists()
    assert image.case.events.filter(kind=CaseEvent.Kind.IMAGE_REMOVED).exists()


# --- privacy -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_local_patient_id_is_never_returned_nor_stored():
    site = make_site()
    user = make_contributor(site)
    client = client_for(user)
    # Letters past "f": a needle that cannot turn up by chance in a hash or a timestamp.
    secret = "Mwangi-HOSP-QXZ"
    created = client.post(CASES, {"site": site.pk, "local_patient_id": secret}, format="json")
    assert created.status_code == 201
    case_id = created.json()["id"]
    responses = [
        created,
        client.get(CASES),
        client.get(f"/api/cases/{case_id}/"),
        client.patch(f"/api/cases/{case_id}/", {"notes": "n"}, format="json"),
        client.put(f"/api/cases/{case_id}/", {"notes": "m"}, format="json"),
    ]
    for response in responses:
        text = response.content.decode().lower()
        assert "local_patient_id" not in text
        assert "qxz" not in text
        assert "mwangi" not in text

    needles = ("qxz", "mwangi")
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                text = " ".join(str(value) for value in row).lower()
                assert not any(needle in text for needle in needles), (table, row)


# --- structure ---------------------------------------------------------------------------------


def _walk(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback


def test_every_api_view_names_its_permission_classes():
    excluded = {reverse("api-schema"), reverse("api-docs")}
    checked = []
    for route, callback in _walk(get_resolver().url_patterns):
        view_class = getattr(callback, "cls", None)
        if not route.startswith("api/") or view_class is None:
            continue
        if "/" + route in excluded:
            continue
        assert issubclass(view_class, APIView)
        assert "permission_classes" in view_class.__dict__, view_class
        checked.append(view_class.__name__)
    assert {"CaseViewSet", "ImageViewSet", "SiteViewSet", "ObtainTokenView"} <= set(checked)


@pytest.mark.django_db
def test_openapi_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yml"
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(target), stdout=io.StringIO()
    )
    schema = target.read_text()
    assert "/api/cases/{id}/images/:" in schema
    assert "local_patient_id" in schema  # documented as write-only input
