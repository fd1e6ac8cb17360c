"""The release pages and API (curation.views.release_catalogue, curation.views.release_admin,
curation.api.releases): the public catalogue shows published versions only and metadata only
(never an image, a case, or a test image's sequestered label), the curators' pages are theirs
alone, the definition form creates a draft and puts errors on their fields, and the Preview, Build
and Publish buttons act through the services."""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from curation.models import (
    Release,
    ReleaseBlob,
    ReleaseFile,
    ReleaseImage,
    ReleaseState,
    ReleaseVersion,
    SequesteredLabel,
)
from imagebank import storage
from tests.factories import UserFactory, make_user_with_role
from tests.roles import Role
from tests.totp import with_totp

pytestmark = pytest.mark.django_db

# Values that exist only in per-image rows: none may reach a public page or API answer.
TEST_IMAGE_ID = "i-5e9e5e9e5e9e5e9e"
TEST_CASE_CODE = "c-7e57c0de7e57c0de"
SEQUESTERED_VALUE = "sequestered-type-x"
TRAIN_IMAGE_ID = "i-7a1a7a1a7a1a7a1a"
TRAIN_CASE_CODE = "c-7a1ac0de7a1ac0de"
DATASHEET = "# Datasheet for cervix-bank 1.0.0\n\n## Motivation\n\n<script>alert(1)</script>\n"
STATS = {
    "splits": {
        "train": {"cases": 3, "subjects": 3, "images": 9},
        "validation": {"cases": 1, "subjects": 1, "images": 3},
        "test": {"cases": 1, "subjects": 1, "images": 3},
    },
    "labels": {
        "tz_type": {
            "train": {"type_1": 2, "missing": 1},
            "validation": {"type_1": 1},
            "test": {"type_2": 1},
        }
    },
    "sites": {"kisumu": {"train": 3, "validation": 1, "test": 1}},
    "steps": {"after_acetic_acid": {"train": 3, "validation": 1, "test": 1}},
    "changelog": [{"kind": "added", "count": 5, "why": "first version"}],
}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def curator():
    user = make_user_with_role(Role.CURATOR)
    with_totp(user)
    return user


def html(response) -> str:
    return response.content.decode()


def make_version(state=ReleaseState.BUILT, version="1.0.0", slug="cervix-bank", **fields):
    user = UserFactory()
    release, _ = Release.objects.get_or_create(
        slug=slug, defaults={"title": "Cervix bank", "created_by": user}
    )
    values = {
        "description": "Accepted examinations of three clinics.",
        "licence_name": "CC BY-NC 4.0",
        "licence_url": "https://creativecommons.org/licenses/by-nc/4.0/",
        "citation": "The Cervical Image Bank, 2026.",
        "label_names": ["tz_type"],
        "fractions": [0.7, 0.1, 0.2],
        "seed": 7,
        "near_radius": 6,
        "stats": STATS,
        "image_count": 15,
        "total_bytes": 2_500_000,
        **fields,
    }
    return ReleaseVersion.objects.create(
        release=release, version=version, state=state, created_by=user, **values
    )


def _blob(data: bytes, extension: str) -> ReleaseBlob:
    stored = storage.store_bytes(data, extension, "releases")
    blob, _ = ReleaseBlob.objects.get_or_create(
        sha256=stored.sha256, defaults={"bytes": stored.byte_size, "storage_key": stored.key}
    )
    return blob


def fill(version) -> None:
    """A train image with its label, a test image whose label is sequestered, and the
    datasheet, all stored for real (publish checks that every file exists)."""
    image = _blob(b"not really a jpeg", "bin")
    for image_id, case_code, split, labels in (
        (TRAIN_IMAGE_ID, TRAIN_CASE_CODE, "train", {"tz_type": "type_1"}),
        (TEST_IMAGE_ID, TEST_CASE_CODE, "test", {}),
    ):
        ReleaseImage.objects.create(
            version=version, image_id=image_id, path=f"images/{split}/{case_code}/a-1.jpg",
            blob=image, sha256=image.sha256, bytes=image.bytes, case_code=case_code,
            subject_code="s-1", site="kisumu", step="after_acetic_acid", order=1, split=split,
            labels=labels, source_image_id=1, source_case_id=1,
        )  # fmt: skip
    SequesteredLabel.objects.create(
        version=version,
        image_id=TEST_IMAGE_ID,
        case_code=TEST_CASE_CODE,
        label="tz_type",
        value=SEQUESTERED_VALUE,
    )
    sheet = _blob(DATASHEET.encode(), "md")
    ReleaseFile.objects.create(
        version=version, path="datasheet.md", blob=sheet, sha256=sheet.sha256,
        bytes=sheet.bytes, encoding="text/markdown",
    )  # fmt: skip


def published(version="1.0.0", **fields) -> ReleaseVersion:
    found = make_version(version=version, **fields)
    fill(found)
    ReleaseVersion.objects.filter(pk=found.pk).update(
        state=ReleaseState.PUBLISHED, published_at=timezone.now()
    )
    found.refresh_from_db()
    return found


def public_urls(version: ReleaseVersion) -> list[str]:
    args = [version.release.slug, version.version]
    return [
        reverse("curation:release-version", args=args),
        reverse("curation:release-datasheet", args=args),
        reverse("curation:release-datasheet-md", args=args),
        f"/api/releases/{args[0]}/{args[1]}/",
    ]


# --- the public catalogue -----------------------------------------------------------------------


def test_the_urls():
    assert reverse("curation:release-catalogue") == "/releases/"
    assert reverse("curation:release-version", args=["cb", "1.0.0"]) == "/releases/cb/1.0.0/"
    assert reverse("curation:release-datasheet", args=["cb", "1.0.0"]) == (
        "/releases/cb/1.0.0/datasheet/"
    )
    assert reverse("curation:release-admin") == "/curation/releases/"
    assert reverse("curation:release-define", args=["cb"]) == "/curation/releases/cb/new/"
    assert reverse("curation:release-manage", args=["cb", "1.0.0"]) == (
        "/curation/releases/cb/1.0.0/"
    )


def test_anonymous_visitors_see_published_versions_only():
    public = published()
    draft = make_version(version="1.1.0")
    fill(draft)
    make_version(version="2.0.0", state=ReleaseState.DRAFT)
    page = Client().get("/releases/")
    assert page.status_code == 200
    text = html(page)
    assert 'href="/releases/cervix-bank/1.0.0/"' in text
    assert "1.1.0" not in text and "2.0.0" not in text
    for url in public_urls(public):
        assert Client().get(url).status_code == 200, url
    for url in public_urls(draft):
        assert Client().get(url).status_code == 404, url
    assert Client().get("/releases/cervix-bank/9.9.9/").status_code == 404
    assert Client().get("/api/releases/nothing/1.0.0/").status_code == 404
    listed = Client().get("/api/releases/").json()
    assert [row["version"] for row in listed["results"]] == ["1.0.0"]


def test_the_version_page_shows_the_counts_citation_licence_and_files():
    version = published()
    published(version="1.1.0")
    text = html(Client().get(reverse("curation:release-version", args=["cervix-bank", "1.0.0"])))
    assert "Accepted examinations of three clinics." in text
    splits = re.search(r"<table data-release-splits>.*?</table>", text, re.S).group(0)
    assert re.search(
        r'data-split="train">\s*<th scope="row">[^<]+</th>\s*<td class="num">3', splits
    )
    label = re.search(r'<table data-release-label="tz_type">.*?</table>', text, re.S).group(0)
    assert "type_2" in label and "<caption>" in label and 'scope="col"' in label
    assert "kisumu" in text
    assert "first version" in text
    assert 'href="https://creativecommons.org/licenses/by-nc/4.0/"' in text
    assert "@misc{" in text and 'id="bibtex"' in text and "release_copy.js" in text
    sheet = version.files.get(path="datasheet.md")
    assert sheet.sha256 in text
    assert 'href="/releases/cervix-bank/1.1.0/"' in text  # the other version


def test_no_image_case_or_sequestered_label_reaches_a_public_page_or_the_api():
    version = published()
    answers = [Client().get(url) for url in ["/releases/", "/api/releases/", *public_urls(version)]]
    assert all(answer.status_code == 200 for answer in answers)
    for answer in answers:
        body = answer.content.decode()
        for secret in (
            SEQUESTERED_VALUE,
            TEST_IMAGE_ID,
            TEST_CASE_CODE,
            TRAIN_IMAGE_ID,
            TRAIN_CASE_CODE,
        ):
            assert secret not in body, (answer.request["PATH_INFO"], secret)


def test_the_datasheet_is_shown_escaped_and_downloaded_as_markdown():
    published()
    page = Client().get("/releases/cervix-bank/1.0.0/datasheet/")
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html(page)
    assert "<script>alert(1)" not in html(page)
    assert 'href="/releases/cervix-bank/1.0.0/datasheet.md"' in html(page)
    download = Client().get("/releases/cervix-bank/1.0.0/datasheet.md")
    assert download["Content-Type"].startswith("text/markdown")
    assert download.content.decode() == DATASHEET


def test_the_catalogue_is_in_everyones_navigation():
    from portal.context_processors import navigation

    class Anonymous:
        is_authenticated = False

    class Request:
        user = Anonymous()

    assert navigation(Request())["nav"]["releases"] is True
    Request.user = UserFactory()
    assert navigation(Request())["nav"]["releases"] is True


# --- the public API -----------------------------------------------------------------------------


def test_the_api_lists_and_describes_published_versions():
    published()
    listed = Client().get("/api/releases/")
    assert listed.status_code == 200
    (row,) = listed.json()["results"]
    assert row == {
        "slug": "cervix-bank",
        "title": "Cervix bank",
        "version": "1.0.0",
        "published_at": row["published_at"],
        "images": 15,
        "bytes": 2_500_000,
        "licence": "CC BY-NC 4.0",
        "url": "http://testserver/releases/cervix-bank/1.0.0/",
    }
    detail = Client().get("/api/releases/cervix-bank/1.0.0/").json()
    assert set(detail) == {
        "slug", "title", "version", "description", "published_at", "licence", "citation",
        "bibtex", "images", "bytes", "labels", "splits", "label_distribution", "sites", "steps",
        "changelog", "changelog_note", "files",
    }  # fmt: skip
    assert detail["licence"]["name"] == "CC BY-NC 4.0"
    assert detail["splits"]["test"] == {"cases": 1, "subjects": 1, "images": 3}
    assert detail["label_distribution"]["tz_type"]["test"] == {"type_2": 1}
    assert detail["changelog"] == [{"kind": "added", "count": 5, "why": "first version"}]
    assert [f["path"] for f in detail["files"]] == ["datasheet.md"]
    assert detail["labels"][0]["name"] == "tz_type"
    json.dumps(detail)


# --- the curators' pages ------------------------------------------------------------------------


def curator_urls(version: ReleaseVersion) -> tuple[list[str], list[str]]:
    args = [version.release.slug, version.version]
    pages = [
        reverse("curation:release-admin"),
        reverse("curation:release-define", args=args[:1]),
        reverse("curation:release-manage", args=args),
    ]
    posts = [
        reverse(f"curation:release-{action}", args=args)
        for action in ("preview", "build", "publish")
    ]
    return pages, posts


def test_the_curator_pages_refuse_reviewers_and_send_anonymous_visitors_to_sign_in():
    version = make_version()
    pages, posts = curator_urls(version)
    reviewer = signed_in(make_user_with_role(Role.REVIEWER))
    for url in pages:
        assert reviewer.get(url).status_code == 403, url
        answer = Client().get(url)
        assert answer.status_code == 302 and "/accounts/login/" in answer["Location"], url
    for url in posts:
        assert reviewer.post(url, {"confirm": "yes"}).status_code == 403, url
        assert Client().post(url).status_code == 302, url
    assert reviewer.post(pages[0], {"slug": "x", "title": "X"}).status_code == 403
    version.refresh_from_db()
    assert version.state == ReleaseState.BUILT
    assert Release.objects.count() == 1


def test_a_curator_sees_every_version_with_its_state_and_build_error():
    make_version(state=ReleaseState.FAILED, build_error="The selection takes nothing.")
    make_version(version="1.1.0", state=ReleaseState.DRAFT)
    text = html(signed_in(curator()).get("/curation/releases/"))
    assert 'data-state="failed"' in text and 'data-state="draft"' in text
    assert "The selection takes nothing." in text


def test_a_curator_creates_a_release():
    client = signed_in(curator())
    answer = client.post("/curation/releases/", {"slug": "new-bank", "title": "New bank"})
    assert answer.status_code == 302
    assert answer["Location"] == "/curation/releases/new-bank/new/"
    assert Release.objects.get(slug="new-bank").title == "New bank"
    refused = client.post("/curation/releases/", {"slug": "new-bank", "title": "Again"})
    assert refused.status_code == 400 and "errorlist" in html(refused)


def definition(**changes) -> dict:
    data = {
        "version": "1.0.0",
        "description": "The first release.",
        "licence_name": "CC BY 4.0",
        "licence_url": "https://creativecommons.org/licenses/by/4.0/",
        "citation": "The bank, 2026.",
        "changelog_note": "",
        "steps": ["after_acetic_acid"],
        "label_names": ["tz_type", "via_result"],
        "stratify_by": ["tz_type"],
        "stratify_by_site": "on",
        "fraction_train": "0.6",
        "fraction_validation": "0.2",
        "fraction_test": "0.2",
        "seed": "42",
    }
    data.update(changes)
    return data


def test_the_definition_form_creates_a_draft():
    user = curator()
    Release.objects.create(slug="cb", title="CB", created_by=user)
    client = signed_in(user)
    form = client.get("/curation/releases/cb/new/")
    assert form.status_code == 200
    assert 'name="exclude_failed_checks"' in html(form) and 'value="after_lugol"' in html(form)
    answer = client.post("/curation/releases/cb/new/", definition(submitted_from="2025-01-01"))
    assert answer.status_code == 302
    assert answer["Location"] == "/curation/releases/cb/1.0.0/"
    version = ReleaseVersion.objects.get(release__slug="cb")
    assert version.state == ReleaseState.DRAFT
    assert version.fractions == [0.6, 0.2, 0.2]
    assert version.seed == 42
    assert version.label_names == ["tz_type", "via_result"]
    assert version.stratify_by == ["tz_type"]
    assert version.selection == {"steps": ["after_acetic_acid"], "submitted_from": "2025-01-01"}


def _errors_of(text: str, field: str) -> str:
    """The error list after the field's input (templates/_field.html)."""
    found = re.search(rf'name="{field}".*?(<ul class="errorlist".*?</ul>)', text, re.S)
    return found.group(1) if found else ""


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"version": "1.0"}, "version", "semantic version"),
        ({"fraction_train": "0.7"}, "fraction_train", "add up to 1"),
    ],
)
def test_the_definition_form_shows_errors_on_their_fields(changes, field, words):
    user = curator()
    Release.objects.create(slug="cb", title="CB", created_by=user)
    answer = signed_in(user).post("/curation/releases/cb/new/", definition(**changes))
    assert answer.status_code == 400
    assert words in _errors_of(html(answer), field)
    assert not ReleaseVersion.objects.exists()


def test_a_version_that_exists_is_refused_on_the_version_field():
    user = curator()
    make_version()
    answer = signed_in(user).post("/curation/releases/cervix-bank/new/", definition())
    assert answer.status_code == 400
    assert "already has a version" in _errors_of(html(answer), "version")


def test_preview_shows_the_counts_and_writes_nothing():
    version = make_version(state=ReleaseState.DRAFT, stats={}, image_count=0)
    client = signed_in(curator())
    answer = client.post("/curation/releases/cervix-bank/1.0.0/preview/")
    assert (
        answer.status_code == 302 and answer["Location"] == "/curation/releases/cervix-bank/1.0.0/"
    )
    page = html(client.get(answer["Location"]))
    assert "data-preview" in page and "<table data-preview-splits>" in page
    version.refresh_from_db()
    assert version.state == ReleaseState.DRAFT
    # Shown once: the next visit does not repeat an old preview.
    assert "data-preview-splits" not in html(client.get(answer["Location"]))


def test_build_queues_the_version_and_a_build_that_takes_nothing_fails_with_its_reason(
    django_capture_on_commit_callbacks,
):
    version = make_version(state=ReleaseState.DRAFT, stats={}, image_count=0)
    client = signed_in(curator())
    with django_capture_on_commit_callbacks(execute=False):
        answer = client.post("/curation/releases/cervix-bank/1.0.0/build/")
    assert answer.status_code == 302
    version.refresh_from_db()
    assert version.state == ReleaseState.QUEUED
    ReleaseVersion.objects.filter(pk=version.pk).update(state=ReleaseState.DRAFT)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/curation/releases/cervix-bank/1.0.0/build/")
    version.refresh_from_db()
    assert version.state == ReleaseState.FAILED
    page = html(client.get("/curation/releases/cervix-bank/1.0.0/"))
    assert "data-build-error" in page and version.build_error in page


def test_publish_needs_the_confirmation_then_puts_the_version_in_the_catalogue():
    version = make_version()
    fill(version)
    client = signed_in(curator())
    assert 'name="confirm"' in html(client.get("/curation/releases/cervix-bank/1.0.0/"))
    client.post("/curation/releases/cervix-bank/1.0.0/publish/")
    version.refresh_from_db()
    assert version.state == ReleaseState.BUILT
    assert Client().get("/releases/cervix-bank/1.0.0/").status_code == 404
    answer = client.post("/curation/releases/cervix-bank/1.0.0/publish/", {"confirm": "yes"})
    assert answer.status_code == 302
    version.refresh_from_db()
    assert version.state == ReleaseState.PUBLISHED
    assert Client().get("/releases/cervix-bank/1.0.0/").status_code == 200
    page = html(client.get("/curation/releases/cervix-bank/1.0.0/"))
    assert "data-publish" not in page and "<table data-release-splits>" in page
    # Publishing again is refused with the service's message, and changes nothing.
    client.post("/curation/releases/cervix-bank/1.0.0/publish/", {"confirm": "yes"})
    messages = [str(m) for m in client.get("/curation/releases/").context["messages"]]
    assert any("Only a built version" in m for m in messages)
