import logging
import os
import tempfile
import uuid
from pathlib import Path
from typing import IO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imagebank import filenames
from imagebank.ingest.sources import ingest_paths
from imagebank.models import IngestRun, Site
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


def _finish(run: IngestRun, *, paths: list[Path]) -> IngestRun:
    """Import the paths for a run that is RUNNING and keep the report with it."""
    try:
        report = ingest_paths([Path(p) for p in paths], site=run.site, actor=run.started_by)
    except Exception:
        run.status = IngestRun.Status.FAILED
        # The detail goes to the log, not to the page: it may name server paths.
        run.failure = _(
            "The import stopped on an unexpected error, reported to the administrators. Cases "
            "imported before it are in the bank; sending the same file again skips them."
        )
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "failure", "finished_at"])
        raise
    report.source = run.source_name
    run.report = report.to_dict()
    run.status = IngestRun.Status.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=["report", "status", "finished_at"])
    return run


def run_ingest(*, site: Site, actor, paths: list[Path], source_name: str = "") -> IngestRun:
    """Import files, folders or ZIPs into a site now, keeping the report with the run.

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
    )
    return _finish(run, paths=paths)


def queue_ingest(*, site: Site, actor, fileobj: IO[bytes], filename: str) -> IngestRun:
    """Keep an uploaded file privately and import it in a worker (the import page's path).

    The page answers at once with the run, whose page follows the import to its report.
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
            )
            transaction.on_commit(lambda: run_queued_ingest.delay(run.pk))
    except Exception:
        default_storage.delete(key)
        raise
    return run


def _claim(run_id: int) -> IngestRun | None:
    with transaction.atomic():
        run = IngestRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status != IngestRun.Status.QUEUED:
            return None  # gone, or another delivery of the message took it
        run.status = IngestRun.Status.RUNNING
        run.save(update_fields=["status"])
    return run


def execute_queued_ingest(run_id: int) -> str:
    """Import the file a queued run holds; safe to call twice (the second call does nothing)."""
    run = _claim(run_id)
    if run is None:
        return "skipped"
    key = run.upload_key
    try:
        with tempfile.TemporaryDirectory(prefix="queued-ingest-") as folder:
            path = Path(folder) / os.path.basename(key)
            with default_storage.open(key, "rb") as source, path.open("wb") as sink:
                while chunk := source.read(1024 * 1024):
                    sink.write(chunk)
            _finish(run, paths=[path])
    except Exception:
        logger.exception("import run %s failed", run_id)
        # _finish marked the run failed when the import itself raised; reading the upload can
        # fail before it, so make sure of it here.
        IngestRun.objects.filter(pk=run_id, status=IngestRun.Status.RUNNING).update(
            status=IngestRun.Status.FAILED,
            failure=_("The uploaded file could not be read back from storage."),
            finished_at=timezone.now(),
        )
    finally:
        default_storage.delete(key)
        IngestRun.objects.filter(pk=run_id).update(upload_key="")
    return IngestRun.objects.values_list("status", flat=True).get(pk=run_id)
