"""The reviewers' outlines on the case page, and an outline's mask.

- `review_outlines_panel`: a section of the case page (imagebank.hooks.register_case_panel) with
  each outlined image's preview and the outlines drawn over it (SVG, in the image's coordinates),
  and a link to each outline's mask. It shows what curation.outlines.visible_outlines lets the
  user see: to curators the outlines of every submitted review, to the case's contributors those
  of a decided round once the case has left review, to a reviewer their own; nothing while
  another reviewer's review is still blind. Contributors see reviewers by number, not by name.
- `outline_mask`: the outline rasterised at the image's full resolution, a one-channel PNG made
  on demand (curation.outlines.outline_mask_png); 404 for anyone who may not see the outline.
  A mask is drawn from the patient's image, so its reads are audited as the image files' are:
  kind `outline_mask`, the outline's id, its case.

`register()` (called once from CurationConfig.ready) registers the panel and the audited reads of
the review pages: the mask, and the review screen (kind `review`, the review's id, its case: the
screen shows the case's images and clinical details as the case page does).
"""

import logging
from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString
from django.views.decorators.http import require_safe

from curation.models import Outline, Review
from curation.outlines import case_outlines, outline_for_mask, outline_mask_png
from imagebank import vocabularies as vocab
from imagebank.models import Case, ProcessingStatus
from imagebank.read_audit import AuditedRead, Channel
from imagebank.roles import CURATOR, has_role

access_log = logging.getLogger("imagebank.file_access")


def _case_of_outline(pk: int) -> int | None:
    return Outline.objects.filter(pk=pk).values_list("review__case_id", flat=True).first()


def _case_of_review(pk: int) -> int | None:
    return Review.objects.filter(pk=pk).values_list("case_id", flat=True).first()


# The audit's records (imagebank.read_audit.register_audited_read).
OUTLINE_MASK_READ = AuditedRead("outline_mask", Channel.FILE, case_of=_case_of_outline)
REVIEW_SCREEN_READ = AuditedRead("review", Channel.PAGE, case_of=_case_of_review)
# GET /api/reviews/{id}/ gives the same case to a script: its images, checks and clinical labels.
REVIEW_API_READ = AuditedRead("review", Channel.API, object_kwarg="id", case_of=_case_of_review)


def svg_points(points) -> str:
    """[[x, y], …] as an SVG `points` attribute."""
    return " ".join(f"{float(x):g},{float(y):g}" for x, y in points)


@dataclass
class OutlinedImage:
    image: object
    step_label: str
    preview_url: str
    outlines: list[dict] = field(default_factory=list)


def review_outlines_panel(request: HttpRequest, case: Case) -> SafeString | str:
    """The section's HTML, or nothing when the user may see no outline of the case."""
    outlines = case_outlines(request.user, case)
    if not outlines:
        return ""
    names_shown = request.user.is_superuser or has_role(request.user, CURATOR)
    # Reviewers by number, in the order they claimed the case (the same number on every image).
    numbers: dict[int, int] = {}
    for outline in sorted(outlines, key=lambda o: (o.review.claimed_at, o.review_id)):
        numbers.setdefault(outline.review_id, len(numbers) + 1)
    images: dict[int, OutlinedImage] = {}
    for outline in outlines:
        image = outline.image
        if image.pk not in images:
            images[image.pk] = OutlinedImage(
                image=image,
                step_label=vocab.EXAMINATION_STEP.label(image.step),
                preview_url=reverse(
                    "imagebank:image-file", kwargs={"pk": image.pk, "variant": "preview"}
                )
                if image.processing_status == ProcessingStatus.DONE and image.preview
                else "",
            )
        images[image.pk].outlines.append(
            {
                "outline": outline,
                "kind_label": outline.get_kind_display(),
                "points": svg_points(outline.points),
                "reviewer_number": numbers[outline.review_id],
                "reviewer_name": (
                    outline.review.reviewer.full_name or outline.review.reviewer.email
                )
                if names_shown
                else "",
                "mask_url": reverse("curation:outline-mask", args=[outline.pk]),
            }
        )
    return render_to_string(
        "curation/_review_outlines_panel.html",
        {"case": case, "images": list(images.values())},
        request=request,
    )


@login_required
@require_safe
def outline_mask(request: HttpRequest, pk: int) -> HttpResponse:
    """Permission: curation.outlines.outline_for_mask (404 for an outline the user may not
    see, or one whose image has no size yet)."""
    outline = outline_for_mask(request.user, pk)
    if outline is None or not outline.image.width or not outline.image.height:
        raise Http404("No such outline.")
    access_log.info(
        "file access user=%s outline=%s variant=mask",
        request.user.pk,
        outline.pk,
        extra={"user_id": request.user.pk, "outline_id": outline.pk, "variant": "mask"},
    )
    response = HttpResponse(outline_mask_png(outline), content_type="image/png")
    response["Content-Disposition"] = f'inline; filename="outline-{outline.pk}-mask.png"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Vary"] = "Cookie"
    return response


def register() -> None:
    """The case-page panel and the audited reads of the review pages (CurationConfig.ready)."""
    from imagebank import hooks
    from imagebank.read_audit import register_audited_read

    hooks.register_case_panel(review_outlines_panel)
    register_audited_read("curation:outline-mask", OUTLINE_MASK_READ)
    register_audited_read("curation:review-screen", REVIEW_SCREEN_READ)
    register_audited_read("curation_api:review-detail", REVIEW_API_READ)
