"""Background work of the core: thin Celery wrappers that lock, check state, and are idempotent.

Every task here runs on the `ingest` queue (but the reconciler's, on `default`), declared with
their routes in imagebank.queues. Each is an imagebank.durable.DurableTask (the Celery app's task
class): acknowledged late, given back when its worker dies, outages retried with backoff. A task
imports the service it calls inside its function, so that services (which queue tasks on commit)
and tasks never import each other at module level.
"""

import hashlib
import logging
from datetime import timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from imagebank import hooks, outages, storage
from imagebank.durable import record_failure
from imagebank.imaging import processing as image_processing
from imagebank.lifecycle import CaseState, IllegalTransition
from imagebank.models import Case, Image, ProcessingStatus, TaskFailure

logger = logging.getLogger(__name__)


def _derive(image: Image) -> tuple[image_processing.Derivatives | None, str, bytes]:
    """The derivatives of a stored image, or None and the reason it cannot be processed; and the
    stored file's bytes.

    Failures of the file are recorded on the image rather than raised: with acks_late, a raised
    error would redeliver the message for ever and leave the image pending. An outage of storage
    is raised, for DurableTask to retry.
    """
    try:
        data = storage.read_bytes(image.file.name)
    except OSError as error:
        if outages.is_transient(error):
            raise
        return None, _("The stored file cannot be read (%(error)s).") % {"error": error}, b""
    if hashlib.sha256(data).hexdigest() != image.sha256:
        return None, _("The stored file does not match its SHA-256; it may be damaged."), data
    try:
        return image_processing.derive(data, image.file.name), "", data
    except (image_processing.InvalidImage, OSError) as error:
        if outages.is_transient(error):
            raise
        return None, str(error)[:500], data


def _count_start(image_id: int, *, retries: int) -> bool:
    """Count a new delivery of the image's task; False once it has started too often.

    A message is given back when its worker dies (reject_on_worker_lost), so an image that kills
    the worker every time (out of memory, say) would come back for ever: after IMAGE_MAX_ATTEMPTS
    starts it is failed instead. A retry after an outage is the same delivery and is not counted.
    """
    if retries:
        return True
    with transaction.atomic():
        image = (
            Image.objects.select_for_update()
            .filter(pk=image_id)
            .exclude(processing_status=ProcessingStatus.DONE)
            .only("processing_attempts")
            .first()
        )
        if image is None:
            return True  # done meanwhile: the caller finds out
        if image.processing_attempts >= settings.IMAGE_MAX_ATTEMPTS:
            _fail_image(
                image_id,
                _(
                    "Processing was started %(count)s times without finishing (the worker "
                    "stopped each time); the file may be too large or damaged. Remove it and "
                    "send it again, or ask an administrator."
                )
                % {"count": image.processing_attempts},
            )
            return False
        Image.objects.filter(pk=image_id).update(processing_attempts=F("processing_attempts") + 1)
    return True


def _fail_image(image_id: int, reason: str) -> None:
    Image.objects.filter(pk=image_id).exclude(processing_status=ProcessingStatus.DONE).update(
        processing_status=ProcessingStatus.FAILED, processing_error=reason[:500]
    )
    logger.warning("image %s failed processing: %s", image_id, reason)


@shared_task(bind=True, time_limit=300, soft_time_limit=240)
def process_image(self, image_id: int) -> str:
    """Derive an image's previews and dimensions, and confirm its hash. Safe to run twice."""
    image = Image.objects.filter(pk=image_id).only("processing_status", "file", "sha256").first()
    if image is None or image.processing_status == ProcessingStatus.DONE:
        return "skipped"
    if not _count_start(image_id, retries=self.request.retries):
        return ProcessingStatus.FAILED
    try:
        derived, failure, data = _derive(image)
    except SoftTimeLimitExceeded:
        # It would take as long the next time: a reason the contributor can act on.
        _fail_image(image_id, _("Processing took too long; the file may be too large."))
        return ProcessingStatus.FAILED
    if derived is not None:
        preview = storage.store_bytes(derived.preview_jpeg, "jpg", prefix="previews")
        thumbnail = storage.store_bytes(derived.thumbnail_jpeg, "jpg", prefix="thumbnails")
    with transaction.atomic():
        image = Image.objects.select_for_update().filter(pk=image_id).first()
        if image is None or image.processing_status == ProcessingStatus.DONE:
            return "skipped"
        if derived is None:
            image.processing_status = ProcessingStatus.FAILED
            image.processing_error = failure
            logger.warning("image %s failed processing: %s", image_id, failure)
        else:
            image.width, image.height = derived.width, derived.height
            image.preview, image.thumbnail = preview.key, thumbnail.key
            image.processing_status = ProcessingStatus.DONE
            image.processing_error = ""
        image.save(
            update_fields=[
                "width",
                "height",
                "preview",
                "thumbnail",
                "processing_status",
                "processing_error",
            ]
        )
    if derived is not None:
        hooks.run_image_processors(image, data)
    return image.processing_status


def _run_hook(check, case: Case) -> None:
    """One registered check hook. An outage is raised (the task retries); any other error is
    logged and kept for the operations page, and the case still goes on to review: a check that
    crashes must not hold a case back (the checks record their own per-image errors)."""
    try:
        check(case)
    except Exception as error:
        if outages.is_transient(error):
            raise
        logger.exception("quality check hook %s crashed on case %s", check, case.pk)
        record_failure(f"quality check {getattr(check, '__qualname__', check)}", [case.pk], error)


@shared_task(time_limit=900, soft_time_limit=840)
def run_quality_checks(case_id: int) -> str:
    """Run the registered automated checks on a submitted case, then hand it to review.

    Idempotent: a case already past its checks is skipped, and the checks themselves keep one
    result per image, check and version, so running them twice stores nothing twice.
    """
    from imagebank.services.cases import transition_case  # tasks import services, never back

    case = Case.objects.filter(pk=case_id).first()
    if case is None:
        return "missing"
    try:
        if case.state == CaseState.SUBMITTED:
            case = transition_case(case=case, to_state=CaseState.QUALITY_CHECKS)
        if case.state != CaseState.QUALITY_CHECKS:
            return "skipped"  # already past the checks: a redelivered message
        for check in hooks.quality_checks():
            _run_hook(check, case)
        transition_case(case=case, to_state=CaseState.IN_REVIEW)
    except IllegalTransition:
        return "skipped"  # another delivery of this message moved the case meanwhile
    Case.objects.filter(pk=case_id).update(checks_queued_at=None)
    return "in_review"


# The hard limit bounds one attempt; an import cut by the soft limit is resumed by the next one
# (imagebank.ingest.runs), so no import is limited to one attempt's length.
INGEST_SOFT_TIME_LIMIT = 1740
INGEST_TIME_LIMIT = 1800


@shared_task(bind=True, time_limit=INGEST_TIME_LIMIT, soft_time_limit=INGEST_SOFT_TIME_LIMIT)
def run_queued_ingest(self, run_id: int) -> str:
    """Import a file sent from the import page. Idempotent: a run is taken by one worker at a
    time, and a run whose worker died is resumed from where it stopped."""
    from imagebank.ingest.runs import execute_queued_ingest

    # A retry after an outage is the same delivery: it does not use up one of the run's attempts.
    return execute_queued_ingest(
        run_id, task_id=self.request.id or "", first_delivery=not self.request.retries
    )


@shared_task(time_limit=120, soft_time_limit=100)
def reconcile() -> dict:
    """Celery beat's pass of the reconciler (imagebank.reconcile): send again what was lost.
    Task failures older than TASK_FAILURE_KEEP_DAYS leave the operations page on the way."""
    from imagebank.reconcile import reconcile_all

    keep = timezone.now() - timedelta(days=settings.TASK_FAILURE_KEEP_DAYS)
    TaskFailure.objects.filter(at__lt=keep).delete()
    return reconcile_all()
