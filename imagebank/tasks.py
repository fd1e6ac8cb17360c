"""Background work of the core: thin Celery wrappers that lock, check state, and are idempotent."""

import hashlib
import logging

from celery import shared_task
from django.db import transaction
from django.utils.translation import gettext as _

from imagebank import hooks, image_processing, storage
from imagebank.lifecycle import CaseState
from imagebank.models import Case, Image, ProcessingStatus
from imagebank.services.cases import transition_case

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240, queue="ingest")
def process_image(image_id: int) -> str:
    """Derive an image's previews and dimensions, and confirm its hash. Safe to run twice."""
    image = Image.objects.filter(pk=image_id).only("processing_status", "file").first()
    if image is None or image.processing_status == ProcessingStatus.DONE:
        return "skipped"
    data = storage.read_bytes(image.file.name)
    failure = ""
    derived = None
    if hashlib.sha256(data).hexdigest() != image.sha256:
        failure = _("The stored file does not match its SHA-256; it may be damaged.")
    else:
        try:
            derived = image_processing.derive(data, image.file.name)
        except (image_processing.InvalidImage, OSError) as error:
            failure = str(error)[:500]
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
        image.save()
    return image.processing_status


@shared_task(acks_late=True, time_limit=900, soft_time_limit=840, queue="ingest")
def run_quality_checks(case_id: int) -> str:
    """Run the registered automated checks on a submitted case, then hand it to review."""
    case = Case.objects.filter(pk=case_id).first()
    if case is None:
        return "missing"
    if case.state == CaseState.SUBMITTED:
        case = transition_case(case=case, to_state=CaseState.QUALITY_CHECKS)
    if case.state != CaseState.QUALITY_CHECKS:
        return "skipped"  # already past the checks: a redelivered message
    for check in hooks.quality_checks():
        check(case)
    transition_case(case=case, to_state=CaseState.IN_REVIEW)
    return "in_review"
