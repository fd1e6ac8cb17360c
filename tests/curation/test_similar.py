"""`manage.py similar`, `manage.py index_fingerprints` and `POST /api/images/similar/`: files
looked up without being stored, exact and near matches in the shape the issue gives, errors named;
and, on the real IARC images when present, copies found and different images of a case not."""

import io
import json
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import Image as PILImage
from PIL import ImageDraw
from rest_framework.test import APIClient

from curation import fingerprints
from curation.checks.defaults import DEFAULTS
from curation.models import ImageFingerprint
from fixtures.synthetic_cervix import render_jpeg
from imagebank.models import Image
from imagebank.services import images as image_services
from tests.conftest import SHARED_DATA, require_service
from tests.factories import make_case, make_contributor, make_site, make_user_with_role
from tests.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]

RADIUS = int(DEFAULTS["duplicate"]["near_radius"])
URL = "/api/images/similar/"


def _jpeg(picture: PILImage.Image, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _marked_copy(data: bytes) -> bytes:
    picture = PILImage.open(io.BytesIO(data)).convert("RGB")
    width, height = picture.size
    ImageDraw.Draw(picture).line(
        [(width * 0.1, height * 0.1), (width * 0.4, height * 0.3)], fill=(0, 255, 0), width=3
    )
    return _jpeg(picture.resize((width // 2, height // 2)), 70)


def _store(case, contributor, data: bytes, name: str) -> Image:
    image = image_services.add_image(
        case=case, actor=contributor, fileobj=io.BytesIO(data), filename=name, step="after_lugol"
    )
    fingerprints.index_image(image)
    return image


@pytest.fixture
def bank():
    """One image at site "kisumu", indexed; its file as sent."""
    site = make_site("kisumu")
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor)
    data = render_jpeg("after_lugol", seed=31, size=(480, 360))
    image = _store(case, contributor, data, "lugol.jpg")
    return {"site": site, "contributor": contributor, "case": case, "image": image, "data": data}


def _entry(image: Image, kind: str, distance: int) -> dict:
    return {
        "image": image.pk,
        "case": image.case_id,
        "site": image.case.site.slug,
        "original_filename": image.original_filename,
        "original_sha256": image.original_sha256,
        "kind": kind,
        "distance": distance,
    }


# --- the command -------------------------------------------------------------------------------


def _similar(*args: str) -> str:
    out = io.StringIO()
    call_command("similar", *args, stdout=out)
    return out.getvalue()


def test_similar_json_has_one_entry_per_file_in_order_with_errors_named(bank, tmp_path):
    same = tmp_path / "same.jpg"
    same.write_bytes(bank["data"])
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(_marked_copy(bank["data"]))
    other = tmp_path / "other.jpg"
    other.write_bytes(render_jpeg("after_lugol", seed=32, size=(480, 360)))
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    missing = tmp_path / "absent.jpg"
    given = [str(same), str(copy), str(missing), str(other), str(text)]
    stored_before = Image.objects.count()

    answer = json.loads(_similar(*given, "--json"))

    assert [entry["file"] for entry in answer] == given
    assert answer[0] == {"file": str(same), "matches": [_entry(bank["image"], "exact", 0)]}
    (near,) = answer[1]["matches"]
    assert near == _entry(bank["image"], "near", near["distance"])
    assert 0 <= near["distance"] <= RADIUS
    assert answer[3] == {"file": str(other), "matches": []}
    for entry in (answer[2], answer[4]):
        assert set(entry) == {"file", "error"} and entry["error"]
    assert "notes.jpg" in answer[4]["error"]
    assert Image.objects.count() == stored_before  # nothing stored


def test_similar_without_json_prints_a_table(bank, tmp_path):
    same = tmp_path / "same.jpg"
    same.write_bytes(bank["data"])
    other = tmp_path / "other.jpg"
    other.write_bytes(render_jpeg("after_lugol", seed=33, size=(480, 360)))
    text = _similar(str(same), str(other))
    assert f"{same}: 1 match" in text
    assert "exact" in text and "kisumu" in text and str(bank["image"].pk) in text
    assert f"{other}: not in the bank" in text


def test_similar_radius_option(bank, tmp_path):
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(_marked_copy(bank["data"]))
    distance = json.loads(_similar(str(copy), "--json"))[0]["matches"][0]["distance"]
    if distance:
        tight = json.loads(_similar(str(copy), "--json", "--radius", str(distance - 1)))
        assert tight[0]["matches"] == []


def test_index_fingerprints_backfills_the_bank(bank):
    ImageFingerprint.objects.all().delete()
    out = io.StringIO()
    call_command("index_fingerprints", stdout=out)
    assert "1 images indexed" in out.getvalue()
    assert ImageFingerprint.objects.filter(image=bank["image"]).exists()
    out = io.StringIO()
    call_command("index_fingerprints", "--rebuild", stdout=out)
    assert "1 images indexed" in out.getvalue()
    assert ImageFingerprint.objects.get().algorithm == fingerprints.ALGORITHM


# --- the API -----------------------------------------------------------------------------------


def _client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _curator():
    curator = make_user_with_role(Role.CURATOR)
    TOTP.activate(curator, generate_totp_secret())
    return curator


def _upload(client, data: bytes, name: str = "look.jpg"):
    return client.post(
        URL, {"file": SimpleUploadedFile(name, data, content_type="image/jpeg")}, format="multipart"
    )


def test_a_curator_finds_the_exact_and_near_matches(bank):
    curator = _curator()
    response = _upload(_client(curator), bank["data"])
    assert response.status_code == 200, response.content
    assert response.json() == {"file": "look.jpg", "matches": [_entry(bank["image"], "exact", 0)]}

    response = _upload(_client(curator), _marked_copy(bank["data"]))
    (match,) = response.json()["matches"]
    assert (match["image"], match["kind"]) == (bank["image"].pk, "near")
    assert Image.objects.count() == 1  # nothing stored


def test_a_reviewer_finds_matches_without_file_names(bank):
    response = _upload(_client(make_user_with_role(Role.REVIEWER)), bank["data"])
    assert response.status_code == 200
    assert response.json()["matches"] == [
        {**_entry(bank["image"], "exact", 0), "original_filename": None}
    ]


def test_contributors_and_anonymous_callers_are_refused(bank):
    assert _upload(_client(bank["contributor"]), bank["data"]).status_code == 403
    assert _upload(_client(make_user_with_role(Role.RESEARCHER)), bank["data"]).status_code == 403
    assert _upload(APIClient(), bank["data"]).status_code == 401


def test_a_curator_without_a_second_factor_is_refused(bank):
    assert _upload(_client(make_user_with_role(Role.CURATOR)), bank["data"]).status_code == 403


def test_bad_uploads_are_a_400_naming_the_file(bank, settings):
    client = _client(_curator())
    response = _upload(client, b"%PDF-1.4 not an image", "report.jpg")
    assert response.status_code == 400
    assert "report.jpg" in response.json()["file"][0]

    response = _upload(client, b"", "empty.jpg")
    assert response.status_code == 400 and "file" in response.json()

    response = client.post(URL, {}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()

    response = client.post(
        URL,
        {"file": SimpleUploadedFile("a.jpg", bank["data"]), "site": "1"},
        format="multipart",
    )
    assert response.status_code == 400 and "site" in response.json()

    settings.MAX_UPLOAD_BYTES = len(bank["data"]) - 1
    response = _upload(client, bank["data"], "big.jpg")
    assert response.status_code == 400
    assert "big.jpg" in response.json()["file"][0]
    assert Image.objects.count() == 1


def test_the_route_is_not_taken_for_an_image_id(bank):
    """images/similar/ is curation's; images/{id}/ stays the core's."""
    curator = _curator()
    client = _client(curator)
    assert client.get(f"/api/images/{bank['image'].pk}/").status_code == 200
    assert client.get(URL).status_code == 405  # POST only
    assert client.get("/api/images/abc/").status_code == 404


# --- the real IARC images ----------------------------------------------------------------------

IARC = SHARED_DATA / "iarc" / "colposcopy"


def _iarc_cases(count: int) -> list[list[Path]]:
    folders = sorted(p for p in IARC.iterdir() if p.is_dir())
    cases = [sorted(folder.glob("*.jpg")) for folder in folders]
    return [files for files in cases if len(files) >= 2][:count]


def test_on_the_iarc_images_copies_are_found_and_a_cases_other_images_are_not(tmp_path):
    require_service(IARC.exists(), f"the IARC colposcopy images are not in {IARC}")
    site = make_site("iarc")
    contributor = make_contributor(site)
    stored: dict[Path, Image] = {}
    cases = _iarc_cases(6)
    for files in cases:
        case = make_case(site=site, actor=contributor)
        for path in files:
            stored[path] = _store(case, contributor, path.read_bytes(), path.name)

    copies, expected = [], []
    for files in cases:
        original = files[0]
        data = original.read_bytes()
        picture = PILImage.open(io.BytesIO(data)).convert("RGB")
        marked = picture.copy()
        ImageDraw.Draw(marked).text((12, 12), "COPY 2024", fill=(255, 255, 0), font_size=20)
        for edit, copy in {
            "q50": _jpeg(picture, 50),
            "half": _jpeg(picture.resize((picture.width // 2, picture.height // 2))),
            "marked": _jpeg(marked),
        }.items():
            path = tmp_path / f"{original.parent.name}-{edit}.jpg"
            path.write_bytes(copy)
            copies.append(str(path))
            expected.append(stored[original].pk)

    answer = json.loads(_similar(*copies, "--json"))
    for entry, original_pk in zip(answer, expected, strict=True):
        near = {m["image"]: m for m in entry["matches"]}
        assert original_pk in near, entry["file"]
        assert near[original_pk]["kind"] == "near"

    # The other images of each case, a few seconds apart, are not within the radius of the first
    # (pairs that are, 3 of 536 on the whole bank, are listed in docs/near-duplicates.md; none of
    # them is among these cases).
    for files in cases:
        first = fingerprints.fingerprint_of(stored[files[0]].file.read())
        stored[files[0]].file.close()
        others = {stored[path].pk for path in files[1:]}
        found = {m.image for m in fingerprints.find_similar(first, radius=RADIUS)}
        assert not found & others, files[0]
