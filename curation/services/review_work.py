"""The reviewer's work on a live claim: flags with their reason codes, and outlines drawn on
the images (curation.services.reviews re-exports these)."""

import math
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from curation.models import (
    FlagReason,
    ImageFlag,
    Outline,
    OutlineKind,
    Review,
)
from curation.services.review_common import (
    MAX_OUTLINE_POINTS,
    NOTE_MAX_LENGTH,
    _clean_text,
    _event,
    _image_of_case,
    _live_claim,
    _object_id,
)
from imagebank import vocabularies as vocab
from imagebank.models import Image

# --- the reviewer's work on a claim -------------------------------------------------------------


def add_flag(
    review: Review,
    *,
    image,
    reason: str,
    correct_step: str = "",
    note: str = "",
    actor=None,
) -> ImageFlag:
    """Flag an image of the claimed case with a reason code (a wrong step label with the right
    step). Flagging the same image for the same reason again updates the flag."""
    errors: dict[str, str] = {}
    if reason not in FlagReason.values:
        errors["reason"] = _("Not a flag reason: %(value)s.") % {"value": reason}
    correct_step = correct_step or ""
    if not isinstance(correct_step, str):
        errors["correct_step"] = _("Give a step code.")
        correct_step = ""
    with transaction.atomic():
        review = _live_claim(review, actor)
        image = _image_of_case(review.case_id, image)
        note = _clean_text(note, "note", NOTE_MAX_LENGTH)
        if reason == FlagReason.WRONG_STEP and "correct_step" not in errors:
            if not correct_step:
                errors["correct_step"] = _("Give the right step of the image.")
            elif correct_step not in vocab.EXAMINATION_STEP:
                errors["correct_step"] = _("Not a step code: %(value)s.") % {"value": correct_step}
            elif correct_step == image.step:
                errors["correct_step"] = _("That is the step the image already has.")
        elif correct_step and "correct_step" not in errors:
            errors["correct_step"] = _("A right step is given only for a wrong step label.")
        if errors:
            raise ValidationError(errors)
        flag, created = ImageFlag.objects.update_or_create(
            review=review,
            image=image,
            reason=reason,
            defaults={"correct_step": correct_step, "note": note},
        )
        _event(
            review.case,
            review.reviewer,
            "flag_added" if created else "flag_changed",
            review=review.pk,
            image=image.pk,
            reason=reason,
            **({"correct_step": correct_step} if correct_step else {}),
        )
    return flag


def remove_flag(review: Review, *, flag_id: int, actor=None) -> None:
    with transaction.atomic():
        review = _live_claim(review, actor)
        flag = ImageFlag.objects.filter(review=review, pk=_object_id(flag_id, "flag")).first()
        if flag is None:
            raise ValidationError({"flag": _("No such flag on your review.")})
        flag.delete()
        _event(
            review.case,
            review.reviewer,
            "flag_removed",
            review=review.pk,
            image=flag.image_id,
            reason=flag.reason,
        )


def clean_points(points: Any, image: Image) -> list[list[float]]:
    """A polygon in the image's own pixel coordinates: at least three [x, y] points, each inside
    the image (0 <= x <= width, 0 <= y <= height where the size is known)."""
    if not isinstance(points, list | tuple) or not 3 <= len(points) <= MAX_OUTLINE_POINTS:
        raise ValidationError(
            {
                "points": _("Give between 3 and %(limit)s points [x, y].")
                % {"limit": MAX_OUTLINE_POINTS}
            }
        )
    cleaned = []
    for point in points:
        if (
            not isinstance(point, list | tuple)
            or len(point) != 2
            or any(
                isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)
                for v in point
            )
        ):
            raise ValidationError({"points": _("Each point is [x, y], two numbers.")})
        x, y = float(point[0]), float(point[1])
        if (
            x < 0
            or y < 0
            or (image.width and x > image.width)
            or (image.height and y > image.height)
        ):
            raise ValidationError(
                {
                    "points": _("Every point must lie inside the image (%(width)s × %(height)s).")
                    % {"width": image.width, "height": image.height}
                }
            )
        cleaned.append([round(x, 2), round(y, 2)])
    if len({tuple(point) for point in cleaned}) < 3:
        raise ValidationError({"points": _("An outline needs at least three distinct points.")})
    return cleaned


def add_outline(review: Review, *, image, kind: str, points, actor=None) -> Outline:
    """A polygon drawn on an image of the claimed case (a lesion, the cervix or the SCJ)."""
    if kind not in OutlineKind.values:
        raise ValidationError({"kind": _("Not an outline kind: %(value)s.") % {"value": kind}})
    with transaction.atomic():
        review = _live_claim(review, actor)
        image = _image_of_case(review.case_id, image)
        cleaned = clean_points(points, image)
        outline = Outline.objects.create(review=review, image=image, kind=kind, points=cleaned)
        _event(
            review.case,
            review.reviewer,
            "outline_added",
            review=review.pk,
            image=image.pk,
            kind=kind,
            outline=outline.pk,
            points=len(cleaned),
        )
    return outline


def remove_outline(review: Review, *, outline_id: int, actor=None) -> None:
    with transaction.atomic():
        review = _live_claim(review, actor)
        outline = Outline.objects.filter(
            review=review, pk=_object_id(outline_id, "outline")
        ).first()
        if outline is None:
            raise ValidationError({"outline": _("No such outline on your review.")})
        outline.delete()
        _event(
            review.case,
            review.reviewer,
            "outline_removed",
            review=review.pk,
            image=outline.image_id,
            kind=outline.kind,
            outline=outline_id,
        )
