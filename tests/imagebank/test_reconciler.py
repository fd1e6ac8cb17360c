"""The reconciler: work whose message was lost or is overdue is sent again, work whose worker died
is resumed or failed with its reason, and nothing is sent twice by two passes at once."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from fixtures.synthetic_cervix import render_jpeg
from imagebank import reconcile, reconcilers
from imagebank.lifecycle import CaseState
from imagebank.models import Case, Image, IngestRun, ProcessingStatus
from imagebank.services import images as image_services
from imagebank.tasks import process_image, run_quality_checks, run_queued_ingest
from tests.factories import make_case, make_contributor, make_site

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]


@pytest.fixture
def sent(monkeypatch):
    """The messages the reconciler sends, instead of running them."""
    messages: list[tuple[str, tuple]] = []
    for task in (process_image, run_queued_ingest, run_quality_checks):
        monkeypatch.setattr(
            task, "delay", lambda *args, _name=task.name: messages.append((_name, args))
        )
    return messages


@pytest.fixture
def contributor():
    return make_contributor(make_site())


def pending_image(contributor, **fields) -> Image:
    case = make_case(site=contributor.site_memberships.get().site, actor=contributor)
    image = image_services.add_image(
        case=case,
        actor=contributor,
        fileobj=io.BytesIO(render_jpeg("after_acetic_acid", seed=len(fields) + 1)),
        filename="a.jpg",
        step="after_acetic_acid",
    )
    Image.objects.filter(pk=image.pk).update(**fields)
    image.refresh_from_db()
    return image


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


# --- images -------------------------------------------------------------------------------------


def test_an_image_whose_message_was_never_sent_is_sent_at_the_next_pass(contributor, sent):
    image = pending_image(contributor, processing_queued_at=None)
    assert reconcile.reconcile_all()["images"] == {"requeued": 1, "resumed": 0, "failed": 0}
    assert sent == [("imagebank.tasks.process_image", (image.pk,))]
    image.refresh_from_db()
    assert image.processing_queued_at is not None
    # Sent just now: the next pass leaves it alone.
    assert reconcile.reconcile_all()["images"]["requeued"] == 0


def test_an_image_is_sent_again_only_once_overdue_and_the_wait_doubles_with_each_start(
    contributor, sent, settings
):
    settings.IMAGE_REQUEUE_AFTER_SECONDS = 600
    fresh = pending_image(contributor, processing_queued_at=ago(300))
    overdue = pending_image(contributor, processing_queued_at=ago(700), processing_attempts=0)
    # Two starts already: it waits 600 × 4 seconds before it is sent again.
    patient = pending_image(contributor, processing_queued_at=ago(1500), processing_attempts=2)
    reconcilers.reconcile_images(timezone.now())
    assert [args for _, args in sent] == [(overdue.pk,)]
    assert fresh and patient


def test_an_image_done_or_failed_is_never_sent_again(contributor, sent):
    pending_image(contributor, processing_queued_at=None, processing_status=ProcessingStatus.FAILED)
    assert reconcilers.reconcile_images(timezone.now()).requeued == 0
    assert sent == []


def test_an_image_that_cannot_be_sent_is_left_for_the_next_pass(contributor, monkeypatch):
    import kombu.exceptions

    image = pending_image(contributor, processing_queued_at=None)

    def refuse(*args):
        raise kombu.exceptions.OperationalError("Connection refused")

    monkeypatch.setattr(process_image, "delay", refuse)
    reconcilers.reconcile_images(timezone.now())
    image.refresh_from_db()
    assert image.processing_queued_at is None


def test_two_passes_at_once_send_an_image_once(contributor, sent):
    image = pending_image(contributor, processing_queued_at=None)
    stale = Image.objects.get(pk=image.pk)
    reconcilers.reconcile_images(timezone.now())
    # A second pass that read the image before the first one sent it: compare and set fails.
    assert not (
        Image.objects.filter(pk=stale.pk, processing_queued_at=stale.processing_queued_at)
        .filter(processing_status=ProcessingStatus.PENDING)
        .update(processing_queued_at=timezone.now())
    )
    assert len(sent) == 1


def test_the_images_backlog_counts_pending_images_and_dates_the_oldest(contributor):
    first = pending_image(contributor)
    pending_image(contributor)
    backlog = reconcilers.images_backlog()
    assert backlog.count == 2 and backlog.oldest == first.created_at


# --- import runs --------------------------------------------------------------------------------


def run_in(contributor, **fields) -> IngestRun:
    site = contributor.site_memberships.get().site
    values = {"status": IngestRun.Status.QUEUED, "upload_key": "ingest-uploads/x/a.zip"}
    return IngestRun.objects.create(
        site=site, started_by=contributor, source_name="a.zip", **{**values, **fields}
    )


def test_a_queued_run_nobody_took_is_sent_again(contributor, sent, settings):
    settings.INGEST_REQUEUE_AFTER_SECONDS = 600
    lost = run_in(contributor, heartbeat_at=ago(700))
    unsent = run_in(contributor, heartbeat_at=None)
    run_in(contributor, heartbeat_at=ago(10))
    outcome = reconcilers.reconcile_ingest_runs(timezone.now())
    assert outcome.requeued == 2
    assert sorted(args for _, args in sent) == sorted([(lost.pk,), (unsent.pk,)])


def test_a_running_run_whose_worker_died_is_queued_again_to_resume(contributor, sent, settings):
    settings.INGEST_LEASE_SECONDS = 300
    dead = run_in(
        contributor,
        status=IngestRun.Status.RUNNING,
        heartbeat_at=ago(400),
        claimed_by="task-1",
        attempts=1,
    )
    alive = run_in(
        contributor, status=IngestRun.Status.RUNNING, heartbeat_at=ago(30), claimed_by="task-2"
    )
    outcome = reconcilers.reconcile_ingest_runs(timezone.now())
    assert outcome.resumed == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == IngestRun.Status.QUEUED and dead.claimed_by == ""
    assert alive.status == IngestRun.Status.RUNNING
    assert sent == [("imagebank.tasks.run_queued_ingest", (dead.pk,))]


def test_a_run_whose_worker_died_too_often_is_failed_with_its_report_so_far(
    contributor, sent, settings
):
    settings.INGEST_LEASE_SECONDS = 300
    settings.INGEST_MAX_ATTEMPTS = 3
    report = {"cases": [{"reference": "Case 001", "outcome": "created"}], "summary": {}}
    run = run_in(
        contributor,
        status=IngestRun.Status.RUNNING,
        heartbeat_at=ago(400),
        attempts=3,
        report=report,
    )
    assert reconcilers.reconcile_ingest_runs(timezone.now()).failed == 1
    run.refresh_from_db()
    assert run.status == IngestRun.Status.FAILED and run.finished_at is not None
    assert "3 times" in run.failure and "1 case had been read" in run.failure
    assert run.report == report and run.upload_key == ""
    assert sent == []


def test_a_command_line_run_whose_process_died_is_failed(contributor, sent, settings):
    settings.INGEST_LEASE_SECONDS = 300
    run = run_in(contributor, status=IngestRun.Status.RUNNING, upload_key="", heartbeat_at=ago(400))
    assert reconcilers.reconcile_ingest_runs(timezone.now()).failed == 1
    run.refresh_from_db()
    assert run.status == IngestRun.Status.FAILED and "process stopped" in run.failure


# --- cases awaiting their checks ----------------------------------------------------------------


def test_a_submitted_case_whose_checks_were_never_sent_is_sent_to_them(contributor, sent):
    case = make_case(site=contributor.site_memberships.get().site, actor=contributor)
    Case.objects.filter(pk=case.pk).update(
        state=CaseState.SUBMITTED, submitted_at=timezone.now(), checks_queued_at=None
    )
    done = make_case(site=case.site, actor=contributor)
    Case.objects.filter(pk=done.pk).update(
        state=CaseState.IN_REVIEW, submitted_at=timezone.now(), checks_queued_at=None
    )
    assert reconcilers.reconcile_quality_checks(timezone.now()).requeued == 1
    assert sent == [("imagebank.tasks.run_quality_checks", (case.pk,))]
    assert reconcilers.checks_backlog().count == 1


def test_checks_in_progress_are_sent_again_only_when_overdue(contributor, sent, settings):
    settings.CHECKS_REQUEUE_AFTER_SECONDS = 1800
    case = make_case(site=contributor.site_memberships.get().site, actor=contributor)
    Case.objects.filter(pk=case.pk).update(
        state=CaseState.QUALITY_CHECKS, submitted_at=timezone.now(), checks_queued_at=ago(600)
    )
    assert reconcilers.reconcile_quality_checks(timezone.now()).requeued == 0
    Case.objects.filter(pk=case.pk).update(checks_queued_at=ago(2000))
    assert reconcilers.reconcile_quality_checks(timezone.now()).requeued == 1


# --- the pass and the command -------------------------------------------------------------------


def test_a_kind_that_fails_does_not_stop_the_others(contributor, sent, monkeypatch):
    def broken(now):
        raise RuntimeError("the database is out")

    monkeypatch.setitem(
        reconcile._kinds,
        "broken",
        reconcile.WorkKind(
            name="broken",
            label="Broken",
            reconcile=broken,
            backlog=lambda: reconcile.Backlog(0, None),
        ),
    )
    pending_image(contributor, processing_queued_at=None)
    results = reconcile.reconcile_all()
    assert results["broken"] == {"error": "RuntimeError: the database is out"}
    assert results["images"]["requeued"] == 1


def test_the_command_prints_each_kind_as_json(contributor, sent):
    pending_image(contributor, processing_queued_at=None)
    out = io.StringIO()
    call_command("reconcile", "--json", stdout=out)
    document = json.loads(out.getvalue())
    assert set(document) >= {"images", "ingest_runs", "quality_checks"}
    assert document["images"]["requeued"] == 1 and document["images"]["waiting"] == 1
    assert document["images"]["oldest"] is not None


def test_the_command_exits_1_when_a_kind_cannot_be_reconciled(monkeypatch):
    def broken(now):
        raise RuntimeError("out")

    monkeypatch.setitem(
        reconcile._kinds,
        "broken",
        reconcile.WorkKind(
            name="broken", label="B", reconcile=broken, backlog=lambda: reconcile.Backlog(0, None)
        ),
    )
    with pytest.raises(CommandError, match="broken"):
        call_command("reconcile", stdout=io.StringIO())


def test_beat_runs_the_reconciler_every_minute_on_the_default_queue(settings):
    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["reconcile"]
    assert entry["task"] == "imagebank.tasks.reconcile" and entry["schedule"] == 60
    assert app.amqp.router.route({}, "imagebank.tasks.reconcile")["queue"].name == "default"
    assert app.amqp.router.route({}, "imagebank.tasks.process_image")["queue"].name == "ingest"


def test_the_beat_pass_prunes_old_task_failures(settings):
    from imagebank.models import TaskFailure
    from imagebank.tasks import reconcile as reconcile_task

    settings.TASK_FAILURE_KEEP_DAYS = 30
    old = TaskFailure.objects.create(task="t", error_type="E")
    TaskFailure.objects.filter(pk=old.pk).update(at=ago(31 * 86400))
    recent = TaskFailure.objects.create(task="t", error_type="E")
    results = reconcile_task()
    assert set(results) >= {"images", "ingest_runs", "quality_checks"}
    assert list(TaskFailure.objects.values_list("pk", flat=True)) == [recent.pk]
