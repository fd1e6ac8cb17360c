"""Submissions through the API and `imagebank submit` (issue 15): a token of an accessor named
on a live grant submits a CSV and reads its scores; everyone else is refused; a malformed file
comes back invalid with its errors and the command exits 1 naming the rows; the same file sent
again (a retried upload) is the same submission."""

import io
import json

import pytest
from django.test import Client

from imagebank.client.cli import EXIT_OK, EXIT_REPORTED_ERRORS, main
from model_bench.models import Submission, SubmissionState
from model_bench.services import submissions
from tests.factories import UserFactory
from tests.model_bench import test_submissions
from tests.tokens import token_for

task = test_submissions.task
csv_for = test_submissions.csv_for


def api(user=None, token=None) -> Client:
    if user is not None:
        token = token_for(user)
    return Client(headers={"Authorization": f"Token {token}"} if token else {})


def send(client, task, data: bytes, **fields):
    body = {"file": io.BytesIO(data), "title": "Our model", **fields}
    body["file"].name = "predictions.csv"
    return client.post(f"/api/benchmarks/{task.slug}/submissions/", body)


@pytest.mark.django_db
def test_a_token_submits_and_reads_the_scores(task, granted):
    client = api(granted["accessor"])
    response = send(client, task, csv_for(task), architecture="ResNet-18")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "received" and body["task"] == task.slug
    assert body["model_card"] == {"architecture": "ResNet-18"}
    assert body["url"].endswith(f"/api/benchmarks/{task.slug}/submissions/{body['id']}/")
    submissions.score(body["id"])
    scored = client.get(body["url"]).json()
    assert scored["state"] == "scored" and [r["level"] for r in scored["results"]] == [
        "image",
        "case",
    ]
    auc = scored["results"][0]["metrics"]["auc"]
    assert auc["ci_low"] <= auc["value"] <= auc["ci_high"]
    assert set(scored["pictures"]) == {"roc", "confusion"}
    assert api(UserFactory()).get(body["url"]).status_code == 404
    assert Client().get(body["url"]).status_code == 401


@pytest.mark.django_db
def test_refusals_name_their_reason(task, granted):
    assert send(api(granted["member"]), task, csv_for(task)).status_code == 403
    assert send(api(UserFactory()), task, csv_for(task)).status_code == 403
    assert send(Client(), task, csv_for(task)).status_code == 401
    missing = send(api(granted["accessor"]), task, csv_for(task), title="")
    assert missing.status_code == 400 and "title" in missing.json()
    bad_link = send(api(granted["accessor"]), task, csv_for(task), code_url="ftp://x")
    assert bad_link.status_code == 400 and "code_url" in bad_link.json()
    empty = send(api(granted["accessor"]), task, b"")
    assert empty.status_code == 400 and "file" in empty.json()
    unknown = api(granted["accessor"]).get("/api/benchmarks/nope/submissions/1/")
    assert unknown.status_code == 404
    assert not Submission.objects.exists()


def live(test):
    test = pytest.mark.usefixtures("published_releases_live", "local_storage")(test)
    return pytest.mark.django_db(transaction=True)(test)


FAST = ["--retries", "1", "--backoff", "0", "--quiet", "--poll", "0.2", "--wait", "60"]


@pytest.fixture(autouse=True)
def _private_config(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("IMAGEBANK_URL", "IMAGEBANK_TOKEN", "IMAGEBANK_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


@live
def test_imagebank_submit_waits_for_the_score(live_server, task, granted, tmp_path, capsys):
    token = token_for(granted["accessor"])
    good = tmp_path / "good.csv"
    good.write_bytes(csv_for(task))
    status = main(["submit", task.slug, str(good), "--url", live_server.url, "--token", token,
                   "--architecture", "ResNet-18", *FAST])  # fmt: skip
    out = capsys.readouterr().out
    assert status == EXIT_OK, out
    assert "scored" in out and "auc" in out and "image level" in out
    # Sent again (a retried upload): the same submission, nothing counted twice.
    assert main(["submit", task.slug, str(good), "--url", live_server.url, "--token", token,
                 "--json", *FAST]) == EXIT_OK  # fmt: skip
    again = json.loads(capsys.readouterr().out)
    assert Submission.objects.count() == 1 and again["id"] == Submission.objects.get().pk

    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"image_id,probability\nnot-an-image,0.5\n")
    status = main(["submit", task.slug, str(bad), "--url", live_server.url, "--token", token,
                   *FAST])  # fmt: skip
    out = capsys.readouterr().out
    assert status == EXIT_REPORTED_ERRORS
    assert "invalid" in out and "row 2, column image_id" in out
    assert Submission.objects.filter(state=SubmissionState.INVALID).count() == 1


@pytest.mark.django_db
def test_masks_and_models_through_the_api_name_their_kind_and_files(seg_task, granted):
    from tests.model_bench import onnx_builders
    from tests.model_bench.test_mask_submissions import masks_zip

    client = api(granted["accessor"])
    # The kind named wins over the file's name; an archive missing a mask names the image.
    response = send(client, seg_task, masks_zip(seg_task, drop=1), kind="masks")
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "masks"
    submissions.score(response.json()["id"])
    refused = client.get(response.json()["url"]).json()
    assert refused["state"] == "invalid" and refused["errors"][0]["message"].endswith("no mask.")
    model = send(client, seg_task, onnx_builders.segmenter(32), kind="onnx")
    assert model.status_code == 201 and model.json()["kind"] == "onnx"
    submissions.score(model.json()["id"])
    scored = client.get(model.json()["url"]).json()
    assert scored["state"] == "scored" and "dice" in scored["results"][0]["metrics"]
    wrong = send(client, seg_task, b"x", kind="spreadsheet")
    assert wrong.status_code == 400 and "kind" in json.dumps(wrong.json())
