"""The submitters' pages (issue 15, item 4): the form for accessors named on a live grant only;
a valid CSV scored and shown with every metric and its interval, the pictures and the history;
a malformed one refused with its reasons, row by row; a result readable by its group and
curators only."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from model_bench.models import Submission, SubmissionState
from model_bench.services import submissions
from tests.factories import UserFactory
from tests.model_bench import test_submissions
from tests.totp import with_totp

pytestmark = pytest.mark.django_db

# The task and the grant of the service's tests, as fixtures here too.
task = test_submissions.task
csv_for = test_submissions.csv_for


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client, task, data: bytes, title="Our model"):
    upload = SimpleUploadedFile("predictions.csv", data, content_type="text/csv")
    return client.post(f"/benchmarks/{task.slug}/submit/", {
        "file": upload, "title": title, "architecture": "ResNet-18", "parameters": "11000000",
    })  # fmt: skip


def test_an_accessor_submits_a_csv_and_reads_its_scores(task, granted):
    client = client_of(granted["accessor"])
    page = client.get(f"/benchmarks/{task.slug}/submit/")
    assert page.status_code == 200
    assert "image_id,probability" in page.content.decode()
    assert "Submit your results" in client.get(f"/benchmarks/{task.slug}/").content.decode()
    response = post(client, task, csv_for(task))
    submission = Submission.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/benchmarks/{task.slug}/submissions/{submission.pk}/"
    waiting = client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' in waiting and 'data-state="received"' in waiting
    submissions.score(submission.pk)
    html = client.get(response["Location"]).content.decode()
    assert 'data-state="scored"' in html and 'http-equiv="refresh"' not in html
    assert "Image level, n = " in html and "Case level, n = " in html
    assert "positive predictive value" in html and "[" in html
    assert f"/benchmarks/{task.slug}/submissions/{submission.pk}/roc.png" in html
    assert Submission.objects.get().model_card["architecture"] == "ResNet-18"


def test_a_malformed_csv_is_refused_with_its_reasons(task, granted):
    client = client_of(granted["accessor"])
    post(client, task, b"image_id,probability\nnot-an-image,1.5\n")
    submission = Submission.objects.get()
    assert submissions.score(submission.pk) == "invalid"
    html = client.get(f"/benchmarks/{task.slug}/submissions/{submission.pk}/").content.decode()
    assert "Why the file was refused" in html
    assert "not a probability" in html and "is not in the task" in html
    assert submissions.limits_left(task, submission.group_key)["today"] == submissions.per_day()


def test_the_form_shows_what_the_service_refuses(task, granted, settings):
    settings.BENCHMARK_SUBMISSIONS_PER_DAY = 1
    client = client_of(granted["accessor"])
    post(client, task, csv_for(task))
    response = post(client, task, csv_for(task))  # another file
    assert response.status_code == 400
    assert "in the last 24 hours" in response.content.decode()
    assert Submission.objects.count() == 1


@pytest.mark.parametrize("who", ["member", "stranger"])
def test_only_named_accessors_reach_the_form(task, granted, who):
    user = granted["member"] if who == "member" else UserFactory()
    client = client_of(user)
    assert client.get(f"/benchmarks/{task.slug}/submit/").status_code == 403
    assert post(client, task, csv_for(task)).status_code == 403
    assert "Submit your results" not in client.get(f"/benchmarks/{task.slug}/").content.decode()
    assert not Submission.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(task):
    response = Client().get(f"/benchmarks/{task.slug}/submit/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_result_is_for_its_group_and_curators_only(task, granted, curator):
    submission = submissions.submit(task=task, user=granted["accessor"], data=csv_for(task),
                                    file_name="p.csv", title="Ours")  # fmt: skip
    path = f"/benchmarks/{task.slug}/submissions/{submission.pk}/"
    assert client_of(UserFactory()).get(path).status_code == 404
    assert client_of(granted["member"]).get(path).status_code == 404  # not named on the grant
    with_totp(curator)
    assert client_of(curator).get(path).status_code == 200
    assert Client().get(path).status_code == 302
    assert Submission.objects.get().state == SubmissionState.RECEIVED


def test_each_board_entry_has_a_public_model_card(task, granted):
    from django.utils import timezone

    from model_bench.models import BenchmarkJob, JobState, LeaderboardEntry
    from model_bench.services import leaderboard

    user = granted["accessor"]
    first = submissions.submit(
        task=task, user=user, data=csv_for(task), file_name="a.csv", title="Kigali CNN",
        model_card={"architecture": "EfficientNet-B0", "parameters": "5,300,000",
                    "training_data": "Our own 4,000 VIA images", "code_url": "https://example.org/code"},
    )  # fmt: skip
    second = submissions.submit(task=task, user=user, data=csv_for(task, lambda n: 0.5),
                                file_name="b.csv", title="Constant")  # fmt: skip
    for submission in (first, second):
        submissions.score(submission.pk)
    job = BenchmarkJob.objects.create(
        task=task, model="baseline", seed=0, state=JobState.SUCCEEDED, finished_at=timezone.now(),
        results={"rows": [{"model": "baseline", "level": "image", "n_test": 9,
                           "metrics": {"auc": {"value": 0.6, "ci_low": 0.4, "ci_high": 0.8}}}]},
    )  # fmt: skip
    leaderboard.refresh(task)
    board = Client().get(f"/benchmarks/{task.slug}/").content.decode()
    shown = LeaderboardEntry.objects.get(submission__in=[first, second], shown=True)
    assert f'href="/benchmarks/{task.slug}/entries/{shown.pk}/"' in board
    page = Client().get(f"/benchmarks/{task.slug}/entries/{shown.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert shown.name in html and task.version.label in html
    if shown.submission_id == first.pk:
        assert (
            "EfficientNet-B0" in html and "5300000" in html and "https://example.org/code" in html
        )
        assert 'rel="nofollow noopener noreferrer"' in html
    hidden = LeaderboardEntry.objects.get(submission__in=[first, second], shown=False)
    assert Client().get(f"/benchmarks/{task.slug}/entries/{hidden.pk}/").status_code == 404
    reference = LeaderboardEntry.objects.get(job=job)
    answer = Client().get(f"/benchmarks/{task.slug}/entries/{reference.pk}/")
    assert (
        answer.status_code == 302
        and answer["Location"] == f"/benchmarks/{task.slug}/jobs/{job.pk}/"
    )
    api = Client().get(f"/api/benchmarks/{task.slug}/leaderboard/").json()
    assert {e["card_url"] for e in api["entries"]} >= {
        f"/benchmarks/{task.slug}/entries/{shown.pk}/"
    }
