"""The reviewer's pages: the queue page (GET /review/: the reviewer's current claim, how many
cases wait for them, "Next case") and the review screen (GET /review/<review>/), with the form
posts that act on the review: flags, outlines, release and the decision.

Every action is a plain form post with its CSRF token, answered by a redirect back to the screen
(the image's anchor) with a message; review_screen.js only adds zoom, pan, drawing and
shortcuts on top, and keeps the decision's unsent answers across those reloads. The writes go
through curation.services.reviews, the reads through curation.review_selectors: a reviewer reads
only their own review (own_review: 404 for anyone else's), never another reviewer's flags,
outlines or verdict (blinded), and only the holder of a live claim may act (an expired or
released claim, or a submitted review, is shown with what happened, without its forms).

Permission: the queue page and "Next case" are for reviewers (review_selectors.can_review, 403
otherwise); the screen and its posts for the review's own reviewer.
"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from curation import review_selectors
from curation.models import Decision, FlagReason, Review, ReviewStatus
from curation.services import reviews as review_services
from curation.views.review_screen import DecisionForm, claim_state, decision_form, screen_context
from imagebank.models import Image

# Longest outline a form may carry (the points are checked again by the service).
MAX_POINTS_JSON = 100_000


def _require_reviewer(user) -> None:
    if not review_selectors.can_review(user):
        raise PermissionDenied(_("The review queue is for reviewers."))


def screen_url(review: Review, anchor: str = "") -> str:
    url = reverse("curation:review-screen", args=[review.pk])
    return f"{url}#{anchor}" if anchor else url


# --- the queue page ----------------------------------------------------------------------------

RECENT_REVIEWS = 10


@login_required
@require_safe
def review_queue(request: HttpRequest) -> HttpResponse:
    _require_reviewer(request.user)
    recent = list(
        review_selectors.own_reviews(request.user).filter(status=ReviewStatus.SUBMITTED)[
            :RECENT_REVIEWS
        ]
    )
    return render(
        request,
        "curation/review_queue.html",
        {
            "claim": review_selectors.current_claim(request.user),
            "available": review_selectors.available_count(request.user),
            "available_cap": review_selectors.AVAILABLE_COUNT_CAP,
            "recent": recent,
        },
    )


def _next_case(request: HttpRequest) -> HttpResponseRedirect:
    """The reviewer's current claim, else a newly claimed case, else the queue with a message."""
    claim = review_selectors.current_claim(request.user)
    if claim is not None:
        return redirect(screen_url(claim))
    review = review_services.claim_next(request.user)
    if review is None:
        messages.info(request, _("No case is waiting for you now. Come back later."))
        return redirect("curation:review-queue")
    return redirect(screen_url(review))


@login_required
@require_POST
def review_next(request: HttpRequest) -> HttpResponse:
    _require_reviewer(request.user)
    return _next_case(request)


# --- the review screen -------------------------------------------------------------------------


def _screen(
    request: HttpRequest, review: Review, form: DecisionForm | None = None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "curation/review_screen.html",
        screen_context(request, review, form),
        status=status,
    )


def _own_review(request: HttpRequest, pk: int) -> Review:
    review = review_selectors.own_review(request.user, pk)
    if review is None:
        raise Http404("No such review.")
    return review


@login_required
@require_safe
def review_screen(request: HttpRequest, pk: int) -> HttpResponse:
    return _screen(request, _own_review(request, pk))


# --- the actions ------------------------------------------------------------------------------


STATE_MESSAGES = {
    "submitted": gettext_lazy("You have already submitted this review."),
    "released": gettext_lazy("You gave this case back: it is no longer yours to review."),
    "expired": gettext_lazy(
        "Your claim on this case expired and it went back to the queue. Ask for the next case."
    ),
    "closed": gettext_lazy("This case has left the review queue."),
}


def _held_review(request: HttpRequest, pk: int) -> tuple[Review, HttpResponse | None]:
    """The user's review and None when they hold its live claim; else the review and the
    redirect that says why they may not act."""
    review = _own_review(request, pk)
    state = claim_state(review)
    if state != "held":
        messages.error(request, STATE_MESSAGES[state])
        return review, redirect(screen_url(review))
    return review, None


def _error_text(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(
            f"{name}: {' '.join(str(m) for m in messages_)}"
            if name not in ("__all__", "")
            else " ".join(str(m) for m in messages_)
            for name, messages_ in error.message_dict.items()
        )
    return " ".join(str(m) for m in error.messages)


def _case_image(review: Review, value) -> Image | None:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        return None
    return Image.objects.filter(case=review.case_id, pk=pk).first()


def _act(request: HttpRequest, review: Review, anchor: str, action, done: str) -> HttpResponse:
    """Run a service call; a message either way, and back to the screen."""
    try:
        action()
    except ValidationError as error:
        messages.error(request, _error_text(error))
    except PermissionDenied as error:
        messages.error(request, str(error) or _("You may not do that on this review."))
    else:
        messages.success(request, done)
    return redirect(screen_url(review, anchor))


@login_required
@require_POST
def review_flag(request: HttpRequest, pk: int) -> HttpResponse:
    review, refused = _held_review(request, pk)
    if refused:
        return refused
    image = _case_image(review, request.POST.get("image"))
    if image is None:
        messages.error(request, _("image: choose an image of this case."))
        return redirect(screen_url(review))
    reason = request.POST.get("reason", "")
    correct_step = request.POST.get("correct_step", "") if reason == FlagReason.WRONG_STEP else ""
    return _act(
        request,
        review,
        f"image-{image.pk}",
        lambda: review_services.add_flag(
            review,
            image=image,
            reason=reason,
            correct_step=correct_step,
            note=request.POST.get("note", "")[:500],
            actor=request.user,
        ),
        _("Flag added to image %(n)s.") % {"n": image.display_order},
    )


@login_required
@require_POST
def review_flag_remove(request: HttpRequest, pk: int, flag: int) -> HttpResponse:
    review, refused = _held_review(request, pk)
    if refused:
        return refused
    image_id = review_selectors.own_flags(review).filter(pk=flag).values_list("image", flat=True)
    anchor = f"image-{image_id[0]}" if image_id else ""
    return _act(
        request,
        review,
        anchor,
        lambda: review_services.remove_flag(review, flag_id=flag, actor=request.user),
        _("Flag removed."),
    )


def _points(value: str):
    if not value or len(value) > MAX_POINTS_JSON:
        raise ValidationError({"points": _("Draw the outline on the image first.")})
    try:
        return json.loads(value)
    except ValueError as error:
        raise ValidationError(
            {"points": _("The outline's points are not a list of [x, y].")}
        ) from error


@login_required
@require_POST
def review_outline(request: HttpRequest, pk: int) -> HttpResponse:
    review, refused = _held_review(request, pk)
    if refused:
        return refused
    image = _case_image(review, request.POST.get("image"))
    if image is None:
        messages.error(request, _("image: choose an image of this case."))
        return redirect(screen_url(review))

    def add() -> None:
        review_services.add_outline(
            review,
            image=image,
            kind=request.POST.get("kind", ""),
            points=_points(request.POST.get("points", "")),
            actor=request.user,
        )

    return _act(
        request,
        review,
        f"image-{image.pk}",
        add,
        _("Outline saved on image %(n)s.") % {"n": image.display_order},
    )


@login_required
@require_POST
def review_outline_remove(request: HttpRequest, pk: int, outline: int) -> HttpResponse:
    review, refused = _held_review(request, pk)
    if refused:
        return refused
    image_id = (
        review_selectors.own_outlines(review).filter(pk=outline).values_list("image", flat=True)
    )
    anchor = f"image-{image_id[0]}" if image_id else ""
    return _act(
        request,
        review,
        anchor,
        lambda: review_services.remove_outline(review, outline_id=outline, actor=request.user),
        _("Outline removed."),
    )


@login_required
@require_POST
def review_release(request: HttpRequest, pk: int) -> HttpResponse:
    review, refused = _held_review(request, pk)
    if refused:
        return refused
    try:
        review_services.release(review, actor=request.user)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, str(error))
        return redirect(screen_url(review))
    messages.success(
        request, _("You gave case %(case)s back to the queue.") % {"case": review.case_id}
    )
    return redirect("curation:review-queue")


@login_required
@require_POST
def review_decide(request: HttpRequest, pk: int) -> HttpResponse:
    review, refused = _held_review(request, pk)
    if refused:
        return refused
    form = decision_form(review, list(review.case.images.all()), request.POST)
    if not form.is_valid():
        return _screen(request, review, form, status=400)
    data = form.cleaned_data
    try:
        review_services.decide(
            review,
            decision=data["decision"],
            reasons=data["reasons"] if data["decision"] != Decision.ACCEPT else (),
            message=data["message"].strip(),
            eligibility=form.answers(),
            label_opinions=form.label_opinions(),
            excluded_images=data["excluded_images"],
            actor=request.user,
        )
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            for name, errors in error.message_dict.items():
                target = name if name in form.fields else None
                for message in errors:
                    form.add_error(target, message if target else f"{name}: {message}")
        else:
            form.add_error(None, error)
        return _screen(request, review, form, status=400)
    except PermissionDenied as error:
        messages.error(request, str(error) or _("You may not decide this review."))
        return redirect(screen_url(review))
    messages.success(
        request,
        _("Your review of case %(case)s is submitted: %(decision)s.")
        % {"case": review.case_id, "decision": Decision(data["decision"]).label},
    )
    if data["then_next"]:
        return _next_case(request)
    return redirect("curation:review-queue")
