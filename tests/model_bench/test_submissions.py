"""Submissions (issue 15): only an accessor named on a live grant of the task's version submits;
the daily and test-phase limits hold and invalid files count toward neither; a valid CSV is
scored on the sequestered labels and ranked on the board beside the reference models; an
invalid one is recorded with its errors and no score; the reconciler takes up a submission whose
message was lost or whose worker died."""

import itertools
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from access_requests.services import grants as grant_services
from curation import hooks
from model_bench import selectors
from model_bench.models import (
    BenchmarkJob,
    JobState,
    LeaderboardEntry,
    Submission,
    SubmissionState,
)
from model_bench.services import leaderboard, predictions, submissions
from model_bench.services.leaderboard import Ranked, rank_values
from tests.access_requests.test_requests import (
    committee_member,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(cin2_task):
    return cin2_task


FILES = itertools.count(1)


def csv_for(task, value=None) -> bytes:
    """A valid predictions file; each call's differs (the same file twice is one submission)."""
    if value is None:
        shift = next(FILES)
        value = lambda n: ((n * 3 + shift) % 97) / 97  # noqa: E731
    items = predictions.test_items(task)
    rows = "".join(f"{image_id},{value(n):.4f}\n" for n, image_id in enumerate(items.image_ids))
    return ("image_id,probability\n" + rows).encode()


def submit(task, user, data=None, title="My model", **options):
    data = data if data is not None else csv_for(task)
    return submissions.submit(task=task, user=user, data=data, file_name="preds.csv", title=title,
                              **options)  # fmt: skip


# --- who may submit -----------------------------------------------------------------------------


def test_only_an_accessor_named_on_a_live_grant_holds_the_version(task, granted):
    [holder] = hooks.grant_holders(granted["accessor"], task.version)
    assert holder == hooks.GrantHolder(key=f"research-group:{granted['group'].pk}",
                                       name=granted["group"].name)  # fmt: skip
    assert hooks.grant_holders(granted["member"], task.version) == []
    assert hooks.grant_holders(UserFactory(), task.version) == []


@pytest.mark.parametrize("who", ["member", "stranger"])
def test_a_user_without_a_grant_cannot_submit(task, granted, who):
    user = granted["member"] if who == "member" else UserFactory()
    with pytest.raises(PermissionDenied):
        submit(task, user)
    assert not Submission.objects.exists()


@pytest.mark.parametrize("end", ["revoked", "expired"])
def test_after_revocation_or_expiry_nobody_submits(task, granted, end):
    grant = granted["grant"]
    if end == "revoked":
        grant_services.revoke_grant(grant, actor=committee_member(), reason="Breach.")
    else:
        type(grant).objects.filter(pk=grant.pk).update(
            starts_at=timezone.now() - timedelta(days=2), expires_at=timezone.now() - timedelta(1)
        )
    with pytest.raises(PermissionDenied):
        submit(task, granted["accessor"])


def test_the_title_the_size_and_the_model_card_are_checked(task, granted, settings):
    user = granted["accessor"]
    with pytest.raises(ValidationError, match="title"):
        submit(task, user, title="  ")
    with pytest.raises(ValidationError, match="http"):
        submit(task, user, model_card={"code_url": "javascript:alert(1)"})
    with pytest.raises(ValidationError, match="whole number"):
        submit(task, user, model_card={"parameters": "many"})
    settings.SUBMISSION_MAX_CSV_BYTES = 10
    with pytest.raises(ValidationError, match="larger than"):
        submit(task, user)
    assert not Submission.objects.exists()


# --- scoring ------------------------------------------------------------------------------------


def test_a_valid_csv_is_scored_and_ranked_beside_the_reference_models(task, granted):
    job = BenchmarkJob.objects.create(
        task=task, model="baseline", seed=0, state=JobState.SUCCEEDED, finished_at=timezone.now(),
        results={"rows": [{"model": "baseline", "level": "image", "n_test": 9,
                           "metrics": {"auc": {"value": 0.6, "ci_low": 0.4, "ci_high": 0.8}}}]},
    )  # fmt: skip
    card = {"architecture": "ResNet-18", "parameters": "11,000,000"}
    submission = submit(task, granted["accessor"], model_card=card)
    assert submission.state == SubmissionState.RECEIVED
    assert submission.model_card == {"architecture": "ResNet-18", "parameters": 11_000_000}
    assert submissions.score(submission.pk) == "scored"
    submission.refresh_from_db()
    assert submission.state == SubmissionState.SCORED and submission.errors == []
    levels = [row["level"] for row in submission.results["rows"]]
    assert levels == ["image", "case"]
    auc = submission.results["rows"][0]["metrics"]["auc"]
    assert auc["ci_low"] <= auc["value"] <= auc["ci_high"]
    board = list(LeaderboardEntry.objects.filter(task=task, shown=True).order_by("rank"))
    assert {entry.job_id for entry in board} == {job.pk, None}
    assert sorted(entry.rank for entry in board) in ([1, 2], [1, 1])
    assert [e.name for e in board if e.submission_id] == ["My model"]
    assert set(submission.pictures) == {"roc", "confusion"}
    [entry] = [row for row in selectors.board_rows(task, selectors.leaderboard(task))
               if row["submission"] == submission.pk]  # fmt: skip
    for name in ("roc", "confusion"):
        response = Client().get(entry["pictures"][name])  # public, as the board
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert Client().get(entry["pictures"]["roc"].replace("roc.png", "x.png")).status_code == 404
    assert submissions.score(submission.pk) == "skipped"  # a second delivery does nothing
    history = [(e.from_state, e.to_state) for e in submission.events.all()]
    assert history == [("", "received"), ("received", "scoring"), ("scoring", "scored")]


def test_an_invalid_csv_is_recorded_with_its_errors_and_no_score(task, granted):
    submission = submit(task, granted["accessor"], data=b"image_id,probability\nnope,2\n")
    assert submissions.score(submission.pk) == "invalid"
    submission.refresh_from_db()
    assert submission.state == SubmissionState.INVALID and submission.results == {}
    assert submission.errors[0]["row"] == 2 and submission.errors[0]["column"] == "probability"
    assert not LeaderboardEntry.objects.filter(submission=submission).exists()


def test_the_message_sent_after_the_commit_scores_it(
    task, granted, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submission = submit(task, granted["accessor"])
    submission.refresh_from_db()
    assert submission.state == SubmissionState.SCORED  # the eager task ran


# --- limits -------------------------------------------------------------------------------------


def test_the_daily_limit_counts_valid_submissions_only(task, granted, settings):
    settings.BENCHMARK_SUBMISSIONS_PER_DAY = 2
    user = granted["accessor"]
    bad = submit(task, user, data=b"image_id,probability\n")
    submissions.score(bad.pk)
    for _ in range(2):
        submit(task, user)
    with pytest.raises(ValidationError, match="last 24 hours"):
        submit(task, user)
    Submission.objects.update(created_at=timezone.now() - timedelta(hours=25))
    submit(task, user)  # a day later


def test_the_same_file_again_is_the_same_submission(task, granted):
    data = csv_for(task)
    first = submit(task, granted["accessor"], data=data)
    assert submit(task, granted["accessor"], data=data, title="again").pk == first.pk
    assert Submission.objects.count() == 1
    bad = b"image_id,probability\n"
    invalid = submit(task, granted["accessor"], data=bad)
    submissions.score(invalid.pk)
    assert submit(task, granted["accessor"], data=bad).pk != invalid.pk  # an invalid one is not


def test_the_test_phase_limit_holds_across_days(task, granted, settings):
    settings.BENCHMARK_SUBMISSIONS_PER_TASK = 2
    user = granted["accessor"]
    submit(task, user)
    Submission.objects.update(created_at=timezone.now() - timedelta(days=3))
    submit(task, user)
    with pytest.raises(ValidationError, match="allows"):
        submit(task, user)
    assert submissions.limits_left(task, f"research-group:{granted['group'].pk}")["in_all"] == 0


# --- durability ---------------------------------------------------------------------------------


def test_a_lost_message_is_sent_again_and_a_dead_scorer_taken_up(task, granted, settings):
    lost = submit(task, granted["accessor"])  # not sent: the on-commit callback never ran
    dead = submit(task, granted["accessor"])
    dead = submissions.claim(dead.pk)  # a worker took it, then died
    assert dead.state == SubmissionState.SCORING
    later = timezone.now() + submissions.lease() + timedelta(seconds=5)
    outcome = submissions.reconcile_submissions(later)
    assert (outcome.requeued, outcome.resumed) == (1, 1)
    for pk in (lost.pk, dead.pk):  # the eager task ran for each
        assert Submission.objects.get(pk=pk).state == SubmissionState.SCORED
    settings.BENCHMARK_SCORING_MAX_ATTEMPTS = 1
    spent = submissions.claim(submit(task, granted["accessor"]).pk)
    outcome = submissions.reconcile_submissions(later + timedelta(hours=1))
    assert outcome.failed == 1
    spent.refresh_from_db()
    assert spent.state == SubmissionState.FAILED and "stopped" in spent.failure


def test_a_storage_outage_leaves_the_submission_received(task, granted, monkeypatch):
    submission = submit(task, granted["accessor"])

    def out(key):
        raise ConnectionError("storage is down")

    monkeypatch.setattr(submissions.storage, "read_bytes", out)
    with pytest.raises(ConnectionError):
        submissions.score(submission.pk)
    submission.refresh_from_db()
    assert submission.state == SubmissionState.RECEIVED
    monkeypatch.undo()
    assert submissions.score(submission.pk) == "scored"


# --- the board ----------------------------------------------------------------------------------


def at(minutes):
    return timezone.now() + timedelta(minutes=minutes)


def test_ties_share_a_rank_and_are_ordered_by_date_and_no_value_comes_last():
    items = [Ranked("d", 0.7, at(4)), Ranked("a", 0.9, at(3)), Ranked("c", 0.7, at(1)),
             Ranked("x", None, at(0)), Ranked("b", 0.8, at(2))]  # fmt: skip
    assert rank_values(items) == [("a", 1), ("b", 2), ("c", 3), ("d", 3), ("x", None)]
    assert rank_values(items, higher_is_better=False)[0] == ("c", 1)


def test_each_group_shows_its_best_or_its_latest(task, granted, settings):
    user = granted["accessor"]
    good = submit(task, user, title="good", data=csv_for(task, lambda n: n % 2))
    worse = submit(task, user, title="worse", data=csv_for(task, lambda n: 0.5))
    for submission in (good, worse):
        submissions.score(submission.pk)
    shown = lambda: [e.name for e in LeaderboardEntry.objects.filter(task=task, shown=True)]  # noqa: E731
    values = {e.name: e.value for e in LeaderboardEntry.objects.filter(task=task)}
    best = max(values, key=lambda name: values[name])
    assert shown() == [best]
    settings.BENCHMARK_LEADERBOARD_POLICY = "latest"
    leaderboard.refresh(task)
    assert shown() == ["worse"]
