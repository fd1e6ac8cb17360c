"""The access committee's pages: the queue of submitted requests, and a request's decision page
(the request in full, every review with its scores, votes, reasons and internal notes, the
member's own review form, a message to the requester, and revoking the grant).

Permission: the committee (its role asks for two-factor) and curators, who read the same pages
without voting or writing (page_selectors.oversight_queue, request_selectors.
request_for_committee: a committee member of the requesting group gets a 404, and no vote);
403 for anyone else, the sign-in page for anonymous visitors. Every POST answers with a redirect
and a message.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from access_requests import page_selectors, request_selectors
from access_requests.forms import CRITERION_TEXTS, MessageForm, ReviewForm, RevokeForm
from access_requests.lifecycle import GrantState
from access_requests.models import CRITERIA, AccessRequest
from access_requests.services import requests as services
from imagebank.permissions import require


def _require_committee_pages(request: HttpRequest) -> None:
    require(
        page_selectors.sees_committee_pages(request.user),
        _("These pages are for the access committee and curators."),
    )


def _require_committee(request: HttpRequest) -> None:
    require(
        request_selectors.is_committee_member(request.user),
        _("Only members of the access committee do this."),
    )


def _view_or_404(request: HttpRequest, pk: int) -> request_selectors.RequestForCommittee:
    try:
        return request_selectors.request_for_committee(request.user, pk)
    except AccessRequest.DoesNotExist:
        raise Http404(_("No request you may review has this number.")) from None


def _page(request: HttpRequest, pk: int) -> HttpResponse:
    return redirect("access_requests:committee-request", pk)


@login_required
@require_safe
def committee_queue(request: HttpRequest) -> HttpResponse:
    _require_committee_pages(request)
    return render(
        request,
        "access_requests/committee_queue.html",
        {
            "queue": page_selectors.oversight_queue(request.user),
            "is_committee": request_selectors.is_committee_member(request.user),
        },
    )


def _review_rows(view: request_selectors.RequestForCommittee) -> list[dict]:
    return [
        {
            "review": review,
            "scores": [
                (CRITERION_TEXTS[criterion][0], review.scores.get(criterion))
                for criterion in CRITERIA
            ],
        }
        for review in view.reviews
    ]


@login_required
@require_safe
def committee_request(request: HttpRequest, pk: int) -> HttpResponse:
    _require_committee_pages(request)
    view = _view_or_404(request, pk)
    access_request = view.request
    is_committee = request_selectors.is_committee_member(request.user)
    review_form = None
    if view.may_vote:
        own = next(
            (
                review
                for review in view.reviews
                if review.round == view.round and review.member_id == request.user.pk
            ),
            None,
        )
        initial = {}
        if own is not None:
            initial = {
                "vote": own.vote,
                "reason": own.reason,
                "internal_note": own.internal_note,
                **{f"score_{name}": str(value) for name, value in own.scores.items()},
            }
        review_form = ReviewForm(initial=initial)
    grant = page_selectors.grant_of_request(access_request)
    return render(
        request,
        "access_requests/committee_request.html",
        {
            "access_request": access_request,
            "round": view.round,
            "reviews": _review_rows(view),
            "history": view.history,
            "messages_list": view.messages,
            "releases": access_request.releases.select_related("release"),
            "accessors": access_request.accessors.all(),
            "review_form": review_form,
            "criteria": [CRITERION_TEXTS[criterion] for criterion in CRITERIA],
            "message_form": MessageForm() if is_committee else None,
            "grant": grant,
            "revoke_form": RevokeForm() if grant and grant.state == GrantState.ACTIVE else None,
        },
    )


@login_required
@require_POST
def committee_review(request: HttpRequest, pk: int) -> HttpResponse:
    """The member's review of the round in progress (review_request), which may decide."""
    _require_committee(request)
    view = _view_or_404(request, pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Score every criterion from 1 to 5 and choose a vote."))
        return _page(request, pk)
    try:
        services.review_request(
            view.request,
            member=request.user,
            scores=form.scores(),
            vote=form.cleaned_data["vote"],
            reason=form.cleaned_data["reason"],
            internal_note=form.cleaned_data["internal_note"],
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return _page(request, pk)
    view.request.refresh_from_db()
    messages.success(
        request,
        _("Your review is recorded. The request is now: %(state)s.")
        % {"state": view.request.get_state_display()},
    )
    return _page(request, pk)


@login_required
@require_POST
def committee_message(request: HttpRequest, pk: int) -> HttpResponse:
    """A committee member writes to the requesting group (unlike an internal note, it reads)."""
    _require_committee(request)
    view = _view_or_404(request, pk)
    form = MessageForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write a message."))
        return _page(request, pk)
    try:
        services.message_requester(
            view.request, author=request.user, text=form.cleaned_data["text"]
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Message sent to the requester."))
    return _page(request, pk)
