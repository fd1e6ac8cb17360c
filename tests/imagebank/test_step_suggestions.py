"""Steps suggested, never guessed silently: where no step is given (or it is only guessed from
the file order), the registered suggester (curation's step classifier) proposes one, kept as a
guess the contributor confirms or changes."""

import io

import pytest

from fixtures.synthetic_cervix import render_jpeg
from imagebank import hooks
from imagebank.ingest.runs import run_ingest
from imagebank.models import Image
from imagebank.services import images as image_services
from tests.factories import make_case, make_contributor, make_site

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]


@pytest.fixture
def suggester(monkeypatch):
    asked = []

    def lugol_for_everything(data: bytes, step: str) -> str | None:
        asked.append(step)
        return "after_lugol"

    monkeypatch.setattr(hooks, "_step_suggesters", [lugol_for_everything])
    return asked


def test_an_imported_image_without_a_step_gets_the_suggested_one_as_a_guess(tmp_path, suggester):
    site = make_site()
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(render_jpeg("after_lugol", seed=2))
    run = run_ingest(site=site, actor=make_contributor(site), paths=[path])
    image = Image.objects.get()
    assert image.step == "after_lugol" and image.step_is_guess
    assert suggester == ["other"]
    assert any("is suggested from the image" in p["message"] for p in run.report["problems"])


def test_an_upload_without_a_step_gets_the_suggestion_but_an_order_guess_is_kept(suggester):
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor)

    def upload(step: str, seed: int) -> Image:
        return image_services.add_image(
            case=case,
            actor=contributor,
            fileobj=io.BytesIO(render_jpeg("after_lugol", seed=seed)),
            filename=f"{seed}.jpg",
            step=step,
            step_is_guess=True,
        )

    unknown = upload("other", 3)
    assert unknown.step == "after_lugol" and unknown.step_is_guess
    by_order = upload("before_acetic_acid", 4)
    assert by_order.step == "before_acetic_acid" and by_order.step_is_guess


def test_a_step_the_contributor_gave_is_never_second_guessed(suggester):
    site = make_site()
    contributor = make_contributor(site)
    case = make_case(site=site, actor=contributor)
    image = image_services.add_image(
        case=case,
        actor=contributor,
        fileobj=io.BytesIO(render_jpeg("after_acetic_acid", seed=4)),
        filename="a.jpg",
        step="after_acetic_acid",
    )
    assert image.step == "after_acetic_acid" and not image.step_is_guess
    assert suggester == []


def test_a_failing_suggester_suggests_nothing(monkeypatch, caplog):
    def broken(data, step):
        raise RuntimeError("classifier crashed")

    monkeypatch.setattr(hooks, "_step_suggesters", [broken])
    assert hooks.suggest_step(b"...", "other") is None
    assert "step suggester" in caplog.text


# --- the upload form's suggestion endpoint ------------------------------------------------------


def test_the_form_asks_for_a_suggestion_and_nothing_is_stored(client, suggester):
    from django.urls import reverse

    site = make_site()
    contributor = make_contributor(site)
    client.force_login(contributor)
    images_before = Image.objects.count()
    response = client.post(
        reverse("imagebank:case-suggest-step"),
        {
            "file": io.BytesIO(render_jpeg("after_lugol", seed=5, size=(320, 240))),
            "step": "before_acetic_acid",
        },
    )
    assert response.status_code == 200
    assert response.json() == {"step": "after_lugol", "label": "After Lugol’s iodine"} or (
        response.json()["step"] == "after_lugol"
    )
    assert suggester == ["before_acetic_acid"]
    assert Image.objects.count() == images_before


def test_a_suggestion_needs_a_contributor_and_an_image(client, suggester):
    from django.urls import reverse

    from tests.factories import make_user_with_role
    from tests.roles import Role

    url = reverse("imagebank:case-suggest-step")
    assert client.post(url, {}).status_code == 302  # signed out: to the sign-in page
    client.force_login(make_user_with_role(Role.RESEARCHER))
    assert client.post(url, {"file": io.BytesIO(b"x")}).status_code == 403
    client.force_login(make_contributor(make_site()))
    missing = client.post(url, {})
    assert missing.status_code == 400 and "file" in missing.json()
    not_an_image = io.BytesIO(b"not an image at all")
    not_an_image.name = "notes.jpg"
    refused = client.post(url, {"file": not_an_image})
    assert refused.status_code == 400 and refused.json()["file"]
    assert suggester == []
