import contextlib
import os
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imagebank import filenames, hooks, storage, timing
from imagebank import vocabularies as vocab
from imagebank.durable import send_task_on_commit
from imagebank.imaging import processing as image_processing
from imagebank.imaging.prepared import PreparedImage, prepare_upload
from imagebank.models import Case, CaseEvent, Image, ProcessingStatus
from imagebank.permissions import can_edit_case, require
from imagebank.services.cases import CLINICAL_FIELDS, record_image_event, update_case
from imagebank.tasks import process_image


def _size_of(fileobj: IO[bytes]) -> int:
    fileobj.seek(0, os.SEEK_END)
    size = fileobj.tell()
    fileobj.seek(0)
    return size


def _check_placement(step: str, display_order: int | None) -> None:
    if step not in vocab.EXAMINATION_STEP:
        raise ValidationError(
            {"step": _("“%(step)s” is not an examination step.") % {"step": step}}
        )
    if display_order is not None and display_order < 1:
        raise ValidationError({"display_order": _("The display order starts at 1.")})


def add_image(
    *,
    case: Case,
    actor,
    fileobj: IO[bytes],
    filename: str,
    step: str,
    display_order: int | None = None,
    step_original_wording: str = "",
    capture_device: str = "",
    step_is_guess: bool = False,
) -> Image:
    """Validate an upload, store it under its hash, and queue its previews.

    `step_is_guess`: the step was guessed (from the file order), not confirmed by the contributor.

    The file is checked completely before anything is written; the row is created in one
    transaction, and the processing task is queued only once that transaction has committed.
    """
    require(
        can_edit_case(actor, case),
        _("Images can be added only to your own draft or returned case."),
    )
    name = os.path.basename(filename or "upload")[:255]
    _check_placement(step, display_order)  # before the costly work on the file
    if _size_of(fileobj) > settings.MAX_UPLOAD_BYTES:
        raise ValidationError(
            {
                "file": _("%(file)s is larger than the %(limit)s MB the bank accepts.")
                % {"file": name, "limit": settings.MAX_UPLOAD_BYTES // (1024 * 1024)}
            }
        )
    try:
        prepared = prepare_upload(fileobj.read(), name)  # bounded by the size check above
    except image_processing.InvalidImage as error:
        raise ValidationError({"file": str(error)}) from error
    if step_is_guess and step == "other":
        # No step was given: the one the pixels suggest, still a guess for the contributor. A
        # step guessed from the file order, or one chosen for several files, is kept.
        step = hooks.suggest_step(prepared.data, step) or step
    image = store_prepared(
        case=case,
        actor=actor,
        prepared=prepared,
        filename=name,
        step=step,
        display_order=display_order,
        step_original_wording=step_original_wording,
        capture_device=capture_device,
        step_is_guess=step_is_guess,
    )
    _fill_case_from_file(case, actor, prepared, image)
    return image


def _fill_case_from_file(case: Case, actor, prepared: PreparedImage, image: Image) -> None:
    """A DICOM file carries the patient's age and the year of the study: fill in what the case
    leaves empty (never overwrite what the contributor wrote)."""
    case.refresh_from_db()
    values = {
        field: value
        for field, value in prepared.attributes.items()
        if field in CLINICAL_FIELDS and getattr(case, field) in (None, "")
    }
    if not values:
        return
    # A value the file carries that the case cannot take (an odd age) is simply left out.
    with contextlib.suppress(ValidationError):
        update_case(
            case=case,
            actor=actor,
            values=values,
            # The image by its position, not its file name, which reviewers must not see.
            reason=_("Read from the file of image %(order)s.") % {"order": image.display_order},
        )


@dataclass(frozen=True)
class ImageToStore:
    """One checked and de-identified image (see ingest.prepared) and its place in a case."""

    prepared: PreparedImage
    filename: str
    step: str
    display_order: int | None = None  # None: after the images the case holds
    step_original_wording: str = ""
    capture_device: str = ""
    step_is_guess: bool = False


def store_prepared(
    *,
    case: Case,
    actor,
    prepared: PreparedImage,
    filename: str,
    step: str,
    display_order: int | None = None,
    step_original_wording: str = "",
    capture_device: str = "",
    step_is_guess: bool = False,
) -> Image:
    """Store an already checked and de-identified image in a case (see ingest.prepared)."""
    _check_placement(step, display_order)  # before anything is stored
    [stored] = store_prepared_images(
        case=case,
        actor=actor,
        images=[
            ImageToStore(
                prepared=prepared,
                filename=filename,
                step=step,
                display_order=display_order,
                step_original_wording=step_original_wording,
                capture_device=capture_device,
                step_is_guess=step_is_guess,
            )
        ],
    )
    if isinstance(stored, ValidationError):
        raise stored
    return stored


def store_prepared_images(
    *, case: Case, actor, images: list[ImageToStore]
) -> list[Image | ValidationError]:
    """Store a case's checked images, in their order: what a bulk import does with each case.

    The actor's right and the case's state are checked, under the case's lock, and what the case
    holds is read, once for all of them. An image the case cannot take (a bad step or position,
    content or a position it already holds) comes back as its ValidationError, in its place, and
    no row is written for it; the others are stored.
    """
    require(
        can_edit_case(actor, case),
        _("Images can be added only to your own draft or returned case."),
    )
    staged = [_store_objects(item) for item in images]

    with transaction.atomic():
        # The lock, and the state as it is now; the case's ~60 other columns are not needed.
        locked = Case.objects.select_for_update().only("state", "site_id").get(pk=case.pk)
        require(can_edit_case(actor, locked))
        # The positions and contents the case holds: a few images, read once.
        held = dict(
            Image.objects.filter(case_id=case.pk).order_by().values_list("display_order", "sha256")
        )
        outcomes: list[Image | ValidationError] = []
        for item, (name, stored, derived) in zip(images, staged, strict=True):
            refusal = (
                stored if isinstance(stored, ValidationError) else _refusal(held, item, stored)
            )
            if refusal is not None:
                outcomes.append(refusal)
                continue
            # Without a position the image goes after the last one, a place free under the lock.
            order = item.display_order or max(held, default=0) + 1
            outcomes.append(_add_image_row(case, actor, item, name, stored, derived, order))
            held[order] = stored.sha256
    return outcomes


def _store_objects(item: ImageToStore) -> tuple[str, storage.StoredObject | ValidationError, dict]:
    """The image's base name, and its objects put in storage under their content hashes once
    its placement is valid."""
    name = os.path.basename(item.filename or "upload")[:255]
    try:
        _check_placement(item.step, item.display_order)
    except ValidationError as error:
        return name, error, {}
    with timing.phase("store objects"):
        stored = storage.store_bytes(item.prepared.data, item.prepared.extension, prefix="images")
        derived = _store_derivatives(item.prepared.derivatives)
    return name, stored, derived


def _refusal(
    held: dict[int, str], item: ImageToStore, stored: storage.StoredObject
) -> ValidationError | None:
    name = os.path.basename(item.filename or "upload")[:255]
    if stored.sha256 in held.values():
        return ValidationError({"file": _("%(file)s is already in this case.") % {"file": name}})
    if item.display_order in held:
        return ValidationError(
            {
                "display_order": _("Another image already has position %(order)s.")
                % {"order": item.display_order}
            }
        )
    return None


def _add_image_row(
    case: Case,
    actor,
    item: ImageToStore,
    name: str,
    stored: storage.StoredObject,
    derived: dict,
    order: int,
) -> Image:
    prepared = item.prepared
    image = Image.objects.create(
        case=case,
        step=item.step,
        step_is_guess=item.step_is_guess,
        step_original_wording=item.step_original_wording[:200],
        display_order=order,
        source_format=prepared.source_format,
        original_filename=filenames.stored_name(name, case=case),
        capture_device=(item.capture_device or prepared.attributes.get("capture_device", ""))[:200],
        file=stored.key,
        content_type=prepared.content_type,
        byte_size=stored.byte_size,
        sha256=stored.sha256,
        original_sha256=prepared.received_sha256,
        burned_in_annotation=prepared.burned_in_annotation,
        uploaded_by=actor,
        processing_queued_at=None if derived else timezone.now(),
        # Previews made with the check bring the dimensions as shown (EXIF orientation).
        **{"width": prepared.width, "height": prepared.height, **derived},
    )
    record_image_event(
        case,
        actor,
        CaseEvent.Kind.IMAGE_ADDED,
        {"image": image.pk, "step": item.step, "order": order, "sha256": stored.sha256},
    )
    if not derived:
        # The pending row is the intent; the message only hurries it (the reconciler sends it
        # when the broker was out, see imagebank.durable).
        send_task_on_commit(process_image, image.pk, on_unsent=lambda: mark_unsent(image.pk))
    else:
        # Processed already (an import made the previews): what the apps do on every processed
        # image runs once it is committed, as process_image runs it for an upload. Without the
        # bytes: an import's transaction may hold many images, and keeping each file in memory
        # until the commit would add them all up.
        transaction.on_commit(lambda: hooks.run_image_processors(image, None))
    return image


def mark_unsent(image_id: int) -> None:
    """The image's processing message could not be sent: the reconciler's next pass sends it."""
    Image.objects.filter(pk=image_id, processing_status=ProcessingStatus.PENDING).update(
        processing_queued_at=None
    )


def _store_derivatives(derivatives: image_processing.Derivatives | None) -> dict:
    """The Image fields for previews made along with the check; none to leave them to the task."""
    if derivatives is None:
        return {}
    preview = storage.store_bytes(derivatives.preview_jpeg, "jpg", prefix="previews")
    thumbnail = storage.store_bytes(derivatives.thumbnail_jpeg, "jpg", prefix="thumbnails")
    return {
        "width": derivatives.width,
        "height": derivatives.height,
        "preview": preview.key,
        "thumbnail": thumbnail.key,
        "processing_status": ProcessingStatus.DONE,
    }


@transaction.atomic
def remove_image(*, image: Image, actor) -> None:
    """Remove an image from a case still in the contributor's hands.

    The stored object stays: keys are content hashes another case may share, and a release may
    already reference it. Orphans are collected separately.
    """
    case = Case.objects.select_for_update().get(pk=image.case_id)
    require(can_edit_case(actor, case))
    record_image_event(
        case,
        actor,
        CaseEvent.Kind.IMAGE_REMOVED,
        {
            "image": image.pk,
            "step": image.step,
            "order": image.display_order,
            "sha256": image.sha256,
        },
    )
    image.delete()


# --- steps and order ----------------------------------------------------------------------------

# The largest value Image.display_order holds (a PositiveSmallIntegerField).
_MAX_ORDER = 32767


@dataclass(frozen=True)
class Placement:
    """What a contributor sets for one image: its step (None: left as it is) and its position in
    the case, from 1 (None: it keeps its place among the images not given a position)."""

    step: str | None = None
    order: int | None = None


def _final_orders(images: list[Image], placements: dict[int, Placement]) -> dict[int, int]:
    """Image pk → display order, 1..n: the placed images at their positions, the others filling
    the free positions in the order they had."""
    count = len(images)
    wanted = {pk: p.order for pk, p in placements.items() if p.order is not None}
    errors = [
        _("Image %(image)s: give a position from 1 to %(count)s.")
        % {"image": _shown_number(images, pk), "count": count}
        for pk, order in wanted.items()
        if not 1 <= order <= count
    ]
    taken = sorted(wanted.values())
    repeated = sorted({order for order in taken if taken.count(order) > 1})
    if repeated:
        errors.append(
            _("Two images cannot share a position: %(orders)s.")
            % {"orders": ", ".join(map(str, repeated))}
        )
    if errors:
        raise ValidationError({"display_order": errors})
    free = iter(order for order in range(1, count + 1) if order not in set(taken))
    return {image.pk: wanted.get(image.pk) or next(free) for image in images}


def _shown_number(images: list[Image], pk: int) -> int:
    """The number the case page shows an image under (its position now), for messages."""
    return next((position for position, image in enumerate(images, start=1) if image.pk == pk), pk)


def _move(images: list[Image], orders: dict[int, int]) -> None:
    """Write the new orders in two steps, so that no two images ever hold one position: each
    moved image first goes to a position nobody holds or will hold, then to its own (a swap
    passes on PostgreSQL, which checks the unique constraint row by row)."""
    moved = [image for image in images if image.display_order != orders[image.pk]]
    used = {image.display_order for image in images} | set(orders.values())
    spare = (order for order in range(1, _MAX_ORDER + 1) if order not in used)
    for image, parked in zip(moved, spare, strict=False):
        Image.objects.filter(pk=image.pk).update(display_order=parked)
    for image in moved:
        Image.objects.filter(pk=image.pk).update(display_order=orders[image.pk])


@transaction.atomic
def arrange_images(*, case: Case, actor, placements: dict[int, Placement]) -> list[Image]:
    """Set the steps and the order of a case's images, while the case is the contributor's.

    A step given is a step confirmed: it clears the image's "guessed" flag even when it is the
    step already there. All or nothing, audited as one event naming each image's changes.
    Returns the case's images in their new order.
    """
    case = Case.objects.select_for_update().get(pk=case.pk)
    require(
        can_edit_case(actor, case),
        _("The images can be changed only while the case is a draft or returned."),
    )
    images = list(case.images.order_by("display_order", "pk"))
    by_pk = {image.pk: image for image in images}
    strangers = sorted(set(placements) - set(by_pk))
    if strangers:
        raise ValidationError(
            {
                "images": _(
                    "Not images of this case (removed meanwhile?): %(images)s. Reload the page."
                )
                % {"images": ", ".join(map(str, strangers))}
            }
        )
    bad_steps = [
        _("Image %(image)s: “%(step)s” is not an examination step.")
        % {"image": _shown_number(images, pk), "step": placement.step}
        for pk, placement in placements.items()
        if placement.step is not None and placement.step not in vocab.EXAMINATION_STEP
    ]
    if bad_steps:
        raise ValidationError({"step": bad_steps})
    orders = _final_orders(images, placements)

    changes: dict[str, dict] = {}
    for image in images:
        placement = placements.get(image.pk, Placement())
        change: dict[str, dict] = {}
        if placement.step is not None and placement.step != image.step:
            change["step"] = {"from": image.step, "to": placement.step}
        if placement.step is not None and image.step_is_guess:
            change["step_is_guess"] = {"from": True, "to": False}
        if orders[image.pk] != image.display_order:
            change["order"] = {"from": image.display_order, "to": orders[image.pk]}
        if change:
            changes[str(image.pk)] = change
    if not changes:
        return images

    _move(images, orders)
    for image in images:
        change = changes.get(str(image.pk), {})
        fields = {}
        if "step" in change:
            fields["step"] = change["step"]["to"]
        if "step_is_guess" in change:
            fields["step_is_guess"] = False
        if fields:
            Image.objects.filter(pk=image.pk).update(**fields)
    record_image_event(case, actor, CaseEvent.Kind.IMAGES_ARRANGED, {"images": changes})
    return list(case.images.order_by("display_order"))
