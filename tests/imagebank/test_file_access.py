"""The permission-checked file views: who gets which bytes, with which headers, and the log."""

import logging

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from imagebank import storage
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
from tests.tokens import token_for

# Local files: these tests look at the private folder or at responses streamed from it;
# tests/services covers the S3 server.
pytestmark = pytest.mark.usefixtures("local_storage")

VARIANTS = ("original", "preview", "thumbnail")


def file_url(image, variant: str = "original") -> str:
    return reverse("imagebank:image-file", args=[image.pk, variant])


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def processed(django_capture_on_commit_callbacks):
    """A contributor's draft case with one processed image."""
    site = make_site()
    user = make_contributor(site)
    case = make_case(site=site, actor=user)
    with django_capture_on_commit_callbacks(execute=True):
        image = add_image(case, user, step="after_lugol", seed=4)
    image.refresh_from_db()
    assert image.preview and image.thumbnail
    return {"site": site, "user": user, "case": case, "image": image}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_contributor_streams_every_variant_with_private_headers(processed):
    image = processed["image"]
    client = signed_in(processed["user"])

    original = client.get(file_url(image, "original"))
    assert original.status_code == 200
    assert body(original) == storage.read_bytes(image.file.name)
    for variant in VARIANTS:
        response = client.get(file_url(image, variant))
        assert response.status_code == 200, variant
        assert response["Content-Type"] == "image/jpeg"
        assert response["Content-Disposition"].startswith("inline")
        # The contributor's own file name never leaks into the download name.
        assert image.original_filename not in response["Content-Disposition"]
        assert response["Cache-Control"] == "no-store"  # imagebank.http_headers
        assert response["X-Content-Type-Options"] == "nosniff"
        assert body(response).startswith(b"\xff\xd8\xff")


@pytest.mark.django_db
def test_other_sites_contributor_gets_404_for_every_variant(processed):
    outsider = make_contributor(make_site())
    client = signed_in(outsider)
    for variant in VARIANTS:
        assert client.get(file_url(processed["image"], variant)).status_code == 404


@pytest.mark.django_db
def test_anonymous_is_sent_to_the_login_page(processed):
    url = file_url(processed["image"])
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse(settings.LOGIN_URL))
    assert "next=" in response["Location"]


@pytest.mark.django_db
def test_reviewer_fetches_submitted_cases_files_only(processed, django_capture_on_commit_callbacks):
    reviewer = signed_in(make_user_with_role(Role.REVIEWER))
    assert reviewer.get(file_url(processed["image"])).status_code == 404  # still a draft

    # The rest of what the site requires before the case can be submitted.
    add_core_images(
        processed["case"], processed["user"], steps=("before_acetic_acid", "after_acetic_acid")
    )
    case_services.submit_case(case=processed["case"], actor=processed["user"])
    assert reviewer.get(file_url(processed["image"])).status_code == 200


@pytest.mark.django_db
def test_unknown_variant_and_unprocessed_preview_are_404(processed):
    client = signed_in(processed["user"])
    assert client.get(file_url(processed["image"], "full")).status_code == 404

    pending = add_image(processed["case"], processed["user"], step="green_filter", seed=8)
    assert client.get(file_url(pending, "preview")).status_code == 404
    assert client.get(file_url(pending, "original")).status_code == 200


@pytest.mark.django_db
def test_only_get_and_head(processed):
    client = signed_in(processed["user"])
    assert client.head(file_url(processed["image"])).status_code == 200
    assert client.post(file_url(processed["image"])).status_code == 405


@pytest.mark.django_db
def test_every_access_is_logged(processed, caplog):
    user, image = processed["user"], processed["image"]
    with caplog.at_level(logging.INFO, logger="imagebank.file_access"):
        signed_in(user).get(file_url(image, "thumbnail"))
        signed_in(make_contributor(make_site())).get(file_url(image, "original"))
    records = [record for record in caplog.records if record.name == "imagebank.file_access"]
    # The refused request is not an access: only the contributor's fetch is logged.
    assert len(records) == 1
    assert (records[0].user_id, records[0].image_id, records[0].variant) == (
        user.pk,
        image.pk,
        "thumbnail",
    )
    assert f"user={user.pk}" in records[0].getMessage()


@pytest.mark.django_db
def test_api_token_works_on_file_views(processed):
    token = token_for(processed["user"])
    response = Client().get(
        file_url(processed["image"], "preview"), HTTP_AUTHORIZATION=f"Token {token}"
    )
    assert response.status_code == 200
    assert body(response).startswith(b"\xff\xd8\xff")

    other = token_for(make_contributor(make_site()))
    response = Client().get(file_url(processed["image"]), HTTP_AUTHORIZATION=f"Token {other}")
    assert response.status_code == 404
    bad = Client().get(file_url(processed["image"]), HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert bad.status_code == 401


class _FakeObjectStorage:
    """Stands in for S3Storage: signs URLs the way django-storages is asked to."""

    def url(self, key: str, expire: int | None = None) -> str:
        return f"https://objects.example/bank/{key}?X-Amz-Expires={expire}&X-Amz-Signature=abc"


@pytest.mark.django_db
def test_object_storage_redirects_to_a_short_lived_signed_url(processed, settings, monkeypatch):
    settings.USE_S3 = True
    settings.SIGNED_URL_SECONDS = 60
    monkeypatch.setattr(storage, "default_storage", _FakeObjectStorage())
    image = processed["image"]

    response = signed_in(processed["user"]).get(file_url(image, "preview"))
    assert response.status_code == 302
    assert response["Location"] == (
        f"https://objects.example/bank/{image.preview.name}?X-Amz-Expires=60&X-Amz-Signature=abc"
    )
    assert "no-store" in response["Cache-Control"]

    outsider = signed_in(make_contributor(make_site()))
    assert outsider.get(file_url(image, "preview")).status_code == 404
