"""Writes one case from a reader into the bank: all of it that is valid, in one transaction.

A case whose own metadata is invalid is not written at all. Otherwise it is stored with every image
that passes the checks, and the report names each image left out and why. Images are recognised by
the SHA-256 of the file as received: one already in the site is not stored again, so re-running an
import creates nothing new and says so.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from imagebank.image_processing import InvalidImage
from imagebank.ingest.items import CaseItem, ImageItem
from imagebank.ingest.prepared import PreparedImage, prepare_upload
from imagebank.ingest.report import CaseResult, IngestReport, Outcome
from imagebank.models import Image, Site
from imagebank.services import cases as case_services
from imagebank.services import images as image_services


def _messages(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {
            field: [str(m) for e in errors for m in e.messages]
            for field, errors in error.error_dict.items()
        }
    return {"": [str(m) for m in error.messages]}


def _prepare(image: ImageItem, item: CaseItem, report: IngestReport) -> PreparedImage | None:
    where = {"file": image.filename, "row": image.row, "case": item.reference}
    try:
        data = image.read()
    except OSError as error:
        report.error(_("The file cannot be read: %(error)s") % {"error": error}, **where)
        return None
    if len(data) > settings.MAX_UPLOAD_BYTES:
        report.error(
            _("The file is larger than the %(limit)s MB the bank accepts.")
            % {"limit": settings.MAX_UPLOAD_BYTES // (1024 * 1024)},
            **where,
        )
        return None
    try:
        return prepare_upload(data, image.filename)
    except InvalidImage as error:
        report.error(str(error), **where)
        return None


def _with_file_attributes(
    metadata: dict, prepared: list[PreparedImage], item: CaseItem, report: IngestReport
) -> dict:
    """Fill fields the source left empty with what the files say (e.g. DICOM PatientAge)."""
    extra = {}
    for image in prepared:
        for field, value in image.attributes.items():
            if field in case_services.CLINICAL_FIELDS and metadata.get(field) in (None, ""):
                extra.setdefault(field, value)
    if not extra:
        return metadata
    try:
        return case_services.clean_clinical_fields({**metadata, **extra})
    except ValidationError as error:
        for field, messages in _messages(error).items():
            report.warning(
                _("Value read from the image file ignored: %(why)s") % {"why": "; ".join(messages)},
                field=field,
                case=item.reference,
            )
        return metadata


def write_case(*, site: Site, actor, item: CaseItem, report: IngestReport) -> CaseResult:
    result = CaseResult(reference=item.reference, outcome=Outcome.REJECTED)
    report.cases.append(result)
    if not item.metadata_valid:
        report.error(_("The case's metadata is invalid: case not imported."), case=item.reference)
        return result
    try:
        metadata = case_services.clean_clinical_fields(item.metadata)
    except ValidationError as error:
        for field, messages in _messages(error).items():
            for message in messages:
                report.error(message, field=field, case=item.reference)
        report.error(_("The case's metadata is invalid: case not imported."), case=item.reference)
        return result

    # Read and check every image before anything is written.
    ready: list[tuple[ImageItem, PreparedImage]] = []
    seen: dict[str, str] = {}
    for image in sorted(item.images, key=lambda i: (i.display_order is None, i.display_order or 0)):
        prepared = _prepare(image, item, report)
        if prepared is None:
            result.images_left_out += 1
            continue
        if prepared.received_sha256 in seen:
            report.warning(
                _("Same content as %(other)s: kept once.")
                % {"other": seen[prepared.received_sha256]},
                file=image.filename,
                row=image.row,
                case=item.reference,
            )
            continue
        seen[prepared.received_sha256] = image.filename
        ready.append((image, prepared))

    in_bank = dict(
        Image.objects.filter(case__site=site, original_sha256__in=list(seen)).values_list(
            "original_sha256", "case_id"
        )
    )
    new = [
        (image, prepared) for image, prepared in ready if prepared.received_sha256 not in in_bank
    ]
    for image, prepared in ready:
        if prepared.received_sha256 in in_bank:
            result.images_already_in_bank += 1
            report.info(
                _("Already in the bank (case %(case)s): not stored again.")
                % {"case": in_bank[prepared.received_sha256]},
                file=image.filename,
                row=image.row,
                case=item.reference,
            )
    if not new:
        if in_bank:
            result.outcome = Outcome.UNCHANGED
            result.case_id = next(iter(in_bank.values()))
        else:
            report.error(_("No valid image: case not imported."), case=item.reference)
        return result

    metadata = _with_file_attributes(metadata, [prepared for _image, prepared in new], item, report)

    with transaction.atomic():
        case = case_services.create_case(
            site=site, actor=actor, local_patient_id=item.local_patient_id, **metadata
        )
        for position, (image, prepared) in enumerate(new, start=1):
            try:
                with transaction.atomic():
                    image_services.store_prepared(
                        case=case,
                        actor=actor,
                        prepared=prepared,
                        filename=image.filename,
                        step=image.step,
                        display_order=position,
                        step_original_wording=image.step_original_wording,
                        capture_device=image.capture_device,
                    )
            except ValidationError as error:
                result.images_left_out += 1
                for messages in _messages(error).values():
                    for message in messages:
                        report.error(
                            message, file=image.filename, row=image.row, case=item.reference
                        )
                continue
            result.images_added += 1
    result.outcome = Outcome.CREATED
    result.case_id = case.pk
    return result
