"""The core's kinds of background work, as the reconciler (imagebank.reconcile) sees them.

- images pending processing: sent again when their message is missing (never sent, or sent long
  ago); failed, with the reason, when their task keeps starting without finishing;
- import runs: a queued run sent again when nobody took it; a running run whose worker gave no
  sign of life for INGEST_LEASE_SECONDS resumed, or failed with its report after
  INGEST_MAX_ATTEMPTS, and a command-line run whose process died failed;
- cases awaiting their checks: sent to the checks again when overdue.

Each update is conditional on what was read (compare and set), so two passes at once, or a
worker finishing meanwhile, never undo each other. Registered from ImagebankConfig.ready().
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Min, Q
from django.utils.translation import gettext_lazy as _

from imagebank.durable import send_task
from imagebank.ingest import runs as ingest_runs
from imagebank.lifecycle import CaseState
from imagebank.models import Case, Image, IngestRun, ProcessingStatus
from imagebank.reconcile import Backlog, Outcome, WorkKind, register_work_kind
from imagebank.tasks import process_image, run_quality_checks, run_queued_ingest

# A pass handles at most this many objects of each kind; the next pass, a minute later, goes on.
BATCH = 500


def _backlog(queryset, field: str) -> Backlog:
    summary = queryset.aggregate(oldest=Min(field))
    return Backlog(count=queryset.count(), oldest=summary["oldest"])


# --- images -------------------------------------------------------------------------------------


def _pending_images():
    return Image.objects.filter(processing_status=ProcessingStatus.PENDING)


def _image_overdue(image: Image, now: datetime) -> bool:
    """Never sent, or sent longer ago than the wait, which doubles with each start of its task
    (so that a long backlog is not sent again and again)."""
    if image.processing_queued_at is None:
        return True
    wait = settings.IMAGE_REQUEUE_AFTER_SECONDS * 2 ** min(image.processing_attempts, 6)
    return image.processing_queued_at < now - timedelta(seconds=wait)


def reconcile_images(now: datetime) -> Outcome:
    outcome = Outcome()
    earliest = now - timedelta(seconds=settings.IMAGE_REQUEUE_AFTER_SECONDS)
    candidates = (
        _pending_images()
        .filter(Q(processing_queued_at__isnull=True) | Q(processing_queued_at__lt=earliest))
        .only("pk", "processing_queued_at", "processing_attempts")
        .order_by("processing_queued_at", "pk")[:BATCH]
    )
    for image in candidates:
        if not _image_overdue(image, now):
            continue
        # Compare and set: only if nobody sent or finished it since it was read.
        sent = _pending_images().filter(
            pk=image.pk, processing_queued_at=image.processing_queued_at
        )
        if not sent.update(processing_queued_at=now):
            continue
        # A task that kept starting without finishing is failed by its own next start.
        send_task(process_image, image.pk, on_unsent=lambda pk=image.pk: _image_unsent(pk))
        outcome.requeued += 1
    return outcome


def _image_unsent(image_id: int) -> None:
    _pending_images().filter(pk=image_id).update(processing_queued_at=None)


def images_backlog() -> Backlog:
    return _backlog(_pending_images(), "created_at")


# --- import runs --------------------------------------------------------------------------------


def _runs(status: str):
    return IngestRun.objects.filter(status=status)


def reconcile_ingest_runs(now: datetime) -> Outcome:
    outcome = Outcome()
    overdue = now - timedelta(seconds=settings.INGEST_REQUEUE_AFTER_SECONDS)
    queued = _runs(IngestRun.Status.QUEUED).filter(
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=overdue)
    )
    for run in queued.only("pk", "heartbeat_at")[:BATCH]:
        taken = _runs(IngestRun.Status.QUEUED).filter(pk=run.pk, heartbeat_at=run.heartbeat_at)
        if taken.update(heartbeat_at=now):
            send_task(run_queued_ingest, run.pk, on_unsent=lambda pk=run.pk: _run_unsent(pk))
            outcome.requeued += 1

    expired = now - timedelta(seconds=settings.INGEST_LEASE_SECONDS)
    dead = _runs(IngestRun.Status.RUNNING).filter(
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=expired)
    )
    for run in dead[:BATCH]:
        still = _runs(IngestRun.Status.RUNNING).filter(pk=run.pk, heartbeat_at=run.heartbeat_at)
        if not run.upload_key:
            # A command-line import whose process died: there is no file left to resume from.
            if still.exists():
                ingest_runs.give_up(run, _("The import process stopped before it finished."))
                outcome.failed += 1
        elif run.attempts >= settings.INGEST_MAX_ATTEMPTS:
            if still.exists():
                ingest_runs.give_up(
                    run,
                    _("The worker importing this file stopped %(count)s times.")
                    % {"count": run.attempts},
                )
                outcome.failed += 1
        elif still.update(status=IngestRun.Status.QUEUED, claimed_by="", heartbeat_at=now):
            send_task(run_queued_ingest, run.pk, on_unsent=lambda pk=run.pk: _run_unsent(pk))
            outcome.resumed += 1
    return outcome


def _run_unsent(run_id: int) -> None:
    _runs(IngestRun.Status.QUEUED).filter(pk=run_id).update(heartbeat_at=None)


def ingest_runs_backlog() -> Backlog:
    waiting = IngestRun.objects.filter(
        status__in=[IngestRun.Status.QUEUED, IngestRun.Status.RUNNING]
    )
    return _backlog(waiting, "started_at")


# --- cases awaiting their checks ----------------------------------------------------------------

_AWAITING_CHECKS = [CaseState.SUBMITTED, CaseState.QUALITY_CHECKS]


def _awaiting_checks():
    return Case.objects.filter(state__in=_AWAITING_CHECKS)


def reconcile_quality_checks(now: datetime) -> Outcome:
    outcome = Outcome()
    overdue = now - timedelta(seconds=settings.CHECKS_REQUEUE_AFTER_SECONDS)
    cases = _awaiting_checks().filter(
        Q(checks_queued_at__isnull=True) | Q(checks_queued_at__lt=overdue)
    )
    for case in cases.only("pk", "checks_queued_at").order_by("pk")[:BATCH]:
        sent = _awaiting_checks().filter(pk=case.pk, checks_queued_at=case.checks_queued_at)
        if sent.update(checks_queued_at=now):
            send_task(run_quality_checks, case.pk, on_unsent=lambda pk=case.pk: _checks_unsent(pk))
            outcome.requeued += 1
    return outcome


def _checks_unsent(case_id: int) -> None:
    _awaiting_checks().filter(pk=case_id).update(checks_queued_at=None)


def checks_backlog() -> Backlog:
    return _backlog(_awaiting_checks(), "submitted_at")


def register() -> None:
    register_work_kind(
        WorkKind(
            name="images",
            label=_("Images waiting for processing"),
            reconcile=reconcile_images,
            backlog=images_backlog,
        )
    )
    register_work_kind(
        WorkKind(
            name="ingest_runs",
            label=_("Imports waiting or running"),
            reconcile=reconcile_ingest_runs,
            backlog=ingest_runs_backlog,
        )
    )
    register_work_kind(
        WorkKind(
            name="quality_checks",
            label=_("Submitted cases waiting for their checks"),
            reconcile=reconcile_quality_checks,
            backlog=checks_backlog,
        )
    )
