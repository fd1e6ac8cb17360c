"""Outlines drawn by reviewers (curation.models.Outline), as masks and as what a user may see.

An outline is a polygon in the image's own pixel coordinates: the full-resolution image the right
way up, `Image.width` × `Image.height`, x to the right and y down, the image spanning 0…width
and 0…height (as in the browser's SVG over the image: pixel i covers [i, i + 1]). `rasterize`
turns one into a boolean mask of the image's size (PIL's ImageDraw.polygon: the pixels whose
centre is inside, give or take the edge); `outline_mask_png` is that
mask as a one-channel PNG (0 outside, 255 inside), made on demand and never stored.

Who sees an outline (`visible_outlines`): the reviewer who drew it (their own review, at any
time); curators, those of every submitted review; anyone else who may see the case (its
contributors), those of the submitted reviews of a round that is decided, once the case is no
longer in review. While a case is being reviewed, no reviewer sees another's (blinded).
"""

import io
import math

import numpy as np
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from PIL import Image as PILImage
from PIL import ImageDraw

from curation.models import EntryStatus, Outline, ReviewStatus
from imagebank.lifecycle import CaseState
from imagebank.roles import CURATOR, has_role
from imagebank.selectors import cases_for_user

# More points than any hand draws; a polygon with more is refused, not rasterised.
MAX_POINTS = 2000


def clean_points(points, width: int, height: int) -> list[list[float]]:
    """The points as [[x, y], …] floats, checked: a list of at least three pairs of finite
    numbers inside the image (0 ≤ x ≤ width, 0 ≤ y ≤ height). ValidationError naming `points`
    otherwise."""
    if not isinstance(points, list | tuple):
        raise ValidationError({"points": _("Give the outline's points as a list of [x, y].")})
    if len(points) < 3:
        raise ValidationError({"points": _("An outline needs at least three points.")})
    if len(points) > MAX_POINTS:
        raise ValidationError(
            {"points": _("An outline may have at most %(n)s points.") % {"n": MAX_POINTS}}
        )
    cleaned = []
    for point in points:
        if (
            not isinstance(point, list | tuple)
            or len(point) != 2
            or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in point
            )
        ):
            raise ValidationError({"points": _("Each point must be a pair of numbers [x, y].")})
        x, y = float(point[0]), float(point[1])
        if not (0 <= x <= width and 0 <= y <= height):
            raise ValidationError(
                {
                    "points": _("Each point must lie inside the image (%(w)s × %(h)s pixels).")
                    % {"w": width, "h": height}
                }
            )
        cleaned.append([x, y])
    return cleaned


def rasterize(points, width: int, height: int) -> np.ndarray:
    """The polygon's mask: a boolean array of shape (height, width), True for the pixels whose
    centre lies inside the polygon."""
    if not (isinstance(width, int) and isinstance(height, int)) or width < 1 or height < 1:
        raise ValueError("width and height must be positive integers")
    cleaned = clean_points(points, width, height)
    canvas = PILImage.new("L", (width, height), 0)
    # The image spans 0…width in outline coordinates (pixel i covers [i, i + 1]); PIL puts pixel
    # i's centre at i: half a pixel back, so a pixel is filled where its centre is inside.
    ImageDraw.Draw(canvas).polygon([(x - 0.5, y - 0.5) for x, y in cleaned], fill=255)
    return np.asarray(canvas) > 0


def mask_png(mask: np.ndarray) -> bytes:
    """A boolean mask as a one-channel PNG: 0 outside, 255 inside."""
    buffer = io.BytesIO()
    PILImage.fromarray(np.where(mask, 255, 0).astype(np.uint8), mode="L").save(
        buffer, format="PNG", optimize=True
    )
    return buffer.getvalue()


def outline_mask_png(outline: Outline) -> bytes:
    """The outline's mask at the image's full resolution, as a PNG."""
    image = outline.image
    return mask_png(rasterize(outline.points, image.width, image.height))


def visible_outlines(user) -> QuerySet[Outline]:
    """The outlines `user` may see (see the module's docstring)."""
    if not user.is_authenticated or not user.is_active:
        return Outline.objects.none()
    own = Q(review__reviewer=user)
    submitted = Q(review__status=ReviewStatus.SUBMITTED)
    if user.is_superuser or has_role(user, CURATOR):
        visible = own | submitted
    else:
        decided = (
            submitted
            & Q(review__entry__status=EntryStatus.DECIDED)
            & ~Q(review__case__state=CaseState.IN_REVIEW)
        )
        visible = own | decided
    return Outline.objects.filter(visible, review__case__in=cases_for_user(user).values("pk"))


def case_outlines(user, case) -> list[Outline]:
    """The outlines of `case` that `user` may see, by image, kind and id."""
    return list(
        visible_outlines(user)
        .filter(review__case=case.pk)
        .select_related("image", "review")
        .order_by("image__display_order", "kind", "pk")
    )


def outline_for_mask(user, pk: int) -> Outline | None:
    """An outline `user` may see, with its image (None: the view answers 404)."""
    return visible_outlines(user).select_related("image").filter(pk=pk).first()
