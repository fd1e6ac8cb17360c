"""Background work of the core: thin Celery wrappers that lock, check state, and are idempotent.

Every task here runs on the `ingest` queue, declared with its route in imagebank.queues. A task
imports the service it calls inside its function, so that services (which queue tasks on commit)
and tasks never import each other at module level.
"""

import hashlib
import logging

from celery import shared_task
from django.db import OperationalError, transaction
from django.utils.translation import gettext as _

from imagebank import hooks, storage
from imagebank.imaging import processing as image_processing
from imagebank.lifecycle import CaseState, IllegalTransition
from imagebank.models import Case, Image, ProcessingStatus

logger = logging.getLogger(__name__)


def _derive(image: Image) -> tuple[image_processing.Derivatives | None, str]:
    """The derivatives of a stored image, or None and the reason it cannot be processed.

    Failures are recorded on the image rather than raised: with acks_late, a raised error would
    redeliver the message for ever and leave the image pending.
    """
    try:
        data = storage.read_bytes(image.file.name)
    except OSError as error:
        return None, _("The stored file cannot be read (%(error)s).") % {"error": error}
    if hashlib.sha256(data).hexdigest() != image.sha256:
        return None, _("The stored file does not match its SHA-256; it may be damaged.")
    try:
        return image_processing.derive(data, image.file.name), ""
    except (image_processing.InvalidImage, OSError) as error:
        return None, str(error)[:500]


# A database that is briefly busy or unreachable is worth another try; anything else is recorded.
@shared_task(
    acks_late=True,
    time_limit=300,
    soft_time_limit=240,
    autoretry_for=(OperationalError,),
    retry_backoff=2,
    max_retries=6,
)
def process_image(image_id: int) -> str:
    """Derive an image's previews and dimensions, and confirm its hash. Safe to run twice."""
    image = Image.objects.filter(pk=image_id).only("processing_status", "file", "sha256").first()
    if image is None or image.processing_status == ProcessingStatus.DONE:
        return "skipped"
    derived, failure = _derive(image)
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
    return image.processing_status


@shared_task(acks_late=True, time_limit=900, soft_time_limit=840)
def run_quality_checks(case_id: int) -> str:
    """Run the registered automated checks on a submitted case, then hand it to review."""
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
            check(case)
        transition_case(case=case, to_state=CaseState.IN_REVIEW)
    except IllegalTransition:
        return "skipped"  # another delivery of this message moved the case meanwhile
    return "in_review"


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3540)
def run_queued_ingest(run_id: int) -> str:
    """Import a file sent from the import page. Idempotent: only a queued run is taken."""
    from imagebank.ingest.runs import execute_queued_ingest

    return execute_queued_ingest(run_id)
