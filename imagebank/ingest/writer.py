"""Writes one case from a reader into the bank: all of it that is valid, in one transaction.

A case whose own metadata is invalid is not written at all. Otherwise it is stored with every image
that passes the checks, and the report names each image left out and why. Images are recognised by
the SHA-256 of the file as received: one already in the site is not stored again, so re-running an
import creates nothing new and says so.
"""

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from imagebank import hooks, storage, timing
from imagebank import vocabularies as vocab
from imagebank.imaging.prepared import PreparedImage, prepare_upload
from imagebank.imaging.processing import InvalidImage
from imagebank.ingest import existing_case
from imagebank.ingest.existing_case import Relation
from imagebank.ingest.items import CaseItem, ImageItem
from imagebank.ingest.report import CaseResult, IngestReport, Outcome
from imagebank.models import Case, Image, Site
from imagebank.permissions import site_permissions_remembered
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
        with timing.phase("read files"):
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
        # Bulk imports make previews from the decode that checks the file: one decode, not two.
        with timing.phase("prepare"):
            return prepare_upload(data, image.filename, with_previews=True)
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


@timing.phase("writer")
def write_case(*, site: Site, actor, item: CaseItem, report: IngestReport) -> CaseResult:
    report.progressed()  # a sign of life between cases (a queued run's heartbeat)
    result = CaseResult(reference=item.reference, outcome=Outcome.REJECTED)
    report.cases.append(result)
    # Every name the report may quote for this case ("Same content as …"), with the ID it must
    # not spell (the file-name policy, imagebank.filenames).
    report.learn_names(
        *(image.filename for image in item.images), local_patient_id=item.local_patient_id
    )
    report.learn_reference(item.reference, local_patient_id=item.local_patient_id)
    if not item.metadata_valid:
        report.error(_("Case not imported: see the errors above."), case=item.reference)
        return result
    try:
        metadata = case_services.clean_clinical_fields(item.metadata)
    except ValidationError as error:
        _report_rejection(error, item, report)
        return result

    # Read and check every image before anything is written.
    ready: list[tuple[ImageItem, PreparedImage]] = []
    declared: list[ImageItem] = []  # not sent: the client says the bank holds them
    seen: dict[str, str] = {}  # SHA-256 of the file as received -> its name
    stored_as: dict[str, str] = {}  # SHA-256 of the de-identified object -> its name
    for image in sorted(item.images, key=lambda i: (i.display_order is None, i.display_order or 0)):
        if image.known_sha256:
            if image.known_sha256 not in seen:
                seen[image.known_sha256] = image.filename
                declared.append(image)
            continue
        prepared = _prepare(image, item, report)
        if prepared is None:
            result.images_left_out += 1
            continue
        # Two files can differ only in what de-identification removes (a DICOM's private tags):
        # the stored objects would then be one and the same, so that counts as a repeat too.
        stored_sha256 = _sha256(prepared.data)
        twin = seen.get(prepared.received_sha256) or stored_as.get(stored_sha256)
        if twin:
            report.warning(
                _("Same content as %(other)s: kept once.") % {"other": twin},
                file=image.filename,
                row=image.row,
                case=item.reference,
            )
            continue
        seen[prepared.received_sha256] = stored_as[stored_sha256] = image.filename
        ready.append((image, prepared))

    in_bank = dict(
        Image.objects.received_in_site(site, seen).values_list("original_sha256", "case_id")
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
    _account_for_declared(declared, in_bank, item, report, result)

    existing = _case_already_in_bank(in_bank, item, report)
    linked = existing is not None and existing_case.relation(existing, item, site)
    if linked == Relation.OTHER:
        result.images_left_out += len(new)
        report.error(
            _(
                "Images of this case are already in case %(case)s of the bank, which is another "
                "case (another patient, or another case reference: “%(reference)s”): nothing was "
                "imported. Check which case these images belong to."
            )
            % {"case": existing.pk, "reference": existing.source_reference},
            case=item.reference,
        )
        return result
    if existing is None and not new:
        report.error(_("No valid image: case not imported."), case=item.reference)
        return result
    if linked == Relation.SAME and not new:
        result.outcome = Outcome.UNCHANGED
        result.case_id = existing.pk
        return result
    if existing is not None and not existing.is_editable:
        # Its images are under review or decided: adding to it now would change what a reviewer
        # saw. The contributor gets the case back (returned) to add them.
        result.outcome = Outcome.UNCHANGED if linked == Relation.SAME else Outcome.REJECTED
        result.case_id = existing.pk
        result.images_left_out += len(new)
        report.error(
            ngettext(
                "This case is already in the bank as case %(case)s, which is %(state)s: it was "
                "not changed and its %(count)s new image was not added. That can be done while "
                "the case is a draft or returned.",
                "This case is already in the bank as case %(case)s, which is %(state)s: it was "
                "not changed and its %(count)s new images were not added. That can be done while "
                "the case is a draft or returned.",
                len(new),
            )
            % {"case": existing.pk, "state": existing.get_state_display(), "count": len(new)},
            case=item.reference,
        )
        return result
    if linked == Relation.SAME:
        report.info(
            _(
                "Part of this case is already in the bank as case %(case)s: new images join it; "
                "its metadata is not changed (edit it on the case page)."
            )
            % {"case": existing.pk},
            case=item.reference,
        )
    elif linked == Relation.UNLINKED:
        report.info(
            _(
                "Case %(case)s of the bank (the same patient, with no case reference) already "
                "holds images of this case: it becomes %(reference)s, its empty fields are filled "
                "from this import, and new images join it."
            )
            % {"case": existing.pk, "reference": item.source_reference},
            case=item.reference,
        )

    try:
        # One case, one transaction; within it the actor's right on the site is looked up once,
        # not again for every image (the case's state is still read under its lock each time).
        with timing.phase("database"), site_permissions_remembered(), transaction.atomic():
            if existing is None:
                metadata = _with_file_attributes(metadata, [p for _i, p in new], item, report)
                case = case_services.create_case(
                    site=site,
                    actor=actor,
                    local_patient_id=item.local_patient_id,
                    source_reference=_source_reference(item, report),
                    # A retrospective collection: covered by the site's data-sharing agreement
                    # when one is in force (imagebank.services.consent).
                    imported=True,
                    **metadata,
                )
            elif linked == Relation.UNLINKED:
                case = existing_case.link(existing, actor=actor, item=item, metadata=metadata)
            else:
                case = existing
            _store_images(case, actor, new, item, report, result)
    except ValidationError as error:
        # The case's own checks (e.g. a Swede total that is not the sum of its parts) refused it.
        _forget_unreferenced(prepared for _image, prepared in new)
        result.images_added = 0
        _report_rejection(error, item, report)
        return result
    except Exception:
        _forget_unreferenced(prepared for _image, prepared in new)
        raise
    result.outcome = Outcome.CREATED if existing is None else Outcome.UPDATED
    result.case_id = case.pk
    result.consent_basis = case.consent_basis
    return result


def _report_rejection(error: ValidationError, item: CaseItem, report: IngestReport) -> None:
    for field, messages in _messages(error).items():
        for message in messages:
            report.error(message, field=field, case=item.reference)
    report.error(_("The case's metadata is invalid: case not imported."), case=item.reference)


def _case_already_in_bank(in_bank: dict[str, int], item: CaseItem, report: IngestReport):
    """The case that holds this case's images already sent, when some are (a re-run, perhaps
    after the source gained images); see ingest.existing_case for what it is to this case."""
    if not in_bank:
        return None
    case_ids = sorted(set(in_bank.values()))
    if len(case_ids) > 1:
        report.warning(
            _("Images of this case are in several cases of the bank (%(cases)s): using %(case)s.")
            % {"cases": ", ".join(map(str, case_ids)), "case": case_ids[0]},
            case=item.reference,
        )
    return Case.objects.select_related("subject").get(pk=case_ids[0])


def _account_for_declared(
    declared: list[ImageItem], in_bank: dict[str, int], item: CaseItem, report, result
) -> None:
    """Files the client did not send because it says the bank holds them (known_files)."""
    for image in declared:
        where = {"file": image.filename, "row": image.row, "case": item.reference}
        if image.known_sha256 in in_bank:
            result.images_already_in_bank += 1
            report.info(
                _("Already in the bank (case %(case)s): not sent again.")
                % {"case": in_bank[image.known_sha256]},
                **where,
            )
        else:
            result.images_left_out += 1
            report.error(
                _(
                    "Not sent, as the client found it already in the bank, but the bank does not "
                    "hold it (any more): send this file again."
                ),
                **where,
            )


def _source_reference(item: CaseItem, report: IngestReport) -> str:
    """The case's own reference, unless it carries the patient's ID (then not kept)."""
    try:
        return case_services.clean_source_reference(item.source_reference, item.local_patient_id)
    except ValidationError as error:
        for message in _messages(error).get("source_reference", []):
            report.warning(
                message + " " + _("The case is imported without it."), case=item.reference
            )
        return ""


def _suggested_step(image: ImageItem, prepared: PreparedImage, item, report) -> str:
    """The step to store: the source's, or, where it gave none ("other", a guess), the one the
    image's pixels suggest, still a guess for the contributor to confirm."""
    if not (image.step_is_guess and image.step == "other"):
        return image.step
    suggested = hooks.suggest_step(prepared.data, image.step)
    if suggested is None:
        return image.step
    report.info(
        _(
            "No step was given: “%(step)s” is suggested from the image; confirm or change it "
            "on the case page."
        )
        % {"step": vocab.EXAMINATION_STEP.label(suggested)},
        file=image.filename,
        row=image.row,
        case=item.reference,
    )
    return suggested


def _store_images(case, actor, new, item: CaseItem, report: IngestReport, result) -> None:
    # All of the case's images at once: its lock, state and contents are read once, not per image.
    outcomes = image_services.store_prepared_images(
        case=case,
        actor=actor,
        images=[
            image_services.ImageToStore(
                prepared=prepared,
                filename=image.filename,
                step=_suggested_step(image, prepared, item, report),
                # Appended after what the case holds, in the source's order.
                display_order=None,
                step_original_wording=image.step_original_wording,
                capture_device=image.capture_device,
                step_is_guess=image.step_is_guess,
            )
            for image, prepared in new
        ],
    )
    for (image, _prepared), outcome in zip(new, outcomes, strict=True):
        if isinstance(outcome, ValidationError):
            result.images_left_out += 1
            for messages in _messages(outcome).values():
                for message in messages:
                    report.error(message, file=image.filename, row=image.row, case=item.reference)
            continue
        result.images_added += 1


def _forget_unreferenced(prepared_images) -> None:
    """After a rolled-back case, delete the files it stored that no image row refers to, so a
    failed import leaves storage as it was."""
    for prepared in prepared_images:
        keys = {"file": storage.content_key(_sha256(prepared.data), prepared.extension, "images")}
        if prepared.derivatives is not None:
            keys["preview"] = storage.content_key(
                _sha256(prepared.derivatives.preview_jpeg), "jpg", "previews"
            )
            keys["thumbnail"] = storage.content_key(
                _sha256(prepared.derivatives.thumbnail_jpeg), "jpg", "thumbnails"
            )
        for field, key in keys.items():
            if not Image.objects.filter(**{field: key}).exists():
                default_storage.delete(key)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
