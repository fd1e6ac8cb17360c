import logging
import os
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import IO

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, InterfaceError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from imagebank import filenames, outages
from imagebank.durable import send_task_on_commit
from imagebank.ingest.report import IngestReport, Outcome
from imagebank.ingest.sources import ingest_paths
from imagebank.lifecycle import CaseState, IllegalTransition
from imagebank.models import Case, IngestRun, Site
from imagebank.permissions import can_contribute_to, require
from imagebank.services.sites import add_site_member
from imagebank.tasks import run_queued_ingest

logger = logging.getLogger(__name__)

# The account that command-line imports act as when no user is named: it cannot sign in, and it
# contributes only to the sites it has imported into, so the audit trail names the import.
IMPORTER_EMAIL = "data-import@system.invalid"
UPLOAD_PREFIX = "ingest-uploads"


def importer_for(site: Site):
    user, created = get_user_model().objects.get_or_create(
        email=IMPORTER_EMAIL, defaults={"full_name": "Data import (command line)"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    if not can_contribute_to(user, site):
        add_site_member(site=site, user=user)
    return user


# Why an import stopped, as the contributor reads it on the run's page, then what they can do.
_STOPPED_BY = {
    outages.DATABASE: gettext_lazy("The import stopped because the database could not be reached."),
    outages.BROKER: gettext_lazy(
        "The import stopped because the message broker could not be reached."
    ),
    outages.CACHE: gettext_lazy("The import stopped because the cache could not be reached."),
    outages.STORAGE: gettext_lazy("The import stopped because file storage could not be reached."),
    None: gettext_lazy(
        "The import stopped on an unexpected error, reported to the administrators."
    ),
}
_RESEND = gettext_lazy(
    "Cases imported before it are in the bank; sending the same file again skips them."
)


class LeaseLost(Exception):
    """Another worker (or the reconciler) took the run over: this one must stop writing."""


class _Heartbeat:
    """The report's progress callback: every INGEST_HEARTBEAT_SECONDS, tell the database the
    worker is alive and keep the report so far with the run (what a failed run shows)."""

    def __init__(self, run: IngestRun):
        self.run_id = run.pk
        self.claimed_by = run.claimed_by
        self.last = time.monotonic()

    def __call__(self, report: IngestReport) -> None:
        if time.monotonic() - self.last < settings.INGEST_HEARTBEAT_SECONDS:
            return
        self.last = time.monotonic()
        alive = IngestRun.objects.filter(
            pk=self.run_id, status=IngestRun.Status.RUNNING, claimed_by=self.claimed_by
        ).update(heartbeat_at=timezone.now(), report=report.to_dict())
        if not alive:
            raise LeaseLost(self.run_id)


def _write_fresh(run_id: int, **fields) -> int:
    """Update the run on a working connection, whatever became of the one the import used: a
    connection that failed (dropped by the server, say) is closed and opened again, a few tries
    over a few seconds, then the outage is raised for the task to retry. Inside a transaction the
    connection cannot be replaced, and the error is raised at once."""
    for attempt in range(4):
        try:
            return IngestRun.objects.filter(pk=run_id).update(**fields)
        except (DatabaseError, InterfaceError):
            if attempt == 3 or connection.in_atomic_block:
                raise
            connection.close()
            time.sleep(0.5 * 2**attempt)
    return 0


def _finish(run: IngestRun, *, paths: list[Path], resumable: bool = False) -> IngestRun:
    """Import the paths for a run that is RUNNING and keep the report with it.

    A `resumable` run (a queued one, which a worker imports) leaves outages and the end of its
    task's time to its caller, still running, to be resumed; any other error, or any error at all
    for a run that is not resumable, fails the run, keeping the report of the cases written so far.
    """
    report = IngestReport(source=run.source_name, on_progress=_Heartbeat(run))
    try:
        ingest_paths([Path(p) for p in paths], site=run.site, actor=run.started_by, report=report)
    except LeaseLost:
        raise
    except Exception as error:
        if resumable and (isinstance(error, SoftTimeLimitExceeded) or outages.is_transient(error)):
            _keep_partial_report(run.pk, report)
            raise
        logger.exception("import run %s failed", run.pk)
        # The detail goes to the log, not to the page: it may name server paths.
        reason = " ".join(
            [str(_STOPPED_BY.get(outages.service_out(error), _STOPPED_BY[None])), str(_RESEND)]
        )
        _fail(run.pk, reason, report=report)
        raise
    report.on_progress = None
    if run.submit:
        _submit_cases(report, run.started_by)
    report.source = run.source_name
    run.report = report.to_dict()
    run.status = IngestRun.Status.DONE
    run.finished_at = timezone.now()
    _write_fresh(
        run.pk,
        report=run.report,
        status=run.status,
        finished_at=run.finished_at,
        heartbeat_at=run.finished_at,
    )
    return run


def _submit_cases(report: IngestReport, actor) -> None:
    """Submit each imported case for review (`--submit`), as a contributor would. A case already
    submitted (a re-run, a resumed run) is left as it is; one that misses what its site requires
    stays a draft, and the report says what it misses."""
    from imagebank.services.cases import submit_case

    for result in report.cases:
        if result.case_id is None or result.outcome == Outcome.REJECTED:
            continue
        case = Case.objects.filter(pk=result.case_id).first()
        if case is None or case.state not in (CaseState.DRAFT, CaseState.RETURNED):
            continue
        try:
            submit_case(case=case, actor=actor)
        except ValidationError as error:
            for message in (m for messages in error.message_dict.values() for m in messages):
                report.warning(
                    _("Not submitted for review: %(why)s") % {"why": message},
                    case=result.reference,
                )
        except IllegalTransition:
            continue  # moved on meanwhile
        else:
            result.submitted = True


def _keep_partial_report(run_id: int, report: IngestReport) -> None:
    """What the resumed run or its failure will show; skipped when the database is the outage."""
    report.on_progress = None
    try:
        IngestRun.objects.filter(pk=run_id).update(report=report.to_dict())
    except (DatabaseError, InterfaceError) as error:
        logger.warning("could not keep the report so far of import run %s: %s", run_id, error)


def _fail(run_id: int, reason: str, *, report: IngestReport | None = None) -> None:
    fields = {"status": IngestRun.Status.FAILED, "failure": reason, "finished_at": timezone.now()}
    if report is not None:
        report.on_progress = None
        fields["report"] = report.to_dict()
    _write_fresh(run_id, **fields)


def run_ingest(
    *, site: Site, actor, paths: list[Path], source_name: str = "", submit: bool = False
) -> IngestRun:
    """Import files, folders or ZIPs into a site now, keeping the report with the run; with
    `submit`, then submit every imported case for review.

    Each case is written in its own transaction (see ingest.writer), so the run is not atomic: a
    failure midway leaves the cases before it stored and the report saying so.
    """
    require(can_contribute_to(actor, site), _("You do not contribute to this site."))
    # Names as the file-name policy allows (imagebank.filenames); of a path, its last part only.
    shown = ", ".join(filenames.stored_name(Path(p).name) for p in paths)
    run = IngestRun.objects.create(
        site=site,
        started_by=actor,
        source_name=(filenames.stored_name(source_name) if source_name else shown)[:500],
        heartbeat_at=timezone.now(),
        submit=submit,
    )
    return _finish(run, paths=paths)


def queue_ingest(
    *, site: Site, actor, fileobj: IO[bytes], filename: str, submit: bool = False
) -> IngestRun:
    """Keep an uploaded file privately and import it in a worker (the import page's path).

    The page answers at once with the run, whose page follows the import to its report. When the
    broker is out the run is still created (the reconciler sends it once the broker is back); when
    storage or the database is out nothing is kept and the outage is raised (a 503).
    """
    require(can_contribute_to(actor, site), _("You do not contribute to this site."))
    name = os.path.basename(filename or "upload")[:200] or "upload"
    fileobj.seek(0, os.SEEK_END)
    if fileobj.tell() > settings.INGEST_MAX_UPLOAD_BYTES:
        raise ValidationError(
            {
                "file": _("%(file)s is larger than the %(limit)s MB the bank accepts.")
                % {"file": name, "limit": settings.INGEST_MAX_UPLOAD_BYTES // (1024 * 1024)}
            }
        )
    fileobj.seek(0)
    key = default_storage.save(f"{UPLOAD_PREFIX}/{uuid.uuid4().hex}/{name}", File(fileobj))
    try:
        with transaction.atomic():
            run = IngestRun.objects.create(
                site=site,
                started_by=actor,
                source_name=filenames.stored_name(name),
                status=IngestRun.Status.QUEUED,
                upload_key=key,
                heartbeat_at=timezone.now(),
                submit=submit,
            )
            send_task_on_commit(run_queued_ingest, run.pk, on_unsent=lambda: _mark_unsent(run.pk))
    except Exception:
        _delete_upload(key)
        raise
    return run


def _mark_unsent(run_id: int) -> None:
    """The run's message could not be sent: the reconciler's next pass sends it."""
    IngestRun.objects.filter(pk=run_id, status=IngestRun.Status.QUEUED).update(heartbeat_at=None)


def _delete_upload(key: str) -> None:
    try:
        default_storage.delete(key)
    except Exception as error:  # storage is out: the upload folder is swept by an operator
        logger.warning("could not delete the upload %s: %s", key, error)


def lease_expired(run: IngestRun, now=None) -> bool:
    """A running run whose worker gave no sign of life for INGEST_LEASE_SECONDS."""
    now = now or timezone.now()
    return run.heartbeat_at is None or run.heartbeat_at < now - timedelta(
        seconds=settings.INGEST_LEASE_SECONDS
    )


def _claim(run_id: int, *, task_id: str, first_delivery: bool) -> IngestRun | None:
    """Take the run for this task: a queued run, or a running one whose worker died (the same
    message given back after its worker was killed, a retry after an outage, or an expired
    lease). None when there is nothing to do. A new delivery counts as an attempt; a run that
    has used up INGEST_MAX_ATTEMPTS is failed instead (a file that kills its worker every time
    must not come back for ever)."""
    with transaction.atomic():
        run = IngestRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            return None
        mine = bool(task_id) and run.claimed_by == task_id
        if run.status == IngestRun.Status.RUNNING and not (mine or lease_expired(run)):
            return None  # another worker is importing it
        if run.status not in (IngestRun.Status.QUEUED, IngestRun.Status.RUNNING):
            return None  # done or failed: a late duplicate of the message
        if not run.upload_key:
            return None  # a command-line run: nothing a worker can resume
        if first_delivery and run.attempts >= settings.INGEST_MAX_ATTEMPTS:
            give_up(
                run,
                _("The worker importing this file stopped %(count)s times.")
                % {"count": run.attempts},
            )
            return None
        run.status = IngestRun.Status.RUNNING
        run.claimed_by = task_id
        run.heartbeat_at = timezone.now()
        if first_delivery:
            run.attempts += 1
        run.save(update_fields=["status", "claimed_by", "heartbeat_at", "attempts"])
    return run


def give_up(run: IngestRun, reason: str) -> None:
    """Fail a run whose worker is gone, keeping the report of its last heartbeat, and delete its
    upload. The reason is followed by what the contributor can do."""
    done = len((run.report or {}).get("cases", []))
    read = ngettext(
        "%(count)s case had been read when it stopped.",
        "%(count)s cases had been read when it stopped.",
        done,
    ) % {"count": done}
    IngestRun.objects.filter(pk=run.pk).update(
        status=IngestRun.Status.FAILED,
        failure=" ".join([str(reason), read, str(_RESEND)]),
        finished_at=timezone.now(),
        upload_key="",
        claimed_by="",
    )
    if run.upload_key:
        transaction.on_commit(lambda: _delete_upload(run.upload_key))
    logger.warning("import run %s failed: %s", run.pk, reason)


def execute_queued_ingest(run_id: int, *, task_id: str = "", first_delivery: bool = True) -> str:
    """Import the file a queued run holds; safe to call twice (the second call does nothing).

    A run whose worker died is resumed: the import starts again from the upload, and the cases
    already written are recognised and skipped, as when the same file is sent again. Outages are
    raised with the run still held, for the task to retry (its retry takes the run back); when
    the task's time runs out the run is queued again, to continue in a fresh task.
    """
    run = _claim(run_id, task_id=task_id, first_delivery=first_delivery)
    if run is None:
        return "skipped"
    key = run.upload_key
    try:
        with tempfile.TemporaryDirectory(prefix="queued-ingest-") as folder:
            path = Path(folder) / os.path.basename(key)
            with default_storage.open(key, "rb") as source, path.open("wb") as sink:
                while chunk := source.read(1024 * 1024):
                    sink.write(chunk)
            _finish(run, paths=[path], resumable=True)
    except LeaseLost:
        logger.warning("import run %s was taken over by another worker; this one stops", run_id)
        return "skipped"
    except SoftTimeLimitExceeded:
        _requeue_after_time_limit(run)
        return IngestRun.Status.QUEUED
    except Exception as error:
        if outages.is_transient(error):
            raise  # still RUNNING and claimed by this task: its retry resumes it
        if IngestRun.objects.filter(pk=run_id, status=IngestRun.Status.RUNNING).exists():
            # Reading the upload failed before the import began.
            logger.exception("import run %s failed", run_id)
            _fail(run_id, _("The uploaded file could not be read back from storage."))
    _delete_upload(key)
    _write_fresh(run_id, upload_key="", claimed_by="")
    return IngestRun.objects.values_list("status", flat=True).get(pk=run_id)


def _requeue_after_time_limit(run: IngestRun) -> None:
    """The task's time ran out: queue the run again to continue in a fresh task. A slice that
    wrote cases does not use up an attempt, so a long import always finishes; one that wrote
    nothing does, so a run that makes no progress ends failed."""
    current = IngestRun.objects.get(pk=run.pk)
    progressed = any(
        c.get("outcome") in ("created", "updated") for c in (current.report or {}).get("cases", [])
    )
    IngestRun.objects.filter(pk=run.pk).update(
        status=IngestRun.Status.QUEUED,
        claimed_by="",
        heartbeat_at=timezone.now(),
        attempts=run.attempts - 1 if progressed else run.attempts,
    )
    send_task_on_commit(run_queued_ingest, run.pk, on_unsent=lambda: _mark_unsent(run.pk))
    logger.info("import run %s reached its time limit and is queued to continue", run.pk)
