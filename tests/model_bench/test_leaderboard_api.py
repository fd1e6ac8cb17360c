"""The public benchmark API (issue 15): `GET /api/benchmarks/` and
`/api/benchmarks/{task}/leaderboard/` for anyone, ranks with ties, intervals and whether they
overlap the leader's, the reference models as entries; SQL flat in the number of entries; no
test image nor label in any answer."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from model_bench.models import BenchmarkJob, BenchmarkTask, JobState, LeaderboardEntry, Submission
from model_bench.services import leaderboard
from tests.access_requests.test_requests import published_version
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def task():
    return BenchmarkTask.objects.create(
        slug="cin2", title="CIN2+ from VIA", version=published_version(), label="histology_cin2",
        kind="image-classification", classes=["below_cin2", "cin2_or_worse"],
        primary_metric="auc", image_size=64,
    )  # fmt: skip


def job_row(task, model, value, low, high):
    return BenchmarkJob.objects.create(
        task=task, model=model, seed=0, state=JobState.SUCCEEDED, finished_at=timezone.now(),
        results={"rows": [
            {"model": model, "level": "image", "n_test": 40,
             "metrics": {"auc": {"value": value, "ci_low": low, "ci_high": high}}},
            {"model": model, "level": "case", "n_test": 14,
             "metrics": {"auc": {"value": value, "ci_low": low, "ci_high": high}}},
        ]},
    )  # fmt: skip


def scored(task, title, value, low, high, group, minutes=0):
    submission = Submission.objects.create(
        task=task, submitter=UserFactory(), group_key=f"research-group:{group}",
        group_name=f"Group {group}", kind="predictions", state="scored", title=title,
        file_key="submissions/x.csv", file_sha256="0" * 64, file_bytes=1, file_name="x.csv",
        finished_at=timezone.now() + timedelta(minutes=minutes),
        model_card={"architecture": "ResNet-18"},
        results={"rows": [{"level": "image", "n_test": 40,
                           "metrics": {"auc": {"value": value, "ci_low": low, "ci_high": high}}}]},
    )  # fmt: skip
    return submission


def get(path):
    response = Client().get(path)
    return response.status_code, json.loads(response.content)


def test_the_board_ranks_entries_with_intervals_and_the_reference_models(task):
    job_row(task, "baseline", 0.60, 0.45, 0.74)
    scored(task, "Ours", 0.81, 0.70, 0.90, group=1)
    scored(task, "Theirs", 0.81, 0.69, 0.91, group=2, minutes=5)
    scored(task, "Far behind", 0.40, 0.30, 0.50, group=3)
    leaderboard.refresh(task)
    status, board = get("/api/benchmarks/cin2/leaderboard/")
    assert status == 200
    assert (board["task"], board["primary_metric"], board["level"]) == ("cin2", "auc", "image")
    ranks = [(entry["name"], entry["rank"]) for entry in board["entries"]]
    assert ranks == [("Ours", 1), ("Theirs", 1), ("baseline", 3), ("Far behind", 4)]
    by_name = {entry["name"]: entry for entry in board["entries"]}
    assert by_name["baseline"]["reference"] is True and by_name["baseline"]["group"] is None
    assert by_name["Ours"]["group"] == "Group 1"
    assert by_name["Ours"]["model_card"] == {"architecture": "ResNet-18"}
    assert by_name["Ours"]["overlaps_leader"] is None  # the leader itself
    assert by_name["Theirs"]["overlaps_leader"] is True
    assert by_name["Far behind"]["overlaps_leader"] is False
    assert (by_name["Ours"]["ci_low"], by_name["Ours"]["ci_high"]) == (0.70, 0.90)


def test_the_list_names_each_task_and_its_leader(task):
    scored(task, "Ours", 0.81, 0.70, 0.90, group=1)
    leaderboard.refresh(task)
    status, page = get("/api/benchmarks/")
    assert status == 200
    [row] = page["results"]
    assert row["slug"] == "cin2" and row["release"] == task.version.label
    assert row["positive_class"] == "cin2_or_worse" and row["entries"] == 1
    assert row["leader"]["name"] == "Ours" and row["leader"]["value"] == 0.81
    assert row["leaderboard_url"].endswith("/api/benchmarks/cin2/leaderboard/")


def test_an_unknown_task_is_a_json_404(task):
    status, body = get("/api/benchmarks/nope/leaderboard/")
    assert status == 404 and "detail" in body


def test_the_board_is_a_constant_number_of_queries(task):
    def queries(n):
        LeaderboardEntry.objects.all().delete()
        Submission.objects.all().delete()
        for i in range(n):
            scored(task, f"entry {i}", 0.5 + i / 1000, 0.4, 0.6, group=i)
        leaderboard.refresh(task)
        with CaptureQueriesContext(connection) as captured:
            status, board = get("/api/benchmarks/cin2/leaderboard/")
        assert status == 200 and len(board["entries"]) == n
        return len(captured)

    assert queries(3) == queries(40)


def test_no_answer_names_a_test_image_or_label(task):
    scored(task, "Ours", 0.81, 0.70, 0.90, group=1)
    leaderboard.refresh(task)
    for path in ("/api/benchmarks/", "/api/benchmarks/cin2/leaderboard/"):
        text = Client().get(path).content.decode()
        for word in ("image_id", "case_code", "sequestered", 'below_cin2": ', "confusion_matrix"):
            assert word not in text


def test_a_visitor_sees_the_board_on_the_task_page(task):
    job_row(task, "baseline", 0.60, 0.45, 0.74)
    scored(task, "Ours", 0.81, 0.70, 0.90, group=1)
    leaderboard.refresh(task)
    response = Client().get("/benchmarks/cin2/")
    assert response.status_code == 200
    html = response.content.decode()
    board = html[html.index("data-leaderboard") :]
    assert board.index("Ours") < board.index("baseline")  # ranked
    assert "[0.700, 0.900]" in board and "[0.450, 0.740]" in board
    assert "reference model" in board and "Group 1" in board
    assert 'data-rank="1"' in board and 'data-rank="2"' in board


def test_the_page_says_when_the_board_is_empty(task):
    html = Client().get("/benchmarks/cin2/").content.decode()
    assert "No entry yet" in html
