"""The benchmark pages (model_bench.views): the task list, a task's page and a job's page render
for anonymous visitors, researchers and curators, with aggregate figures only (no test image is
ever named); the curators' forms and buttons (queue, cancel, new task) refuse anyone else even
with a valid POST; queueing creates jobs; artefacts download for curators and holders of the
release's download permission only; progress.json has its documented shape.

No model is trained here: succeeded jobs are written to the database with results in the shape
of model_bench.services.evaluation's rows, their artefacts stored with artefacts.store."""

import io
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm
from PIL import Image as PILImage

from curation.models import ReleaseImage
from model_bench.models import BenchmarkJob, BenchmarkTask, JobEvent, JobLogLine, JobState
from model_bench.services import artefacts, execution
from model_bench.services.benchmark_tasks import create_task
from tests.factories import make_user_with_role
from tests.roles import Role
from tests.totp import with_totp

pytestmark = pytest.mark.django_db

WEIGHTS = b"weights of a model that was never trained"


def png() -> bytes:
    """A small clean PNG (the bank stores none with metadata chunks)."""
    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def metric(value, low, high):
    return {"value": value, "ci_low": low, "ci_high": high}


def rows(model: str, auc: float) -> list[dict]:
    figures = {
        "auc": metric(auc, 0.701, 0.903),
        "accuracy": metric(0.75, 0.6, 0.85),
        "sensitivity": metric(0.7, 0.5, 0.9),
        "specificity": metric(0.8, 0.6, 0.95),
        "f1": metric(0.72, 0.55, 0.86),
        "balanced_accuracy": metric(0.75, 0.6, 0.88),
    }
    return [
        {"model": model, "level": "image", "n_test": 9, "n_cases": 9, "metrics": figures,
         "confusion_matrix": [[4, 1], [1, 3]]},
        {"model": model, "level": "case", "n_test": 9, "n_cases": 9, "metrics": figures,
         "confusion_matrix": [[4, 1], [1, 3]], "roc": {"fpr": [0, 0.2, 1], "tpr": [0, 0.8, 1]}},
    ]  # fmt: skip


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def task(bench_release, curator):
    return create_task(slug="cin2", version=bench_release, kind="image-classification",
                       label="histology_cin2", actor=curator, steps=["after_acetic_acid"],
                       image_size=32, title="CIN2+ after acetic acid",
                       description="Is the lesion CIN2 or worse?")  # fmt: skip


@pytest.fixture
def done(task, curator):
    """A succeeded job with its results and artefacts."""
    job = BenchmarkJob.objects.create(
        task=task, model="baseline", seed=3, config={"epochs": 2, "lr": 0.001},
        state=JobState.SUCCEEDED, requested_by=curator, queued_at=timezone.now(),
        started_at=timezone.now(), finished_at=timezone.now(), progress=1.0,
        results={"rows": rows("baseline", 0.812)}, parameters=123, training_seconds=4.2,
    )  # fmt: skip
    JobEvent.objects.create(job=job, actor=curator, to_state=JobState.QUEUED)
    JobEvent.objects.create(job=job, from_state=JobState.QUEUED, to_state=JobState.RUNNING)
    JobEvent.objects.create(job=job, from_state=JobState.RUNNING, to_state=JobState.SUCCEEDED)
    JobLogLine.objects.create(job=job, message="epoch 1: train loss 0.61")
    artefacts.store(job, "curves.png", png())
    artefacts.store(job, "weights.pt", WEIGHTS)
    artefacts.store_json(job, "config.json", job.config)
    return job


@pytest.fixture
def running(task, curator):
    job = BenchmarkJob.objects.create(
        task=task, model="repvgg", seed=1, state=JobState.RUNNING, queued_at=timezone.now(),
        started_at=timezone.now(), heartbeat_at=timezone.now(), progress=0.4,
        progress_note="training repvgg, epoch 2", requested_by=curator,
    )  # fmt: skip
    for n in range(600):
        JobLogLine.objects.create(job=job, message=f"batch {n}")
    return job


@pytest.fixture
def curator_client(curator):
    with_totp(curator)
    return signed_in(curator)


@pytest.fixture
def researcher():
    return make_user_with_role(Role.RESEARCHER)


def urls(task, *jobs) -> list[str]:
    found = [reverse("model_bench:task-list"), reverse("model_bench:task", args=[task.slug])]
    for job in jobs:
        found.append(reverse("model_bench:job", args=[task.slug, job.pk]))
        found.append(reverse("model_bench:job-progress", args=[task.slug, job.pk]))
    return found


def test_every_page_renders_for_anyone_with_aggregates_only(
    task, done, running, curator_client, researcher
):
    test_ids = list(
        ReleaseImage.objects.filter(version=task.version, split="test").values_list(
            "image_id", flat=True
        )
    )
    assert test_ids
    for client in (Client(), signed_in(researcher), curator_client):
        for url in urls(task, done, running):
            response = client.get(url)
            assert response.status_code == 200, url
            text = response.content.decode()
            assert not [image_id for image_id in test_ids if image_id in text], url
    page = Client().get(reverse("model_bench:task", args=[task.slug])).content.decode()
    assert "0.812 [0.701, 0.903]" in page
    assert 'href="/benchmarks/"' in page  # the navigation's link, for everyone
    assert reverse("curation:release-version", args=["bench", "1.0.0"]) in page
    assert 'data-split="test"' in page and "Lesion masks" in page
    assert 'id="queue-jobs"' not in page
    listing = Client().get(reverse("model_bench:task-list")).content.decode()
    assert "CIN2+ after acetic acid" in listing and "0.812 [0.701, 0.903]" in listing


def test_the_job_page_refreshes_while_running_and_shows_the_tail_of_its_log(
    task, done, running, curator_client
):
    live = Client().get(reverse("model_bench:job", args=[task.slug, running.pk])).content.decode()
    assert '<meta http-equiv="refresh" content="5">' in live
    assert "batch 599" in live and "batch 100\n" in live and "batch 99\n" not in live
    assert 'value="40"' in live and "training repvgg, epoch 2" in live
    assert "data-cancel" not in live
    assert (
        "data-cancel"
        in curator_client.get(
            reverse("model_bench:job", args=[task.slug, running.pk])
        ).content.decode()
    )
    finished = Client().get(reverse("model_bench:job", args=[task.slug, done.pk])).content.decode()
    assert 'http-equiv="refresh"' not in finished
    assert "0.812 [0.701, 0.903]" in finished and "&quot;epochs&quot;: 2" in finished
    curves = reverse("model_bench:job-artefact", args=[task.slug, done.pk, "curves.png"])
    assert "weights.pt" in finished and curves not in finished  # listed, neither linked nor shown
    as_curator = curator_client.get(reverse("model_bench:job", args=[task.slug, done.pk]))
    assert curves in as_curator.content.decode()
    assert "data-cancel" not in as_curator.content.decode()


def test_progress_json(task, running):
    response = Client().get(reverse("model_bench:job-progress", args=[task.slug, running.pk]))
    body = response.json()
    assert set(body) == {"state", "progress", "note", "log_tail"}
    assert body["state"] == "running" and body["progress"] == 0.4
    assert body["note"] == "training repvgg, epoch 2"
    assert body["log_tail"][-1] == "batch 599" and len(body["log_tail"]) <= 500


def test_unknown_tasks_and_jobs_are_404(task, done, bench_release, curator):
    other = create_task(slug="tz", version=bench_release, kind="image-classification",
                        label="tz_type", actor=curator, image_size=32)  # fmt: skip
    client = Client()
    assert client.get(reverse("model_bench:task", args=["nope"])).status_code == 404
    assert client.get(reverse("model_bench:job", args=[other.slug, done.pk])).status_code == 404
    assert client.get(reverse("model_bench:job", args=[task.slug, 10**6])).status_code == 404


def test_curator_forms_refuse_everyone_else(task, running, researcher, bench_release):
    queue = reverse("model_bench:task-queue", args=[task.slug])
    cancel = reverse("model_bench:job-cancel", args=[task.slug, running.pk])
    new = reverse("model_bench:task-new")
    valid_queue = {"models": ["baseline"], "seed": "1"}
    valid_task = {
        "slug": "via", "title": "VIA", "version": bench_release.pk,
        "kind": "image-classification", "label": "tz_type", "image_size": "32",
    }  # fmt: skip
    for client, expected in ((Client(), 302), (signed_in(researcher), 403)):
        for url, data in ((queue, valid_queue), (cancel, {}), (new, valid_task)):
            response = client.post(url, data)
            assert response.status_code == expected, url
            if expected == 302:
                assert response["Location"].startswith(reverse("account_login"))
        assert client.get(new).status_code == expected
    assert BenchmarkJob.objects.filter(task=task).count() == 1
    running.refresh_from_db()
    assert running.state == JobState.RUNNING and not running.cancel_requested
    assert not BenchmarkTask.objects.filter(slug="via").exists()
    page = signed_in(researcher).get(reverse("model_bench:task", args=[task.slug]))
    assert 'id="queue-jobs"' not in page.content.decode()
    # GET on the POST-only views changes nothing either.
    assert Client().get(queue).status_code in (302, 405)


def test_queueing_from_the_task_page_creates_jobs(
    task, curator_client, monkeypatch, django_capture_on_commit_callbacks
):
    ran = []
    monkeypatch.setattr(execution, "run_job", lambda job_id: ran.append(job_id) or "succeeded")
    page = curator_client.get(reverse("model_bench:task", args=[task.slug])).content.decode()
    assert 'id="queue-jobs"' in page and 'value="unetpp-repvgg-vote"' in page
    assert 'value="unetpp"' not in page  # a segmentation model does not fit this task
    url = reverse("model_bench:task-queue", args=[task.slug])
    with django_capture_on_commit_callbacks(execute=True):
        response = curator_client.post(
            url, {"models": ["baseline", "repvgg"], "seed": "7", "epochs": "1"}
        )
    assert response.status_code == 302
    queued = list(BenchmarkJob.objects.filter(task=task).order_by("pk"))
    assert [job.model for job in queued] == ["baseline", "repvgg"]
    assert all(job.seed == 7 and job.config["epochs"] == 1 for job in queued)
    assert sorted(ran) == [job.pk for job in queued]
    refused = curator_client.post(url, {"models": ["unetpp"], "seed": "7"})
    assert refused.status_code == 400
    assert curator_client.post(url, {"models": ["baseline"], "seed": "-1"}).status_code == 400
    assert BenchmarkJob.objects.filter(task=task).count() == 2


def test_cancel(task, running, curator_client):
    queued = BenchmarkJob.objects.create(
        task=task, model="vgg", seed=0, queued_at=timezone.now()
    )  # fmt: skip
    for job in (running, queued):
        response = curator_client.post(reverse("model_bench:job-cancel", args=[task.slug, job.pk]))
        assert response.status_code == 302
    running.refresh_from_db()
    queued.refresh_from_db()
    assert running.cancel_requested and running.state == JobState.RUNNING
    assert queued.state == JobState.CANCELLED
    again = curator_client.post(
        reverse("model_bench:job-cancel", args=[task.slug, queued.pk]), follow=True
    )
    assert "finished already" in again.content.decode()


def test_the_new_task_form(bench_release, curator_client):
    url = reverse("model_bench:task-new")
    page = curator_client.get(url).content.decode()
    assert "bench@1.0.0" in page and "histology_cin2" in page
    data = {"slug": "tz", "title": "TZ type", "version": bench_release.pk,
            "kind": "case-classification", "label": "tz_type",
            "classes": "one=type_1,other=type_2+type_3", "steps": ["after_acetic_acid"],
            "metric": "accuracy", "image_size": "64"}  # fmt: skip
    wrong = curator_client.post(url, {**data, "label": "nope"})
    assert wrong.status_code == 400 and "has no label" in wrong.content.decode()
    wrong = curator_client.post(url, {**data, "classes": "a=type_9,b=type_1"})
    assert wrong.status_code == 400 and "type_9" in wrong.content.decode()
    response = curator_client.post(url, data)
    assert response.status_code == 302
    task = BenchmarkTask.objects.get(slug="tz")
    assert response["Location"] == reverse("model_bench:task", args=["tz"])
    assert task.class_map == {"type_1": "one", "type_2": "other", "type_3": "other"}
    assert task.steps == ["after_acetic_acid"] and task.primary_metric == "accuracy"
    assert curator_client.post(url, data).status_code == 400  # the slug is taken


def test_artefact_downloads(task, done, curator_client, researcher):
    weights = reverse("model_bench:job-artefact", args=[task.slug, done.pk, "weights.pt"])
    curves = reverse("model_bench:job-artefact", args=[task.slug, done.pk, "curves.png"])
    response = curator_client.get(weights)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == WEIGHTS
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/octet-stream"
    shown = curator_client.get(curves)
    assert shown["Content-Type"] == "image/png"
    assert shown["Content-Disposition"].startswith("inline;")
    config = curator_client.get(
        reverse("model_bench:job-artefact", args=[task.slug, done.pk, "config.json"])
    )
    assert json.loads(b"".join(config.streaming_content)) == {"epochs": 2, "lr": 0.001}
    missing = reverse("model_bench:job-artefact", args=[task.slug, done.pk, "nope.onnx"])
    assert curator_client.get(missing).status_code == 404
    anonymous = Client().get(weights)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("account_login"))
    reader = signed_in(researcher)
    assert reader.get(weights).status_code == 403
    assert reader.get(missing).status_code == 403  # existence is not revealed
    assign_perm("curation.download_releaseversion", researcher, task.version)
    allowed = signed_in(researcher).get(weights)
    assert allowed.status_code == 200 and b"".join(allowed.streaming_content) == WEIGHTS
    page = signed_in(researcher).get(reverse("model_bench:job", args=[task.slug, done.pk]))
    assert curves in page.content.decode() and weights in page.content.decode()
